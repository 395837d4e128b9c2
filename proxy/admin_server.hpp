#pragma once

#include "config/endpoint.hpp"
#include "proxy/admin_handler.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <functional>
#include <unordered_set>

namespace stork::proxy {

// The HTTP/1.1 server of the admin API: keep-alive, a header and a body limit, a read
// timeout. It lives on one io_context (storkd's control thread), so it needs no locks.
// Requests go to a handler that returns plain data (admin_handler.hpp), now or, for the
// slow endpoints, as a coroutine awaited on the connection's own coroutine: one
// connection waits, the others and the control thread do not. Requests on one
// connection are answered in order, one at a time.
class admin_server {
public:
    // A handler that returns admin_response converts to this.
    using handler = std::function<admin_answer(const admin_request&)>;

    struct limits {
        std::size_t header_bytes = 16 * 1024;
        std::size_t body_bytes = 1024 * 1024;          // issue 3: 413 above 1 MiB
        std::chrono::seconds read_timeout{30};         // a whole request, or an idle keep-alive
    };

    // Binds and listens before it returns (throws boost::system::system_error naming the
    // address on failure), so local_endpoint() is known, even for port 0.
    admin_server(boost::asio::io_context& io, const config::endpoint& listen, handler h, limits l);
    admin_server(boost::asio::io_context& io, const config::endpoint& listen, handler h)
        : admin_server(io, listen, std::move(h), limits{})
    {
    }
    admin_server(const admin_server&) = delete;
    admin_server& operator=(const admin_server&) = delete;

    boost::asio::ip::tcp::endpoint local_endpoint() const;

    void start();
    // Stops accepting and closes every connection; the coroutines end at their next
    // suspension point. The server must outlive the io_context's run() that follows.
    void stop();

private:
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> serve_connection(boost::asio::ip::tcp::socket socket);
    // The handler's answer, awaited when it is deferred. `request` views the parser's
    // buffers, which outlive the call (serve_connection holds them).
    boost::asio::awaitable<admin_response> answer(admin_request request);

    boost::asio::io_context& io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    handler handler_;
    limits limits_;
    std::unordered_set<boost::beast::tcp_stream*> connections_;
    bool stopped_ = false;
};

} // namespace stork::proxy
