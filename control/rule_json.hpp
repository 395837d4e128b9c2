#pragma once

#include "config/parsed.hpp"
#include "control/cli.hpp"
#include "migrate/redirects.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

// The rule JSON of design.md §2 as the CLI writes it (the body of PUT /v1/rules/{host})
// and reads it (the admin API's answers). No I/O.
namespace stork::control {

// The body of `rules add`: only what the operator typed, so that everything else takes
// the server's default (rules_add_command). --ttl becomes expires_at = now + ttl,
// rounded up to the second: the rule lives at least as long as asked.
boost::json::object rule_body(const rules_add_command& cmd, std::chrono::sys_seconds now);

// The body of finalize's PUT on every front server (front_fleet.hpp): every field is
// written out, so that the rule means the same on each server whatever its defaults.
// Mode "redirect" sends no upstream and no upstream_tls: a redirect connects nowhere.
// upstream_tls stays true (design.md §2's default: the new region's routers are reached
// over TLS on 443) unless the upstream's port is 80, the one port where TLS would be a
// mistake; an upstream that does not parse is sent as it is, for storkd to refuse.
boost::json::object rule_body(const migrate::redirect_rule& rule);

// What `rules list` shows of one rule. The answer is the server's and may come from a
// newer or older storkd: host and target are required (without them the answer is not
// a rule), the rest is shown as found.
struct rule_row {
    std::string host{};
    std::string target{};
    std::string mode{};  // empty when absent
    std::string app{};   // empty when absent
    std::string migration{};  // empty when absent: which migration installed the rule
    std::optional<std::chrono::sys_seconds> expires_at{};
    std::string expires_text{};  // the field as received, when it is not an RFC 3339 time
    std::optional<bool> expired{};  // the server's verdict; it enforces expiry by its clock

    friend bool operator==(const rule_row&, const rule_row&) = default;
};

// One rule object. Fails when the value is not an object with string host and target.
config::parsed<rule_row> rule_row_from_json(const boost::json::value& rule);

// The answer of GET /v1/rules: {"rules": [rule, ...]}.
config::parsed<std::vector<rule_row>> rule_rows_from_list(const boost::json::value& answer);

// The answer of DELETE /v1/rules?expired_for=D: {"purged": ["host", ...]}.
config::parsed<std::vector<std::string>> purged_hosts_from_json(const boost::json::value& answer);

// A body that should be JSON; the failure says what it looks like instead.
config::parsed<boost::json::value> parse_answer(std::string_view body);

// The body of an error answer: {"error": "...", "field": "..."}; both empty when the
// body is not such an object.
struct api_error {
    std::string error{};
    std::string field{};
};
api_error api_error_from_body(std::string_view body);

} // namespace stork::control
