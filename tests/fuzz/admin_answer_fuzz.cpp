// Fuzz target: the CLI's reading of storkd's admin API answers (control/rule_json.hpp),
// which `rules list`, `rules purge` and finalize's read-back of the front servers' rules
// (front_fleet.cpp) depend on. An answer comes from another program, possibly another
// version: every body ends in a value or an error message, never a crash or an exception,
// and what is accepted is what rule_json.hpp promises.
#include "control/rule_json.hpp"

#include "config/timestamp.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using stork::fuzz::require;

namespace {

namespace json = boost::json;
using namespace stork::control;

// The string at `key`, or "" when absent or not a string: how rule_row shows optional labels.
std::string label(const json::object& o, std::string_view key)
{
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string{v->get_string()} : std::string{};
}

bool has_string(const json::object& o, std::string_view key)
{
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string();
}

// One rule: accepted exactly when it is an object with string host and target, and then
// every field is the answer's, as the header describes.
void check_rule(const json::value& v)
{
    const auto row = rule_row_from_json(v);
    const bool shape = v.is_object() && has_string(v.get_object(), "host") && has_string(v.get_object(), "target");
    require(static_cast<bool>(row) == shape);
    if (!row) {
        require(!row.error().empty());
        return;
    }
    const json::object& o = v.get_object();
    require(row->host == label(o, "host"));
    require(row->target == label(o, "target"));
    require(row->mode == label(o, "mode"));
    require(row->app == label(o, "app"));
    require(row->migration == label(o, "migration"));
    // expires_at as a time when it parses as one, else the text as received; never both.
    const std::string expires = label(o, "expires_at");
    require(!(row->expires_at && !row->expires_text.empty()));
    if (row->expires_at) {
        const auto t = stork::config::parse_rfc3339(expires);
        require(t && *t == *row->expires_at);
    } else {
        require(row->expires_text == expires);
    }
    const json::value* expired = o.if_contains("expired");
    const bool is_bool = expired != nullptr && expired->is_bool();
    require(row->expired.has_value() == is_bool);
    if (is_bool) {
        require(*row->expired == expired->get_bool());
    }
}

void check_list(const json::value& answer)
{
    const auto rows = rule_rows_from_list(answer);
    const json::value* rules = answer.is_object() ? answer.get_object().if_contains("rules") : nullptr;
    if (rules == nullptr || !rules->is_array()) {
        require(!rows && !rows.error().empty());
        return;
    }
    const json::array& items = rules->get_array();
    bool all_rules = true;
    for (const json::value& item : items) {
        check_rule(item);
        all_rules = all_rules && static_cast<bool>(rule_row_from_json(item));
    }
    require(static_cast<bool>(rows) == all_rules);
    if (!rows) {
        require(!rows.error().empty());
        return;
    }
    require(rows->size() == items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        require((*rows)[i] == *rule_row_from_json(items[i]));
    }
}

void check_purged(const json::value& answer)
{
    const auto hosts = purged_hosts_from_json(answer);
    const json::value* purged = answer.is_object() ? answer.get_object().if_contains("purged") : nullptr;
    bool shape = purged != nullptr && purged->is_array();
    if (shape) {
        for (const json::value& h : purged->get_array()) {
            shape = shape && h.is_string();
        }
    }
    require(static_cast<bool>(hosts) == shape);
    if (!hosts) {
        require(!hosts.error().empty());
        return;
    }
    const json::array& items = purged->get_array();
    require(hosts->size() == items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        require((*hosts)[i] == std::string_view{items[i].get_string()});
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view body{reinterpret_cast<const char*>(data), size};

    const api_error err = api_error_from_body(body);
    const auto answer = parse_answer(body);
    if (!answer) {
        // The message quotes at most the first 60 bytes, escaped (4 bytes each at most).
        require(!answer.error().empty() && answer.error().size() < 400);
        require(err.error.empty() && err.field.empty());
        return 0;
    }
    require(!body.empty());
    const json::value& value = *answer;
    if (!value.is_object()) {
        require(err.error.empty() && err.field.empty());
    } else {
        require(err.error == label(value.get_object(), "error"));
        require(err.field == label(value.get_object(), "field"));
    }

    check_rule(value);
    check_list(value);
    check_purged(value);
    return 0;
}
