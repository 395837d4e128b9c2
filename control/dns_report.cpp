#include "control/dns_report.hpp"

#include "config/printable.hpp"
#include "control/rule_json.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <map>
#include <optional>

namespace stork::control {

namespace {

namespace json = boost::json;

// Host names are at most 253 bytes: shown whole. Advice names hosts and durations:
// a sentence or two.
constexpr std::size_t max_host = 256;
constexpr std::size_t max_advice = 1024;

const json::value* field(const json::object& o, std::string_view name)
{
    const auto it = o.find(name);
    return it == o.end() ? nullptr : &it->value();
}

std::string paint(bool colour, std::string_view text, std::string_view code)
{
    if (!colour) {
        return std::string{text};
    }
    return "\x1b[" + std::string{code} + "m" + std::string{text} + "\x1b[0m";
}

// The colours of `stork dns check` (dnscheck/report_text.cpp).
std::string_view verdict_colour(std::string_view verdict)
{
    if (verdict == "ready") {
        return "1;32";
    }
    if (verdict == "pending" || verdict == "propagating") {
        return "1;33";
    }
    return "1;31";
}

std::string plural(std::size_t n, std::string_view one, std::string_view many)
{
    return std::to_string(n) + " " + std::string{n == 1 ? one : many};
}

// "3 hosts checked: 1 ready, 2 pending; 1 wildcard rule skipped"
std::string summary(const std::vector<dns_report_line>& lines)
{
    std::map<std::string, std::size_t> by_verdict;
    std::size_t checked = 0;
    std::size_t skipped = 0;
    for (const auto& l : lines) {
        if (l.verdict.empty()) {
            ++skipped;
        } else {
            ++checked;
            ++by_verdict[config::printable(l.verdict, 32)];
        }
    }
    std::string out = plural(checked, "host", "hosts") + " checked";
    // The verdicts in the order of their urgency for the operator, then any other.
    static constexpr std::string_view order[] = {"ready", "propagating", "pending", "misconfigured", "unresolvable"};
    std::string counts;
    const auto add = [&counts](std::size_t n, std::string_view name) {
        counts += (counts.empty() ? ": " : ", ") + std::to_string(n) + " " + std::string{name};
    };
    for (const auto name : order) {
        if (const auto it = by_verdict.find(std::string{name}); it != by_verdict.end()) {
            add(it->second, name);
            by_verdict.erase(it);
        }
    }
    for (const auto& [name, n] : by_verdict) {
        add(n, name);
    }
    out += counts;
    if (skipped != 0) {
        out += "; " + plural(skipped, "wildcard rule", "wildcard rules") + " skipped";
    }
    return out + "\n";
}

int fail(const dns_report_io& io, const std::string& message)
{
    io.err << "stork: " << message << "\n";
    return exit_error;
}

std::string status_line(const admin_reply& reply)
{
    return std::to_string(reply.status) + (reply.reason.empty() ? "" : " " + config::printable(reply.reason));
}

// One line for an answer other than 200.
std::string refusal(const admin_reply& reply)
{
    const api_error e = api_error_from_body(reply.body);
    switch (reply.status) {
    case 401:
        return "the admin API refused the token: check --token-file or STORK_TOKEN";
    case 404:
        return "this storkd has no DNS report (GET /v1/dns/report answered 404): it is older than this stork";
    case 429:
        return "storkd is already running a DNS report; retry when it is done";
    default:
        return "the admin API answered " + status_line(reply) +
               (e.error.empty() ? "" : ": " + config::printable(e.error, 300)) +
               (e.field.empty() ? "" : " (field " + config::printable(e.field) + ")");
    }
}

} // namespace

config::parsed<std::vector<dns_report_line>> dns_report_lines(const json::value& answer)
{
    const auto* top = answer.if_object();
    const json::value* hosts = top != nullptr ? field(*top, "hosts") : nullptr;
    if (hosts == nullptr || !hosts->is_array()) {
        return config::invalid{"expected an object with a \"hosts\" list"};
    }
    std::vector<dns_report_line> lines;
    for (const auto& item : hosts->get_array()) {
        const auto* o = item.if_object();
        if (o == nullptr) {
            return config::invalid{"an entry of \"hosts\" is not an object"};
        }
        const auto* host = field(*o, "host");
        const auto* target = field(*o, "target");
        const auto* days = field(*o, "days_left");
        if (host == nullptr || !host->is_string() || target == nullptr || !target->is_string() || days == nullptr ||
            !days->is_int64()) {
            return config::invalid{"an entry of \"hosts\" lacks a string host and target or an integer days_left"};
        }
        dns_report_line line{.host = std::string{host->get_string()},
                             .target = std::string{target->get_string()},
                             .days_left = static_cast<long>(days->get_int64())};
        if (const auto* v = field(*o, "verdict"); v != nullptr && v->is_string()) {
            line.verdict = std::string{v->get_string()};
        }
        if (const auto* advice = field(*o, "advice"); advice != nullptr && advice->is_array()) {
            const auto& list = advice->get_array();
            if (!list.empty() && list.front().is_string()) {
                line.first_advice = std::string{list.front().get_string()};
            }
        }
        if (const auto* s = field(*o, "skipped"); s != nullptr && s->is_string()) {
            line.skipped = std::string{s->get_string()};
        }
        if (line.verdict.empty() && line.skipped.empty()) {
            line.skipped = "not checked";
        }
        lines.push_back(std::move(line));
    }
    return lines;
}

std::string format_dns_report(const std::vector<dns_report_line>& lines, bool colour)
{
    if (lines.empty()) {
        return "no rules\n";
    }
    struct row {
        std::string host, target, days, verdict, note;
    };
    std::vector<row> rows;
    rows.push_back({"HOST", "TARGET", "DAYS LEFT", "VERDICT", {}});
    for (const auto& l : lines) {
        rows.push_back({config::printable(l.host, max_host), config::printable(l.target, max_host),
                        std::to_string(l.days_left),
                        l.verdict.empty() ? std::string{"skipped"} : config::printable(l.verdict, 32),
                        config::printable(l.verdict.empty() ? l.skipped : l.first_advice, max_advice)});
    }
    std::size_t host_w = 0, target_w = 0, days_w = 0;
    for (const auto& r : rows) {
        host_w = std::max(host_w, r.host.size());
        target_w = std::max(target_w, r.target.size());
        days_w = std::max(days_w, r.days.size());
    }
    std::string out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto& r = rows[i];
        const bool header = i == 0;
        out += r.host + std::string(host_w - r.host.size() + 2, ' ');
        out += r.target + std::string(target_w - r.target.size() + 2, ' ');
        // Numbers right-aligned under the header, the header itself left as it is.
        out += header ? r.days : std::string(days_w - r.days.size(), ' ') + r.days;
        out += "  ";
        if (header) {
            out += r.verdict;
        } else if (lines[i - 1].verdict.empty()) {
            out += paint(colour, r.verdict, "2");
        } else {
            out += paint(colour, r.verdict, verdict_colour(lines[i - 1].verdict));
        }
        out += "\n";
        if (!r.note.empty()) {
            out += "    " + r.note + "\n";
        }
    }
    return out + "\n" + summary(lines);
}

int dns_report_exit_code(const std::vector<dns_report_line>& lines)
{
    const bool all_ready = std::all_of(lines.begin(), lines.end(), [](const dns_report_line& l) {
        return l.verdict.empty() || l.verdict == "ready";
    });
    return all_ready ? exit_ok : exit_not_ready;
}

int run_dns_report(const dns_report_command& cmd, const dns_report_io& io)
{
    auto access = resolve_admin_access(cmd.admin, io.env);
    if (!access) {
        return fail(io, access.error());
    }
    const admin_client client{*std::move(access), io.timeouts};
    const admin_outcome outcome = client.send(admin_method::get, "/v1/dns/report");
    if (const auto* unreachable = std::get_if<admin_unreachable>(&outcome)) {
        return fail(io, unreachable->message);
    }
    const auto& reply = std::get<admin_reply>(outcome);
    if (reply.status != 200) {
        return fail(io, refusal(reply));
    }
    const std::string url = config::printable(client.url().text);
    auto value = parse_answer(reply.body);
    if (!value) {
        return fail(io, "unexpected answer from the admin API at " + url + ": " + value.error());
    }
    auto lines = dns_report_lines(*value);
    if (!lines) {
        return fail(io, "unexpected answer from the admin API at " + url + ": " + lines.error());
    }
    if (cmd.json) {
        // Re-serialised rather than copied: one line even if the server pretty-prints.
        io.out << json::serialize(*value) << "\n";
    } else {
        io.out << format_dns_report(*lines, io.colour);
    }
    return dns_report_exit_code(*lines);
}

} // namespace stork::control
