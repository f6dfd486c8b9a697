#include <algorithm>

#include "ulus/identity/oidc.hpp"

namespace ulus::identity {

std::vector<std::string> ApiCaller::OfficerOf() const {
  std::vector<std::string> out;
  for (const auto& role : roles) {
    if ((role.role == "officer" || role.role == "admin") &&
        std::find(out.begin(), out.end(), role.agency) == out.end()) {
      out.push_back(role.agency);
    }
  }
  return out;
}

bool ApiCaller::HasRole(std::string_view role) const {
  return std::any_of(roles.begin(), roles.end(), [&](const Role& r) { return r.role == role; });
}

Result<ApiCaller> AuthenticateApiCaller(const http::Request& request, OidcProvider& oidc,
                                        const AccountDirectory& accounts, std::string_view scope) {
  const auto token = request.BearerToken();
  if (!token || token->empty()) {
    return Error{ErrorCode::kUnauthenticated,
                 "sign in with Dan and send the access token (Authorization: Bearer ...)",
                 "Authorization"};
  }
  return ApiCallerFromToken(*token, oidc, accounts, scope);
}

Result<ApiCaller> ApiCallerFromToken(std::string_view token, OidcProvider& oidc,
                                     const AccountDirectory& accounts, std::string_view scope) {
  ULUS_ASSIGN_OR_RETURN(auto info, oidc.VerifyAccessToken(token));
  ApiCaller caller;
  if (info.IsClientToken()) {
    caller.client_id = info.client_id;
    caller.client_agency = info.agency;
    return caller;
  }
  if (!info.HasScope(scope)) {
    return Error::PermissionDenied("this token was not granted the " + std::string(scope) +
                                   " scope");
  }
  ULUS_ASSIGN_OR_RETURN(auto account, accounts.FindById(info.subject));
  if (!account || account->status != "active") {
    return Error{ErrorCode::kUnauthenticated, "the account is not active", {}};
  }
  caller.account_id = account->id;
  caller.national_id = account->national_id;
  if (info.assurance && *info.assurance >= Assurance::kSubstantial) {
    ULUS_ASSIGN_OR_RETURN(caller.roles, accounts.Roles(account->id));
  }
  return caller;
}

}  // namespace ulus::identity
