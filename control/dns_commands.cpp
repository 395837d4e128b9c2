#include "control/dns_commands.hpp"

#include "config/timestamp.hpp"
#include "control/rules_commands.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <exception>
#include <stdexcept>

namespace stork::control {

namespace asio = boost::asio;

namespace {

std::string clock_text(std::chrono::sys_seconds t)
{
    return config::format_rfc3339(t).substr(11, 8);   // "12:00:05"
}

// What --watch compares between two checks: a new line only when one of these moved.
bool same_state(const dnscheck::report& a, const dnscheck::report& b)
{
    auto views = [](const dnscheck::report& r) {
        std::vector<std::pair<std::string, dnscheck::pointing>> out;
        for (const auto* list : {&r.authoritative, &r.resolvers}) {
            for (const auto& v : *list) {
                out.emplace_back(v.server + v.status, v.points_to);
            }
        }
        return out;
    };
    return a.outcome == b.outcome && a.points_to == b.points_to && a.problems == b.problems && views(a) == views(b);
}

void print(const dnscheck::report& r, const dns_check_command& cmd, const dns_io& io)
{
    if (cmd.json) {
        io.out << boost::json::serialize(dnscheck::to_json(r)) << "\n";
    } else {
        io.out << dnscheck::render_text(r, io.colour);
    }
    io.out.flush();
}

asio::awaitable<int> check_loop(dnscheck::advisor& advisor, const dns_check_command& cmd, const dns_io& io,
                                std::optional<std::chrono::sys_seconds> expires_at)
{
    std::optional<dnscheck::report> last;
    asio::steady_timer timer{co_await asio::this_coro::executor};
    for (;;) {
        auto request = check_request_of(cmd);
        request.rule_expires_at = expires_at;
        auto r = co_await advisor.check(std::move(request));
        const int code = exit_code_of(r);
        if (code == exit_error) {
            io.err << "stork: " << (r.problems.empty() ? "no DNS server answered" : r.problems.front()) << "\n";
        }
        if (!cmd.watch) {
            print(r, cmd, io);
            co_return code;
        }
        if (!last) {
            print(r, cmd, io);
        } else if (!same_state(*last, r)) {
            if (cmd.json) {
                print(r, cmd, io);
            } else {
                io.out << change_line(*last, r) << "\n";
                io.out.flush();
            }
        }
        if (code == exit_ok) {
            co_return code;
        }
        last = std::move(r);
        timer.expires_after(cmd.interval);
        co_await timer.async_wait(asio::use_awaitable);
    }
}

} // namespace

dnscheck::advisor_options advisor_options_of(const dns_check_command& cmd)
{
    dnscheck::advisor_options o;
    for (const auto& e : cmd.resolvers) {
        o.resolvers.push_back(e.to_string());
    }
    o.timeout = cmd.timeout;
    return o;
}

dnscheck::check_request check_request_of(const dns_check_command& cmd)
{
    dnscheck::check_request q;
    q.host = cmd.host;
    q.expect = cmd.expect;
    q.old = cmd.old;
    for (const auto& e : cmd.authoritative) {
        q.authoritative.push_back(e.to_string());
    }
    return q;
}

std::optional<std::chrono::sys_seconds> rule_expiry(const dns_check_command& cmd, const dns_io& io)
{
    if (!cmd.admin.url && !io.env("STORK_ADMIN")) {
        return std::nullopt;
    }
    const std::string skipped = " (the days left before the rule expires are not shown)";
    auto access = resolve_admin_access(cmd.admin, io.env);
    if (!access) {
        io.err << "stork: " << access.error() << skipped << "\n";
        return std::nullopt;
    }
    const admin_client client{*std::move(access), io.timeouts};
    const auto outcome = client.send(admin_method::get, rule_path(cmd.host));
    if (const auto* unreachable = std::get_if<admin_unreachable>(&outcome)) {
        io.err << "stork: " << unreachable->message << skipped << "\n";
        return std::nullopt;
    }
    const auto& reply = std::get<admin_reply>(outcome);
    if (reply.status == 404) {
        return std::nullopt;
    }
    boost::system::error_code ec;
    const auto body = boost::json::parse(reply.body, ec);
    const auto* rule = body.if_object();
    const auto* expires = rule != nullptr ? rule->if_contains("expires_at") : nullptr;
    if (reply.status != 200 || ec || expires == nullptr || !expires->is_string()) {
        io.err << "stork: the admin API answered " << reply.status << " " << reply.reason << " for the rule of "
               << cmd.host << skipped << "\n";
        return std::nullopt;
    }
    auto at = config::parse_rfc3339(expires->as_string());
    if (!at) {
        io.err << "stork: the rule's expires_at: " << at.error() << skipped << "\n";
        return std::nullopt;
    }
    return *at;
}

int exit_code_of(const dnscheck::report& r)
{
    if (r.no_server_answered) {
        return exit_error;
    }
    return r.outcome == dnscheck::verdict::ready ? exit_ok : exit_not_ready;
}

std::string change_line(const dnscheck::report& before, const dnscheck::report& now)
{
    std::string line = clock_text(now.checked_at) + " " + std::string{to_string(before.outcome)} + " -> " +
                       std::string{to_string(now.outcome)};
    if (!now.problems.empty()) {
        line += ": " + now.problems.front();
    } else if (!now.advice.empty()) {
        line += ": " + now.advice.front();
    }
    return line;
}

int run_dns_check(const dns_check_command& cmd, const dns_io& io)
{
    asio::io_context ctx;
    int code = exit_error;
    try {
        dnscheck::advisor advisor{ctx, advisor_options_of(cmd)};
        asio::co_spawn(ctx, check_loop(advisor, cmd, io, rule_expiry(cmd, io)), [&](std::exception_ptr e, int result) {
            if (e) {
                std::rethrow_exception(e);
            }
            code = result;
        });
        ctx.run();
    } catch (const std::exception& e) {
        io.err << "stork: dns check: " << e.what() << "\n";
        return exit_error;
    }
    return code;
}

} // namespace stork::control
