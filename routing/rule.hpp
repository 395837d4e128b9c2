#pragma once

#include "config/duration.hpp"
#include "config/endpoint.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace stork::routing {

using time_point = std::chrono::sys_seconds; // rules are kept to the second (RFC 3339 UTC)

enum class rule_mode : std::uint8_t { proxy, redirect, passthrough };

std::string_view to_string(rule_mode m) noexcept;

// A redirect rule (design.md §2 "A redirect rule"). Hosts are normalised (routing/host.hpp).
struct rule {
    std::string host;                       // exact, or "*.example.com"
    std::string target;                     // the application's host in the new region
    rule_mode mode = rule_mode::proxy;
    std::optional<config::endpoint> upstream; // absent: resolve target
    bool upstream_tls = true;
    bool preserve_host = true;
    bool proxy_protocol = false;            // passthrough mode only: a PROXY v2 header first (issue 5 §5)
    std::uint16_t redirect_code = 308;      // redirect mode only
    time_point expires_at{};
    std::string app;
    std::string migration;
    time_point created_at{};
    time_point updated_at{};

    // Expiry is judged by the daemon's own clock (design.md §3), to the second.
    bool expired(time_point now) const noexcept { return now >= expires_at; }

    friend bool operator==(const rule&, const rule&) = default;
};

// Why a request body or a stored record is not a rule: the field at fault ("" for the
// document itself) and what is wrong, for {"error": ..., "field": ...}.
struct field_error {
    std::string field;
    std::string message;
};

struct request_context {
    std::string_view path_host; // the {host} of PUT /v1/rules/{host}, normalised
    time_point now;
    config::duration default_ttl;
};

// A rule from the body of PUT /v1/rules/{host}. Every field is checked; unknown fields are
// refused; created_at, updated_at and expired are the server's and ignored, so what GET
// returned can be sent back. Absent expires_at: now + default_ttl.
std::variant<rule, field_error> rule_from_request(std::string_view body, const request_context& context);

// The JSON of a rule as the API answers it, with "expired" judged at `now`.
boost::json::object to_json(const rule& r, time_point now);

// The stored form (the file store's record values) and back. Stored rules are checked as
// strictly as requests: a record that fails is reported, never half-loaded.
std::string to_stored_json(const rule& r);
std::variant<rule, field_error> rule_from_stored(std::string_view json);

} // namespace stork::routing
