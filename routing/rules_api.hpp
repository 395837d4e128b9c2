#pragma once

#include "config/duration.hpp"
#include "routing/rule_registry.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stork::routing {

// An admin API exchange as plain data: the HTTP server (proxy/admin_server) owns the
// sockets, the framing and the Bearer token check; this side only sees what is asked.
struct api_request {
    std::string_view method;
    std::string_view target; // origin-form: path and optional query
    std::string_view body;
};

struct api_response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

// /v1/rules and /v1/rules/{host} (design.md §2 "Admin API"):
//   PUT    /v1/rules/{host}                 201 created / 200 replaced, the stored rule
//   GET    /v1/rules/{host}                 200 rule / 404
//   DELETE /v1/rules/{host}                 204 / 404
//   GET    /v1/rules[?app=&migration=&expired=true|false]   200 {"rules": [...]}
//   DELETE /v1/rules?expired_for=7d         200 {"purged": [...]}  (a purge)
// Every refusal is {"error": ..., "field": ...} with 400 and changes nothing; a store
// that cannot write answers 500 and changes nothing either.
class rules_api {
public:
    using clock_fn = std::function<time_point()>;

    rules_api(rule_registry& registry, clock_fn now, config::duration default_ttl, std::function<void()> on_change);

    // Nothing when the target is not under /v1/rules.
    std::optional<api_response> handle(const api_request& request);

    // rules.default_ttl from a reloaded configuration.
    void set_default_ttl(config::duration ttl) noexcept { default_ttl_ = ttl; }

private:
    api_response collection(const api_request& request, std::string_view query);
    api_response one(const api_request& request, std::string_view encoded_host);

    rule_registry& registry_;
    clock_fn now_;
    config::duration default_ttl_;
    std::function<void()> on_change_;
};

// {"error": message, "field": field} (field omitted when empty).
api_response json_error(unsigned status, std::string_view message, std::string_view field = {});

} // namespace stork::routing
