#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "ulus/core/result.hpp"

namespace ulus::app {

// `ulus login`: the command line signs in through Dan like any native app (RFC 8252): the
// authorization code flow with PKCE, the browser returning to a one-shot listener on a loopback
// port, as the public client "ulus-cli".
struct LoginCommandOptions {
  std::string issuer = "http://127.0.0.1:8080";
  std::string client_id = "ulus-cli";
  std::string scope = "openid profile national_id offline_access";
  std::string acr;  // a level to ask for ("substantial", "high"); empty: the provider's default
  std::chrono::seconds wait{300};  // how long to wait for the browser to come back
  // Where the tokens are kept (mode 0600): default $XDG_CONFIG_HOME/ulus/credentials.json.
  std::filesystem::path credentials;
};

std::filesystem::path DefaultCredentialsPath();

// Prints the URL to open, waits for the browser's return, exchanges the code, verifies the ID
// token (signature against the issuer's JWKS, iss, aud, nonce) and saves the tokens.
Status RunLogin(const LoginCommandOptions& options);
// Revokes the saved refresh token at the issuer and deletes the credentials file.
Status RunLogout(const LoginCommandOptions& options);

}  // namespace ulus::app
