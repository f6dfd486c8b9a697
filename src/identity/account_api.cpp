#include "ulus/core/clock.hpp"
#include "ulus/identity/accounts_service.hpp"

namespace ulus::identity {
namespace {

nlohmann::json GrantJson(const RoleGrant& grant) {
  return {{"account_id", grant.account_id},
          {"national_id", grant.national_id},
          {"agency", grant.role.agency},
          {"centre", grant.role.centre},
          {"role", grant.role.role},
          {"granted_by", grant.granted_by},
          {"granted_at", FormatRfc3339(grant.granted_at)}};
}

Result<std::string> StringMember(const nlohmann::json& body, const char* name, bool required) {
  if (!body.is_object()) return Error::InvalidArgument("the body must be a JSON object");
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return Error::InvalidArgument(std::string(name) + " is required", name);
    return std::string();
  }
  if (!it->is_string())
    return Error::InvalidArgument(std::string(name) + " must be a string", name);
  return it->get<std::string>();
}

AttemptContext ContextOf(const http::Request& request, const Caller& caller) {
  return AttemptContext{request.remote_address(), "account:" + caller.account_id};
}

}  // namespace

CallerResolver SessionCallerResolver(AccountService& accounts, Sessions& sessions) {
  return [&accounts, &sessions](const http::Request& request) -> Result<Caller> {
    ULUS_ASSIGN_OR_RETURN(auto session, sessions.FromRequest(request));
    if (!session) return Error{ErrorCode::kUnauthenticated, "log in to Dan first", {}};
    ULUS_ASSIGN_OR_RETURN(auto roles, accounts.Roles(session->account_id));
    return Caller{session->account_id, std::move(roles)};
  };
}

// A session cookie is a safe credential here: these routes take only application/json bodies
// and DELETE, which no cross-site form can send, and the cookie is SameSite=Lax besides.
void MountAccountApi(http::Router& router, AccountService& accounts, CallerResolver resolve) {
  const nlohmann::json tags = {"Dan officer roles"};
  router.Add(http::Method::get, "/dan/api/agencies/{agency}/roles",
             [&accounts, resolve](http::Request& request) -> Result<http::Response> {
               ULUS_ASSIGN_OR_RETURN(auto caller, resolve(request));
               ULUS_ASSIGN_OR_RETURN(auto grants,
                                     accounts.ListRoles(caller, request.Param("agency")));
               auto list = nlohmann::json::array();
               for (const auto& grant : grants) list.push_back(GrantJson(grant));
               return http::Response::Json({{"roles", list}});
             },
             {{"summary", "Roles held in an agency (its admins and platform operators only)"},
              {"tags", tags}});
  router.Add(
      http::Method::post, "/dan/api/agencies/{agency}/roles",
      [&accounts, resolve](http::Request& request) -> Result<http::Response> {
        ULUS_ASSIGN_OR_RETURN(auto caller, resolve(request));
        ULUS_ASSIGN_OR_RETURN(auto body, request.Json());
        ULUS_ASSIGN_OR_RETURN(auto national_id, StringMember(body, "national_id", true));
        ULUS_ASSIGN_OR_RETURN(auto role, StringMember(body, "role", true));
        ULUS_ASSIGN_OR_RETURN(auto centre, StringMember(body, "centre", false));
        ULUS_ASSIGN_OR_RETURN(auto grant,
                              accounts.GrantRole(caller, request.Param("agency"), national_id, role,
                                                 centre, ContextOf(request, caller)));
        return http::Response::Json(GrantJson(grant), http::Status::created);
      },
      {{"summary", "Grant a role in an agency to a person's account"},
       {"tags", tags},
       {"requestBody",
        {{"required", true},
         {"content",
          {{"application/json",
            {{"schema",
              {{"type", "object"},
               {"required", {"national_id", "role"}},
               {"properties",
                {{"national_id", {{"type", "string"}}},
                 {"role", {{"type", "string"}, {"enum", {"officer", "admin", "desk", "operator"}}}},
                 {"centre", {{"type", "string"}}}}}}}}}}}}}});
  router.Add(
      http::Method::delete_, "/dan/api/agencies/{agency}/roles/{account_id}/{role}",
      [&accounts, resolve](http::Request& request) -> Result<http::Response> {
        ULUS_ASSIGN_OR_RETURN(auto caller, resolve(request));
        const auto centre = request.Query("centre").value_or("");
        ULUS_TRY(accounts.RevokeRole(caller, request.Param("agency"), request.Param("account_id"),
                                     request.Param("role"), centre, ContextOf(request, caller)));
        return http::Response::NoContent();
      },
      {{"summary", "Withdraw a role (query centre= for a centre-bound role)"}, {"tags", tags}});
}

}  // namespace ulus::identity
