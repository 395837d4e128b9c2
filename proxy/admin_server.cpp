#include "proxy/admin_server.hpp"

#include "proxy/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <array>

namespace stork::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

tcp::acceptor open_acceptor(asio::io_context& io, const config::endpoint& listen)
{
    const tcp::endpoint where{asio::ip::make_address(listen.host), listen.port};
    tcp::acceptor acceptor{io};
    try {
        acceptor.open(where.protocol());
        acceptor.set_option(asio::socket_base::reuse_address(true));
        acceptor.bind(where);
        acceptor.listen();
    } catch (const boost::system::system_error& e) {
        throw boost::system::system_error{e.code(), "admin listener " + listen.to_string()};
    }
    return acceptor;
}

http::response<http::string_body> to_http(admin_response r, const http::request<http::string_body>& request)
{
    http::response<http::string_body> response{static_cast<http::status>(r.status), request.version()};
    response.set(http::field::server, "storkd");
    response.set(http::field::content_type, r.content_type);
    response.set(http::field::cache_control, "no-store");
    for (auto& [name, value] : r.headers) {
        response.set(name, value);
    }
    response.body() = std::move(r.body);
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    return response;
}

http::response<http::string_body> error_response(http::status status, std::string_view text)
{
    http::response<http::string_body> response{status, 11};
    response.set(http::field::server, "storkd");
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = std::string{text} + "\n";
    response.keep_alive(false);
    response.prepare_payload();
    return response;
}

// Closing right after an early answer (413 while the client still sends its body) would
// make the kernel reset the connection, and the client could lose the answer before
// reading it. So: stop sending, then read and discard what still comes, for a while
// (nginx's "lingering close").
asio::awaitable<void> linger(beast::tcp_stream& stream)
{
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(std::chrono::seconds{5});
    std::array<char, 16 * 1024> sink;
    std::size_t discarded = 0;
    while (discarded < 8 * 1024 * 1024) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_nothrow);
        if (ec) {
            break;
        }
        discarded += n;
    }
}

} // namespace

admin_server::admin_server(asio::io_context& io, const config::endpoint& listen, handler h, limits l)
    : io_{io}, acceptor_{open_acceptor(io, listen)}, handler_{std::move(h)}, limits_{l}
{
}

tcp::endpoint admin_server::local_endpoint() const
{
    return acceptor_.local_endpoint();
}

void admin_server::start()
{
    asio::co_spawn(io_, accept_loop(), asio::detached);
}

void admin_server::stop()
{
    stopped_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (beast::tcp_stream* stream : connections_) {
        stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream->close();
    }
}

asio::awaitable<void> admin_server::accept_loop()
{
    while (!stopped_) {
        auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
        if (ec) {
            if (ec == asio::error::operation_aborted || stopped_) {
                co_return;
            }
            // EMFILE and friends: log and go on; the listener must not die of them.
            log_warning("admin: accept failed: " + ec.message());
            continue;
        }
        asio::co_spawn(io_, serve_connection(std::move(socket)), asio::detached);
    }
}

asio::awaitable<admin_response> admin_server::answer(admin_request request)
{
    admin_answer answer = handler_(request);
    if (auto* now = std::get_if<admin_response>(&answer)) {
        co_return std::move(*now);
    }
    // A deferred answer that throws would end the connection without a word (its
    // coroutine is detached): the client gets a 500 that says why, and the log too.
    std::string failure;
    try {
        co_return co_await std::get<admin_deferred>(std::move(answer));
    } catch (const std::exception& e) {
        failure = e.what();
    }
    log_error("admin: " + std::string{request.method} + " " + std::string{request.target} + ": " + failure);
    co_return routing::json_error(500, "internal error: " + failure);
}

asio::awaitable<void> admin_server::serve_connection(tcp::socket socket)
{
    beast::tcp_stream stream{std::move(socket)};
    connections_.insert(&stream);
    struct unregister {
        admin_server* server;
        beast::tcp_stream* stream;
        ~unregister() { server->connections_.erase(stream); }
    } guard{this, &stream};

    beast::flat_buffer buffer;
    while (!stopped_) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits_.header_bytes));
        parser.body_limit(limits_.body_bytes);
        stream.expires_after(limits_.read_timeout);
        auto [ec, bytes] = co_await http::async_read(stream, buffer, parser, use_nothrow);
        (void)bytes;
        if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted) {
            break;
        }
        if (ec) {
            // Tell the client why before closing: a silent close hides mistakes.
            http::status status = http::status::bad_request;
            if (ec == http::error::body_limit) {
                status = http::status::payload_too_large;
            } else if (ec == http::error::header_limit) {
                status = http::status::request_header_fields_too_large;
            }
            auto response = error_response(status, ec.message());
            stream.expires_after(std::chrono::seconds{5});
            auto [write_ec, written] = co_await http::async_write(stream, response, use_nothrow);
            (void)written;
            if (!write_ec) {
                co_await linger(stream);
            }
            co_return;
        }
        const auto& request = parser.get();
        const admin_request plain{
            request.method_string(),
            request.target(),
            request[http::field::authorization],
            request.body(),
        };
        auto response = to_http(co_await answer(plain), request);
        if (request.method() == http::verb::head) {
            // Same headers as GET, Content-Length included, and no body (RFC 9110 §9.3.2).
            http::response<http::empty_body> head{response.result(), response.version()};
            for (const auto& field : response.base()) {
                head.set(field.name_string(), field.value());
            }
            stream.expires_after(limits_.read_timeout);
            auto [write_ec, written] = co_await http::async_write(stream, head, use_nothrow);
            (void)written;
            if (write_ec || !response.keep_alive()) {
                break;
            }
            continue;
        }
        stream.expires_after(limits_.read_timeout);
        auto [write_ec, written] = co_await http::async_write(stream, response, use_nothrow);
        (void)written;
        if (write_ec || !response.keep_alive()) {
            break;
        }
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

} // namespace stork::proxy
