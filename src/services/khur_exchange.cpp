// Registry reads through the platform's own Khur node, as any agency system makes them.

#include <cctype>
#include <mutex>
#include <nlohmann/json.hpp>

#include "ulus/http/client.hpp"
#include "ulus/services/applications.hpp"

namespace ulus::services {
namespace {

// A string member of another system's answer, or empty: never trust its types.
std::string StringMember(const nlohmann::json& body, const char* name) {
  auto it = body.find(name);
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// RFC 3986 percent-encoding of everything but the unreserved characters: query values, and
// header values that must stay ASCII (a Cyrillic register number).
std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Most records a single read may bring: a person owns a handful of vehicles or parcels.
constexpr int kPageSize = 100;

}  // namespace

struct KhurExchange::Impl {
  std::function<std::string()> node_url;
  std::string client;
  std::mutex mutex;
  std::vector<std::unique_ptr<http::Client>> idle;  // keep-alive connections to the node

  Result<std::unique_ptr<http::Client>> Take() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        auto c = std::move(idle.back());
        idle.pop_back();
        return c;
      }
    }
    const std::string url = node_url();
    if (url.empty()) return Error::Unavailable("the platform has no Khur node to read through");
    http::ClientOptions options;
    options.request_timeout = std::chrono::seconds(30);
    return http::Client::Create(url, options);
  }
  void Give(std::unique_ptr<http::Client> c) {
    std::lock_guard lock(mutex);
    if (idle.size() < 64) idle.push_back(std::move(c));
  }
};

KhurExchange::KhurExchange(std::function<std::string()> node_url, std::string client)
    : impl_(std::make_unique<Impl>()) {
  impl_->node_url = std::move(node_url);
  impl_->client = std::move(client);
}
KhurExchange::~KhurExchange() = default;

Result<Pulled> KhurExchange::Pull(const PullRequest& request) {
  const RegistrySource& registry = *request.registry;
  const std::string& service =
      registry.service_code.empty() ? registry.name : registry.service_code;
  const std::string target = "/r1/" + registry.provider + "/" + service + "/" + registry.version +
                             "?query." + PercentEncode(request.field) + "=" +
                             PercentEncode(request.value) +
                             "&pageSize=" + std::to_string(kPageSize);
  std::vector<std::pair<std::string, std::string>> headers = {
      {"X-Road-Client", impl_->client},
      {"X-Road-UserId", PercentEncode(request.user_id)},
      {"Ulus-Subject", PercentEncode(request.subject)},
      {"Ulus-Purpose", PercentEncode(request.purpose)},
  };
  if (!request.consent_token.empty()) headers.emplace_back("Ulus-Consent", request.consent_token);
  ULUS_ASSIGN_OR_RETURN(auto client, impl_->Take());
  auto sent = client->Send(http::Method::get, target, {}, headers);
  if (!sent.ok()) {
    return Error::Unavailable("Khur did not answer for the " + registry.name +
                              " registry: " + sent.error().message);
  }
  impl_->Give(std::move(client));
  const auto& answer = *sent;
  const int status = static_cast<int>(answer.status);
  if (status != 200) {
    const auto fault = answer.Header("X-Road-Error");
    // Khur's own refusals carry the reason in "message" (X-Road's error body); the registries'
    // problem+json in "detail".
    std::string detail;
    auto body = nlohmann::json::parse(answer.body, nullptr, false);
    if (body.is_object()) {
      if (!fault.empty()) {
        detail = StringMember(body, "message");
      } else {
        detail = StringMember(body, "detail");
        if (detail.empty()) detail = StringMember(body, "title");
      }
    }
    const std::string why = "the " + registry.name + " registry answered " +
                            std::to_string(status) +
                            (fault.empty() ? "" : " (" + std::string(fault) + ")") +
                            (detail.empty() ? "" : ": " + detail);
    // A refusal by the provider's node (no right, no or a wrong consent) is an answer, not an
    // outage: the application is rejected with it rather than retried.
    if (status == 401 || status == 403 || fault.ends_with("AccessDenied")) {
      return Error::PermissionDenied(why);
    }
    if (status == 400 || status == 404 || status == 422) return Error::InvalidArgument(why);
    return Error::Unavailable(why);
  }
  auto body = nlohmann::json::parse(answer.body, nullptr, false);
  if (!body.is_object() || !body.contains("results") || !body["results"].is_array()) {
    return Error::Unavailable("the " + registry.name + " registry answered no list of records");
  }
  Pulled out;
  out.x_road_id = std::string(answer.Header("X-Road-Id"));
  for (auto& record : body["results"]) {
    if (record.is_object()) out.records.push_back(std::move(record));
  }
  if (const auto count = body.find("count");
      count != body.end() && count->is_number_integer() && count->get<int64_t>() > kPageSize) {
    return Error::Unavailable("the " + registry.name + " registry holds more than " +
                              std::to_string(kPageSize) + " records about the person");
  }
  return out;
}

}  // namespace ulus::services
