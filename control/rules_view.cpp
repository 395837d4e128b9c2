#include "control/rules_view.hpp"

#include "config/printable.hpp"
#include "config/timestamp.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace stork::control {

namespace {

namespace json = boost::json;
using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// Host names are at most 253 bytes: show them whole, unlike printable's default cut.
constexpr std::size_t max_shown = 256;

std::string shown(std::string_view text)
{
    return config::printable(text, max_shown);
}

std::string lower(std::string_view text)
{
    std::string out{text};
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

std::string expiry_note(std::optional<std::chrono::sys_seconds> expires_at, std::optional<bool> expired_flag,
                        std::chrono::sys_seconds now)
{
    if (!expires_at) {
        return {};
    }
    const bool expired = expired_flag.value_or(now >= *expires_at);
    if (!expired) {
        return format_span(*expires_at - now);
    }
    if (now < *expires_at) {
        return "expired";
    }
    const seconds ago = now - *expires_at;
    if (ago < minutes{1}) {
        return "expired just now";
    }
    return "expired " + format_span(ago) + " ago";
}

std::string detail_value(const json::value& v)
{
    if (v.is_string()) {
        return shown(v.get_string());
    }
    if (v.is_bool()) {
        return v.get_bool() ? "true" : "false";
    }
    if (v.is_null()) {
        return "-";
    }
    return shown(json::serialize(v));
}

} // namespace

std::string format_span(seconds span)
{
    if (span < minutes{1}) {
        return "<1m";
    }
    const auto two_units = [](auto big, auto small, std::string_view big_unit, std::string_view small_unit) {
        std::string text = std::to_string(big.count()) + std::string{big_unit};
        if (small.count() != 0) {
            text += " " + std::to_string(small.count()) + std::string{small_unit};
        }
        return text;
    };
    if (span >= days{1}) {
        const auto d = std::chrono::floor<days>(span);
        return two_units(d, std::chrono::floor<hours>(span - d), "d", "h");
    }
    if (span >= hours{1}) {
        const auto h = std::chrono::floor<hours>(span);
        return two_units(h, std::chrono::floor<minutes>(span - h), "h", "m");
    }
    return std::to_string(std::chrono::floor<minutes>(span).count()) + "m";
}

std::string format_expiry(const rule_row& row, std::chrono::sys_seconds now)
{
    if (!row.expires_at) {
        // An expiry this stork cannot read is still worth showing as sent.
        return row.expires_text.empty() ? "-" : shown(row.expires_text);
    }
    return expiry_note(row.expires_at, row.expired, now);
}

std::string format_rules_table(std::vector<rule_row> rows, std::chrono::sys_seconds now)
{
    // Host names compare case-insensitively (design.md §2); the exact spelling breaks
    // ties so that the order never depends on the server's.
    std::sort(rows.begin(), rows.end(), [](const rule_row& a, const rule_row& b) {
        const std::string la = lower(a.host);
        const std::string lb = lower(b.host);
        return la != lb ? la < lb : a.host < b.host;
    });

    using line = std::array<std::string, 5>;
    std::vector<line> lines;
    lines.reserve(rows.size() + 1);
    lines.push_back({"HOST", "TARGET", "MODE", "EXPIRES", "APP"});
    for (const rule_row& row : rows) {
        lines.push_back({shown(row.host), shown(row.target), row.mode.empty() ? "-" : shown(row.mode),
                         format_expiry(row, now), row.app.empty() ? "-" : shown(row.app)});
    }

    std::array<std::size_t, 5> width{};
    for (const line& l : lines) {
        for (std::size_t i = 0; i < l.size(); ++i) {
            width[i] = std::max(width[i], l[i].size());
        }
    }
    std::string text;
    for (const line& l : lines) {
        std::string out;
        for (std::size_t i = 0; i < l.size(); ++i) {
            out += l[i];
            if (i + 1 < l.size()) {
                out += std::string(width[i] - l[i].size() + 2, ' ');
            }
        }
        while (!out.empty() && out.back() == ' ') {
            out.pop_back();
        }
        text += out + "\n";
    }
    return text;
}

std::string format_rule_details(const json::object& rule, std::chrono::sys_seconds now)
{
    // design.md §2's order; `expired` is said on the expires_at line instead.
    constexpr std::array<std::string_view, 13> known{
        "host",           "target",        "mode",       "upstream", "upstream_tls",
        "preserve_host",  "proxy_protocol", "redirect_code", "expires_at", "app",
        "migration",      "created_at",     "updated_at"};

    std::vector<std::pair<std::string, std::string>> lines;
    for (const std::string_view key : known) {
        const json::value* v = rule.if_contains(key);
        if (v == nullptr) {
            continue;
        }
        std::string value = detail_value(*v);
        if (key == "expires_at" && v->is_string()) {
            std::optional<bool> expired;
            if (const json::value* flag = rule.if_contains("expired"); flag != nullptr && flag->is_bool()) {
                expired = flag->get_bool();
            }
            if (const auto t = config::parse_rfc3339(v->get_string())) {
                const std::string note = expiry_note(*t, expired, now);
                value += note.starts_with("expired") ? " (" + note + ")" : " (" + note + " left)";
            }
        }
        lines.emplace_back(std::string{key}, std::move(value));
    }
    for (const auto& [key, v] : rule) {
        const bool is_known = std::find(known.begin(), known.end(), std::string_view{key}) != known.end();
        if (!is_known && key != "expired") {
            lines.emplace_back(shown(key), detail_value(v));
        }
    }
    // A rule without expires_at (an older storkd) still says whether it has expired.
    if (!rule.contains("expires_at")) {
        if (const json::value* flag = rule.if_contains("expired"); flag != nullptr) {
            lines.emplace_back("expired", detail_value(*flag));
        }
    }

    std::size_t width = 0;
    for (const auto& [key, value] : lines) {
        width = std::max(width, key.size());
    }
    std::string text;
    for (const auto& [key, value] : lines) {
        text += key + ":" + std::string(width - key.size() + 1, ' ') + value + "\n";
    }
    return text;
}

} // namespace stork::control
