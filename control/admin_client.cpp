#include "control/admin_client.hpp"

#include "config/duration.hpp"
#include "config/printable.hpp"
#include "stork/version.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <exception>
#include <optional>
#include <utility>

namespace stork::control {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// `rules list` of a large fleet may be big; this only stops a runaway answer.
constexpr std::uint64_t max_answer_body = 64 * 1024 * 1024;

// Everything one exchange needs, owned by the coroutine (parameters by value, style.md).
struct exchange_plan {
    admin_url url;
    std::string token;
    http::verb method;
    std::string target;
    std::string body;
    admin_timeouts timeouts;
};

std::string cannot_reach(const exchange_plan& plan, const std::string& why)
{
    return "cannot reach the admin API at " + config::printable(plan.url.text) + ": " + why;
}

std::string no_answer(const exchange_plan& plan, const std::string& why)
{
    return "the admin API at " + config::printable(plan.url.text) + " " + why;
}

http::request<http::string_body> request_of(const exchange_plan& plan)
{
    http::request<http::string_body> request{plan.method, plan.target, 11};
    request.set(http::field::host, plan.url.authority());
    request.set(http::field::authorization, "Bearer " + plan.token);
    request.set(http::field::user_agent, std::string{"stork/"} + stork::version);
    request.set(http::field::accept, "application/json");
    if (plan.method == http::verb::put) {
        request.set(http::field::content_type, "application/json");
        request.body() = plan.body;
    }
    // One request per connection: the CLI exits right after.
    request.keep_alive(false);
    request.prepare_payload();
    return request;
}

// The phases of one call, in order: resolve → connect → write → read.
asio::awaitable<admin_outcome> exchange(exchange_plan plan)
{
    const auto executor = co_await asio::this_coro::executor;
    const clock_type::time_point start = clock_type::now();
    const clock_type::time_point deadline = start + plan.timeouts.total;
    const clock_type::time_point connect_deadline = std::min(deadline, start + plan.timeouts.connect);

    // Resolve. An IP literal resolves without asking anyone (numeric_host). A name goes
    // through getaddrinfo, which Asio cannot interrupt: its own timeouts (resolv.conf)
    // bound that step, and the deadline is checked right after it.
    tcp::resolver resolver{executor};
    const auto flags = plan.url.host_is_ip ? tcp::resolver::numeric_host | tcp::resolver::numeric_service
                                           : tcp::resolver::numeric_service;
    auto [resolve_error, endpoints] =
        co_await resolver.async_resolve(plan.url.host, std::to_string(plan.url.port), flags, use_tuple);
    if (resolve_error) {
        co_return admin_unreachable{
            cannot_reach(plan, "cannot resolve " + config::printable(plan.url.host) + " (" + resolve_error.message() + ")")};
    }
    if (clock_type::now() >= connect_deadline) {
        co_return admin_unreachable{cannot_reach(plan, "resolving " + config::printable(plan.url.host) +
                                                           " took longer than " +
                                                           config::format_duration(plan.timeouts.connect))};
    }

    // Connect, trying each address in turn within one deadline.
    beast::tcp_stream stream{executor};
    stream.expires_at(connect_deadline);
    auto [connect_error, connected] = co_await stream.async_connect(endpoints, use_tuple);
    (void)connected;
    if (connect_error == beast::error::timeout) {
        co_return admin_unreachable{
            cannot_reach(plan, "no connection within " + config::format_duration(plan.timeouts.connect))};
    }
    if (connect_error == asio::error::connection_refused) {
        // The one failure with an obvious first thing to check.
        co_return admin_unreachable{cannot_reach(plan, connect_error.message() + " \u2014 is storkd running?")};
    }
    if (connect_error) {
        co_return admin_unreachable{cannot_reach(plan, connect_error.message())};
    }

    // Write. A server may answer early and close while the body is still going out (a 413
    // for a body over its limit): a failed write is only final when no answer follows.
    stream.expires_at(deadline);
    http::request<http::string_body> request = request_of(plan);
    auto [write_error, written] = co_await http::async_write(stream, request, use_tuple);
    (void)written;
    if (write_error == beast::error::timeout) {
        co_return admin_unreachable{
            no_answer(plan, "did not answer within " + config::format_duration(plan.timeouts.total))};
    }

    // Read.
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_answer_body);
    auto [read_error, read] = co_await http::async_read(stream, buffer, parser, use_tuple);
    (void)read;
    if (read_error) {
        if (read_error == beast::error::timeout) {
            co_return admin_unreachable{
                no_answer(plan, "did not answer within " + config::format_duration(plan.timeouts.total))};
        }
        if (write_error) {
            co_return admin_unreachable{
                no_answer(plan, "closed the connection while the request was sent (" + write_error.message() + ")")};
        }
        if (read_error == http::error::end_of_stream || read_error == asio::error::connection_reset ||
            read_error == asio::error::eof) {
            co_return admin_unreachable{no_answer(plan, "closed the connection without answering")};
        }
        if (read_error == http::error::body_limit) {
            co_return admin_unreachable{no_answer(plan, "sent an answer larger than 64 MiB")};
        }
        if (read_error.category() == beast::error_code{http::error::end_of_stream}.category()) {
            co_return admin_unreachable{
                no_answer(plan, "answered something that is not HTTP/1.1 (" + read_error.message() + ")")};
        }
        co_return admin_unreachable{no_answer(plan, "failed while answering (" + read_error.message() + ")")};
    }

    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

    const auto& response = parser.get();
    admin_reply reply;
    reply.status = response.result_int();
    reply.reason = std::string{response.reason()};
    if (reply.reason.empty()) {
        reply.reason = std::string{http::obsolete_reason(response.result())};
    }
    reply.body = response.body();
    co_return reply;
}

http::verb verb_of(admin_method method)
{
    switch (method) {
    case admin_method::get:
        return http::verb::get;
    case admin_method::put:
        return http::verb::put;
    case admin_method::del:
        return http::verb::delete_;
    }
    std::terminate();  // every method has a case
}

} // namespace

admin_client::admin_client(admin_access access, admin_timeouts timeouts)
    : access_{std::move(access)}, timeouts_{timeouts}
{
}

admin_outcome admin_client::send(admin_method method, const std::string& target, const std::string& body) const
{
    asio::io_context io{1};
    std::optional<admin_outcome> result;
    std::exception_ptr failure;
    asio::co_spawn(io,
                   exchange(exchange_plan{.url = access_.url,
                                          .token = access_.token,
                                          .method = verb_of(method),
                                          .target = target,
                                          .body = body,
                                          .timeouts = timeouts_}),
                   [&](std::exception_ptr e, admin_outcome outcome) {
                       if (e) {
                           failure = e;
                       } else {
                           result = std::move(outcome);
                       }
                   });
    io.run();
    if (failure) {
        std::rethrow_exception(failure);
    }
    return *std::move(result);
}

std::string percent_encode(std::string_view text)
{
    constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                                c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 0x0f];
        }
    }
    return out;
}

} // namespace stork::control
