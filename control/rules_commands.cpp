#include "control/rules_commands.hpp"

#include "config/duration.hpp"
#include "config/printable.hpp"
#include "control/rule_json.hpp"
#include "control/rules_view.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

namespace stork::control {

namespace {

namespace json = boost::json;

template <class... Ts>
struct overloaded : Ts... {
    using Ts::operator()...;
};
// C++20 deduces this for aggregates, but clang 14 does not implement that yet.
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

int fail(const rules_io& io, const std::string& message)
{
    io.err << "stork: " << message << "\n";
    return exit_error;
}

struct answered {
    admin_reply reply;
    std::string url;  // printable, for messages
};

// Resolves the admin API and makes the call; prints why not and answers nothing when
// there is no HTTP answer to look at.
std::optional<answered> call(const admin_options& options, const rules_io& io, admin_method method,
                             const std::string& target, const std::string& body = {})
{
    auto access = resolve_admin_access(options, io.env);
    if (!access) {
        fail(io, access.error());
        return std::nullopt;
    }
    const admin_client client{*std::move(access), io.timeouts};
    admin_outcome outcome = client.send(method, target, body);
    if (auto* unreachable = std::get_if<admin_unreachable>(&outcome)) {
        fail(io, unreachable->message);
        return std::nullopt;
    }
    return answered{std::get<admin_reply>(std::move(outcome)), config::printable(client.url().text)};
}

std::string status_line(const admin_reply& reply)
{
    return std::to_string(reply.status) + (reply.reason.empty() ? "" : " " + config::printable(reply.reason));
}

// What the server says went wrong: its {"error": ...}, else the start of its body.
std::string server_text(const admin_reply& reply, const api_error& e)
{
    if (!e.error.empty()) {
        return config::printable(e.error, 300);
    }
    std::string_view body = reply.body;
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == ' ')) {
        body.remove_suffix(1);
    }
    return config::printable(body, 200);
}

// The one line for an HTTP answer that is not the one hoped for. `subject` is what was
// sent: "the rule" for add, "the request" otherwise.
std::string refusal(const admin_reply& reply, std::string_view subject)
{
    const api_error e = api_error_from_body(reply.body);
    const std::string text = server_text(reply, e);
    switch (reply.status) {
    case 401:
        return "the admin API refused the token: check --token-file or STORK_TOKEN";
    case 400: {
        std::string message =
            "storkd refused " + std::string{subject} + ": " + (text.empty() ? status_line(reply) : text);
        if (!e.field.empty()) {
            message += " (field " + config::printable(e.field) + ")";
        }
        return message;
    }
    case 413:
        return "storkd refused " + std::string{subject} + ": it is larger than the admin API accepts (" +
               status_line(reply) + ", the limit is 1 MiB)";
    default:
        return "the admin API answered " + status_line(reply) + (text.empty() ? "" : ": " + text);
    }
}

std::string unexpected(const answered& a, const std::string& why)
{
    return "unexpected answer from the admin API at " + a.url + " (" + status_line(a.reply) + "): " + why;
}

bool is_success(const admin_reply& reply)
{
    return reply.status >= 200 && reply.status < 300;
}

// "ran fine, the answer is no" (exit 1). stdout carries only the answer in the format
// asked for; with --json there is no JSON to give, so the note goes to stderr.
int no_rule(const rules_io& io, std::string_view host, bool json_mode)
{
    const std::string line = "no rule for " + config::printable(host, 256);
    if (json_mode) {
        io.err << "stork: " << line << "\n";
    } else {
        io.out << line << "\n";
    }
    return exit_not_ready;
}

// A rule answer (GET, PUT): a JSON object with a host and a target.
config::parsed<json::object> rule_answer(const admin_reply& reply)
{
    auto value = parse_answer(reply.body);
    if (!value) {
        return config::invalid{value.error()};
    }
    if (auto row = rule_row_from_json(*value); !row) {
        return config::invalid{row.error()};
    }
    return value->get_object();
}

// The JSON body of an answer that must be 200 (list, purge); nothing, once the user has
// been told why, when the status or the body is not that.
std::optional<json::value> json_of_200(const answered& a, const rules_io& io, const std::string& expecting)
{
    if (a.reply.status != 200) {
        fail(io, is_success(a.reply) ? unexpected(a, expecting) : refusal(a.reply, "the request"));
        return std::nullopt;
    }
    auto value = parse_answer(a.reply.body);
    if (!value) {
        fail(io, unexpected(a, value.error()));
        return std::nullopt;
    }
    return *std::move(value);
}

std::string plural(std::size_t n, std::string_view one, std::string_view many)
{
    return std::to_string(n) + " " + std::string{n == 1 ? one : many};
}

} // namespace

std::string rule_path(std::string_view host)
{
    return "/v1/rules/" + percent_encode(host);
}

std::string rules_list_target(const rules_list_command& cmd)
{
    std::string query;
    const auto add = [&](std::string_view key, std::string_view value) {
        query += (query.empty() ? "?" : "&") + std::string{key} + "=" + percent_encode(value);
    };
    if (cmd.app) {
        add("app", *cmd.app);
    }
    if (cmd.migration) {
        add("migration", *cmd.migration);
    }
    if (cmd.expired) {
        add("expired", *cmd.expired ? "true" : "false");
    }
    return "/v1/rules" + query;
}

std::string rules_purge_target(const rules_purge_command& cmd)
{
    // The duration syntax of design.md §2 ("7d"), which the server reads back exactly.
    return "/v1/rules?expired_for=" + percent_encode(config::format_duration(cmd.expired_for));
}

int run_rules_list(const rules_list_command& cmd, const rules_io& io)
{
    const auto a = call(cmd.admin, io, admin_method::get, rules_list_target(cmd));
    if (!a) {
        return exit_error;
    }
    const auto value = json_of_200(*a, io, "expected 200 and a list of rules");
    if (!value) {
        return exit_error;
    }
    auto rows = rule_rows_from_list(*value);
    if (!rows) {
        return fail(io, unexpected(*a, rows.error()));
    }
    if (cmd.json) {
        // Re-serialised rather than copied: one line even if the server pretty-prints.
        io.out << json::serialize(*value) << "\n";
        return exit_ok;
    }
    if (rows->empty()) {
        const bool filtered = cmd.app || cmd.migration || cmd.expired;
        io.out << (filtered ? "no rules match\n" : "no rules\n");
        return exit_ok;
    }
    io.out << format_rules_table(*std::move(rows), io.now);
    return exit_ok;
}

int run_rules_get(const rules_get_command& cmd, const rules_io& io)
{
    const auto a = call(cmd.admin, io, admin_method::get, rule_path(cmd.host));
    if (!a) {
        return exit_error;
    }
    if (a->reply.status == 404) {
        return no_rule(io, cmd.host, cmd.json);
    }
    if (a->reply.status != 200) {
        return fail(io, is_success(a->reply) ? unexpected(*a, "expected 200 and the rule")
                                             : refusal(a->reply, "the request"));
    }
    auto rule = rule_answer(a->reply);
    if (!rule) {
        return fail(io, unexpected(*a, rule.error()));
    }
    if (cmd.json) {
        io.out << json::serialize(*rule) << "\n";
    } else {
        io.out << format_rule_details(*rule, io.now);
    }
    return exit_ok;
}

int run_rules_add(const rules_add_command& cmd, const rules_io& io)
{
    const std::string body = json::serialize(rule_body(cmd, io.now));
    const auto a = call(cmd.admin, io, admin_method::put, rule_path(cmd.host), body);
    if (!a) {
        return exit_error;
    }
    if (a->reply.status != 200 && a->reply.status != 201) {
        return fail(io, is_success(a->reply) ? unexpected(*a, "expected 201 or 200 and the stored rule")
                                             : refusal(a->reply, "the rule"));
    }
    auto rule = rule_answer(a->reply);
    if (!rule) {
        return fail(io, unexpected(*a, rule.error()));
    }
    if (cmd.json) {
        io.out << json::serialize(*rule) << "\n";
    } else {
        io.out << (a->reply.status == 201 ? "created " : "replaced ") << config::printable(cmd.host, 256) << "\n"
               << format_rule_details(*rule, io.now);
    }
    return exit_ok;
}

int run_rules_remove(const rules_remove_command& cmd, const rules_io& io)
{
    const auto a = call(cmd.admin, io, admin_method::del, rule_path(cmd.host));
    if (!a) {
        return exit_error;
    }
    if (a->reply.status == 404) {
        return no_rule(io, cmd.host, false);
    }
    // 204 is the contract; any 2xx means the same, and its body has nothing to add.
    if (!is_success(a->reply)) {
        return fail(io, refusal(a->reply, "the request"));
    }
    io.out << "removed " << config::printable(cmd.host, 256) << "\n";
    return exit_ok;
}

int run_rules_purge(const rules_purge_command& cmd, const rules_io& io)
{
    const auto a = call(cmd.admin, io, admin_method::del, rules_purge_target(cmd));
    if (!a) {
        return exit_error;
    }
    const auto value = json_of_200(*a, io, "expected 200 and the purged hosts");
    if (!value) {
        return exit_error;
    }
    auto hosts = purged_hosts_from_json(*value);
    if (!hosts) {
        return fail(io, unexpected(*a, hosts.error()));
    }
    if (cmd.json) {
        io.out << json::serialize(*value) << "\n";
        return exit_ok;
    }
    std::vector<std::string> purged = *std::move(hosts);
    std::sort(purged.begin(), purged.end());
    for (const std::string& host : purged) {
        io.out << config::printable(host, 256) << "\n";
    }
    if (cmd.expired_for.count() == 0) {
        io.out << "purged " << plural(purged.size(), "expired rule", "expired rules") << "\n";
    } else {
        io.out << "purged " << plural(purged.size(), "rule", "rules") << " expired for "
               << config::format_duration(cmd.expired_for) << " or more\n";
    }
    return exit_ok;
}

int run_rules_command(const rules_command& cmd, const rules_io& io)
{
    return std::visit(overloaded{
                          [&](const rules_list_command& c) { return run_rules_list(c, io); },
                          [&](const rules_get_command& c) { return run_rules_get(c, io); },
                          [&](const rules_add_command& c) { return run_rules_add(c, io); },
                          [&](const rules_remove_command& c) { return run_rules_remove(c, io); },
                          [&](const rules_purge_command& c) { return run_rules_purge(c, io); },
                      },
                      cmd);
}

} // namespace stork::control
