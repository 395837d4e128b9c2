#include "control/rule_json.hpp"

#include "config/endpoint.hpp"
#include "config/printable.hpp"
#include "config/timestamp.hpp"

#include <boost/json/parse.hpp>

namespace stork::control {

namespace {

namespace json = boost::json;

// The string at `key`, or nothing when absent, null or not a string.
std::optional<std::string> string_at(const json::object& object, std::string_view key)
{
    const json::value* v = object.if_contains(key);
    if (v == nullptr || !v->is_string()) {
        return std::nullopt;
    }
    return std::string{v->get_string()};
}

} // namespace

json::object rule_body(const rules_add_command& cmd, std::chrono::sys_seconds now)
{
    json::object body;
    // The host is also in the path; in the body it makes the document stand alone, and
    // the server checks that both agree.
    body["host"] = cmd.host;
    body["target"] = cmd.target;
    if (cmd.mode) {
        body["mode"] = routing::to_string(*cmd.mode);
    }
    if (cmd.upstream) {
        body["upstream"] = cmd.upstream->to_string();
    }
    // Both default to true on the server; the flags only ever turn them off.
    if (!cmd.upstream_tls) {
        body["upstream_tls"] = false;
    }
    if (!cmd.preserve_host) {
        body["preserve_host"] = false;
    }
    if (cmd.proxy_protocol) {
        body["proxy_protocol"] = true;
    }
    if (cmd.redirect_code) {
        body["redirect_code"] = *cmd.redirect_code;
    }
    if (cmd.expires_at) {
        body["expires_at"] = config::format_rfc3339(*cmd.expires_at);
    } else if (cmd.ttl) {
        body["expires_at"] = config::format_rfc3339(now + std::chrono::ceil<std::chrono::seconds>(*cmd.ttl));
    }
    if (cmd.app) {
        body["app"] = *cmd.app;
    }
    if (cmd.migration) {
        body["migration"] = *cmd.migration;
    }
    return body;
}

json::object rule_body(const migrate::redirect_rule& rule)
{
    json::object body;
    body["host"] = rule.host;
    body["target"] = rule.target;
    body["mode"] = rule.mode;
    if (rule.mode != "redirect") {
        bool tls = true;
        if (rule.upstream) {
            body["upstream"] = *rule.upstream;
            const auto upstream = config::parse_endpoint(*rule.upstream, {});
            tls = !(upstream && upstream->port == 80);
        }
        body["upstream_tls"] = tls;
    }
    body["preserve_host"] = rule.preserve_host;
    body["expires_at"] = config::format_rfc3339(rule.expires_at);
    body["app"] = rule.app;
    body["migration"] = rule.migration;
    return body;
}

config::parsed<rule_row> rule_row_from_json(const json::value& rule)
{
    if (!rule.is_object()) {
        return config::invalid{"a rule is not a JSON object"};
    }
    const json::object& object = rule.get_object();
    rule_row row;
    auto host = string_at(object, "host");
    if (!host) {
        return config::invalid{"a rule has no \"host\" string"};
    }
    row.host = *std::move(host);
    auto target = string_at(object, "target");
    if (!target) {
        return config::invalid{"the rule of " + config::quoted(row.host) + " has no \"target\" string"};
    }
    row.target = *std::move(target);
    row.mode = string_at(object, "mode").value_or("");
    row.app = string_at(object, "app").value_or("");
    row.migration = string_at(object, "migration").value_or("");
    if (auto expires = string_at(object, "expires_at")) {
        if (auto t = config::parse_rfc3339(*expires)) {
            row.expires_at = *t;
        } else {
            row.expires_text = *std::move(expires);
        }
    }
    if (const json::value* expired = object.if_contains("expired"); expired != nullptr && expired->is_bool()) {
        row.expired = expired->get_bool();
    }
    return row;
}

config::parsed<std::vector<rule_row>> rule_rows_from_list(const json::value& answer)
{
    const json::value* rules = answer.is_object() ? answer.get_object().if_contains("rules") : nullptr;
    if (rules == nullptr || !rules->is_array()) {
        return config::invalid{"no \"rules\" array"};
    }
    std::vector<rule_row> rows;
    rows.reserve(rules->get_array().size());
    for (const json::value& rule : rules->get_array()) {
        auto row = rule_row_from_json(rule);
        if (!row) {
            return config::invalid{row.error()};
        }
        rows.push_back(*std::move(row));
    }
    return rows;
}

config::parsed<std::vector<std::string>> purged_hosts_from_json(const json::value& answer)
{
    const json::value* purged = answer.is_object() ? answer.get_object().if_contains("purged") : nullptr;
    if (purged == nullptr || !purged->is_array()) {
        return config::invalid{"no \"purged\" array"};
    }
    std::vector<std::string> hosts;
    for (const json::value& host : purged->get_array()) {
        if (!host.is_string()) {
            return config::invalid{"\"purged\" holds something other than host names"};
        }
        hosts.emplace_back(host.get_string());
    }
    return hosts;
}

config::parsed<json::value> parse_answer(std::string_view body)
{
    if (body.empty()) {
        return config::invalid{"an empty body"};
    }
    boost::system::error_code ec;
    json::value value = json::parse(json::string_view{body.data(), body.size()}, ec);
    if (ec) {
        return config::invalid{"a body that is not JSON (" + config::quoted(body.substr(0, 60)) + ")"};
    }
    return value;
}

api_error api_error_from_body(std::string_view body)
{
    boost::system::error_code ec;
    const json::value value = json::parse(json::string_view{body.data(), body.size()}, ec);
    if (ec || !value.is_object()) {
        return {};
    }
    return api_error{.error = string_at(value.get_object(), "error").value_or(""),
                     .field = string_at(value.get_object(), "field").value_or("")};
}

} // namespace stork::control
