#include "login_command.hpp"

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "ulus/core/files.hpp"
#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/jose.hpp"
#include "ulus/crypto/random.hpp"
#include "ulus/http/client.hpp"
#include "ulus/http/form.hpp"
#include "ulus/http/server.hpp"

namespace ulus::app {
namespace {

using nlohmann::json;

struct Origin {
  std::string origin;  // scheme://host:port
  std::string path;    // the rest, starting with "/" (or empty)
};

Result<Origin> SplitUrl(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return Error::InvalidArgument("'" + std::string(url) + "' is not an http(s) URL", "issuer");
  }
  const auto path_start = url.find('/', scheme_end + 3);
  if (path_start == std::string_view::npos) return Origin{std::string(url), ""};
  return Origin{std::string(url.substr(0, path_start)), std::string(url.substr(path_start))};
}

Result<json> GetJson(std::string_view url) {
  ULUS_ASSIGN_OR_RETURN(auto where, SplitUrl(url));
  ULUS_ASSIGN_OR_RETURN(auto client, http::Client::Create(where.origin));
  ULUS_ASSIGN_OR_RETURN(auto response, client->Get(where.path.empty() ? "/" : where.path));
  if (response.status != http::Status::ok) {
    return Error::Unavailable(std::string(url) + " answered " +
                              std::to_string(static_cast<int>(response.status)));
  }
  auto body = json::parse(response.body, nullptr, false);
  if (!body.is_object()) return Error::Unavailable(std::string(url) + " did not answer JSON");
  return body;
}

Result<json> PostForm(std::string_view url, const std::string& form) {
  ULUS_ASSIGN_OR_RETURN(auto where, SplitUrl(url));
  ULUS_ASSIGN_OR_RETURN(auto client, http::Client::Create(where.origin));
  ULUS_ASSIGN_OR_RETURN(auto response,
                        client->Send(http::Method::post, where.path, form,
                                     {{"Content-Type", "application/x-www-form-urlencoded"}}));
  auto body = json::parse(response.body, nullptr, false);
  if (response.status != http::Status::ok) {
    std::string why = std::to_string(static_cast<int>(response.status));
    if (body.is_object() && body.contains("error")) {
      why = body.value("error", "") + ": " + body.value("error_description", "");
    }
    return Error{ErrorCode::kUnauthenticated, std::string(url) + " refused: " + why, {}};
  }
  if (!body.is_object()) return Error::Unavailable(std::string(url) + " did not answer JSON");
  return body;
}

std::string Str(const json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// What the loopback listener received.
struct Callback {
  std::mutex mutex;
  std::condition_variable done;
  std::optional<std::string> code;
  std::optional<std::string> state;
  std::optional<std::string> error;
  bool arrived = false;  // guarded by mutex
};

}  // namespace

std::filesystem::path DefaultCredentialsPath() {
  if (const char* config = std::getenv("XDG_CONFIG_HOME"); config != nullptr && *config != '\0') {
    return std::filesystem::path(config) / "ulus" / "credentials.json";
  }
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr ? home : ".") / ".config" / "ulus" /
         "credentials.json";
}

Status RunLogin(const LoginCommandOptions& options) {
  auto issuer = options.issuer;
  while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
  ULUS_ASSIGN_OR_RETURN(auto discovery, GetJson(issuer + "/.well-known/openid-configuration"));
  if (Str(discovery, "issuer") != issuer) {
    return Error::InvalidArgument(
        "the provider says its issuer is '" + Str(discovery, "issuer") + "', not '" + issuer + "'",
        "issuer");
  }
  ULUS_ASSIGN_OR_RETURN(auto jwks_json, GetJson(Str(discovery, "jwks_uri")));
  ULUS_ASSIGN_OR_RETURN(auto jwks, crypto::JwkSet::FromJson(jwks_json));

  // The one-shot listener the browser comes back to.
  auto callback = std::make_shared<Callback>();
  http::Router router;
  router.Add(http::Method::get, "/callback", [callback](http::Request& request) {
    {
      std::lock_guard lock(callback->mutex);
      if (!callback->arrived) {
        callback->code = request.Query("code");
        callback->state = request.Query("state");
        callback->error = request.Query("error");
        callback->arrived = true;
      }
    }
    callback->done.notify_all();
    return Result<http::Response>(
        http::Response::Text("<!doctype html><meta charset=utf-8><title>Ulus</title>"
                             "<p>Done: you can close this window and return to the terminal.</p>",
                             "text/html; charset=utf-8"));
  });
  http::ServerOptions server_options;
  server_options.address = "127.0.0.1";
  server_options.port = 0;
  server_options.threads = 1;
  ULUS_ASSIGN_OR_RETURN(auto server, http::Server::Create(server_options, std::move(router)));
  ULUS_TRY(server->Start());
  const auto redirect_uri = "http://127.0.0.1:" + std::to_string(server->port()) + "/callback";

  const auto verifier = crypto::RandomToken(32);
  const auto challenge = crypto::Base64UrlEncode(crypto::Sha256(verifier));
  const auto state = crypto::RandomToken(16);
  const auto nonce = crypto::RandomToken(16);
  std::string url = Str(discovery, "authorization_endpoint") +
                    "?response_type=code&client_id=" + http::FormEncode(options.client_id) +
                    "&redirect_uri=" + http::FormEncode(redirect_uri) +
                    "&scope=" + http::FormEncode(options.scope) + "&state=" + state +
                    "&nonce=" + nonce + "&code_challenge=" + challenge +
                    "&code_challenge_method=S256";
  if (!options.acr.empty()) url += "&acr_values=" + http::FormEncode(options.acr);
  std::printf("Open this address in a browser to log in:\n\n  %s\n\nWaiting for the browser...\n",
              url.c_str());
  std::fflush(stdout);

  {
    std::unique_lock lock(callback->mutex);
    if (!callback->done.wait_for(lock, options.wait, [&] { return callback->arrived; })) {
      server->Stop(std::chrono::milliseconds(100));
      return Error{
          ErrorCode::kTimeout, "no answer from the browser in time; run ulus login again", {}};
    }
  }
  server->Stop(std::chrono::milliseconds(500));
  if (callback->error) {
    return Error{ErrorCode::kUnauthenticated, "login refused: " + *callback->error, {}};
  }
  if (!callback->state || *callback->state != state) {
    return Error{ErrorCode::kUnauthenticated, "the browser came back with a wrong state", {}};
  }
  if (!callback->code) {
    return Error{ErrorCode::kUnauthenticated, "the browser came back without a code", {}};
  }

  const std::string form =
      "grant_type=authorization_code&code=" + http::FormEncode(*callback->code) +
      "&redirect_uri=" + http::FormEncode(redirect_uri) +
      "&client_id=" + http::FormEncode(options.client_id) + "&code_verifier=" + verifier;
  ULUS_ASSIGN_OR_RETURN(auto tokens, PostForm(Str(discovery, "token_endpoint"), form));
  crypto::JwtPolicy policy;
  policy.issuer = issuer;
  policy.audience = options.client_id;
  ULUS_ASSIGN_OR_RETURN(auto id_token, crypto::VerifyJwt(Str(tokens, "id_token"), jwks, policy));
  if (Str(id_token.claims, "nonce") != nonce) {
    return Error{ErrorCode::kUnauthenticated, "the ID token's nonce is not ours", {}};
  }

  const auto path = options.credentials.empty() ? DefaultCredentialsPath() : options.credentials;
  const json credentials = {{"issuer", issuer},
                            {"client_id", options.client_id},
                            {"access_token", Str(tokens, "access_token")},
                            {"refresh_token", Str(tokens, "refresh_token")},
                            {"id_token", Str(tokens, "id_token")},
                            {"expires_in", tokens.value("expires_in", 0)},
                            {"subject", Str(id_token.claims, "sub")}};
  ULUS_TRY(WritePrivateFile(path, credentials.dump(2) + "\n"));
  std::string who = Str(id_token.claims, "name");
  if (who.empty()) who = Str(id_token.claims, "sub");
  const auto national_id = Str(id_token.claims, "national_id");
  std::printf("Logged in as %s%s%s (%s). Tokens saved in %s\n", who.c_str(),
              national_id.empty() ? "" : ", ", national_id.c_str(),
              Str(id_token.claims, "acr").c_str(), path.c_str());
  return Ok();
}

Status RunLogout(const LoginCommandOptions& options) {
  const auto path = options.credentials.empty() ? DefaultCredentialsPath() : options.credentials;
  std::ifstream in(path);
  if (!in) return Error::NotFound("not logged in (no " + path.string() + ")");
  const auto credentials = json::parse(in, nullptr, false);
  in.close();
  if (credentials.is_object() && !Str(credentials, "refresh_token").empty()) {
    auto discovery = GetJson(Str(credentials, "issuer") + "/.well-known/openid-configuration");
    Status revoked = discovery.ok() ? Ok() : discovery.error();
    if (discovery.ok()) {
      // RFC 7009: revoking the refresh token ends its whole family at the provider.
      auto answer = PostForm(Str(*discovery, "revocation_endpoint"),
                             "token=" + http::FormEncode(Str(credentials, "refresh_token")) +
                                 "&token_type_hint=refresh_token&client_id=" +
                                 http::FormEncode(Str(credentials, "client_id")));
      if (!answer.ok()) revoked = answer.error();
    }
    if (!revoked.ok()) {
      std::fprintf(stderr, "ulus: the tokens could not be revoked at the issuer (%s)\n",
                   revoked.error().message.c_str());
    }
  }
  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (ec) return Error::InvalidArgument("cannot delete " + path.string() + ": " + ec.message());
  std::printf("Logged out.\n");
  return Ok();
}

}  // namespace ulus::app
