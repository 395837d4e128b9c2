#include "tests/control/scripted_http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace stork::test {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> serve(tcp::socket socket, scripted_http_server* server)
{
    beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    parser.body_limit(4 * 1024 * 1024);
    auto [read_error, read] = co_await http::async_read(socket, buffer, parser, use_tuple);
    (void)read;
    if (read_error) {
        co_return;
    }
    const auto& request = parser.get();
    recorded_request recorded{
        .method = std::string{request.method_string()},
        .target = std::string{request.target()},
        .authorization = std::string{request[http::field::authorization]},
        .content_type = std::string{request[http::field::content_type]},
        .host = std::string{request[http::field::host]},
        .body = request.body(),
    };
    const scripted_response scripted = server->next_response_for(std::move(recorded));
    if (scripted.silent) {
        // Holds the connection open until the server stops (the destructor).
        asio::steady_timer forever{socket.get_executor(), asio::steady_timer::time_point::max()};
        co_await forever.async_wait(use_tuple);
        co_return;
    }
    http::response<http::string_body> response{static_cast<http::status>(scripted.status), 11};
    if (!scripted.body.empty()) {
        response.set(http::field::content_type, scripted.content_type);
    }
    response.body() = scripted.body;
    response.keep_alive(false);
    response.prepare_payload();
    co_await http::async_write(socket, response, use_tuple);
    beast::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> accept_loop(tcp::acceptor* acceptor, scripted_http_server* server)
{
    while (true) {
        auto [error, socket] = co_await acceptor->async_accept(use_tuple);
        if (error) {
            co_return;
        }
        asio::co_spawn(acceptor->get_executor(), serve(std::move(socket), server), asio::detached);
    }
}

} // namespace

scripted_http_server::scripted_http_server()
    : acceptor_{io_, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}}
{
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, accept_loop(&acceptor_, this), asio::detached);
    thread_ = std::thread{[this] { io_.run(); }};
}

scripted_http_server::~scripted_http_server()
{
    io_.stop();
    thread_.join();
}

std::string scripted_http_server::url() const
{
    return "http://127.0.0.1:" + std::to_string(port_);
}

void scripted_http_server::answer(scripted_response response)
{
    const std::lock_guard lock{mutex_};
    script_.push_back(std::move(response));
}

void scripted_http_server::answer(unsigned status, std::string body)
{
    answer(scripted_response{.status = status, .body = std::move(body)});
}

std::vector<recorded_request> scripted_http_server::requests() const
{
    const std::lock_guard lock{mutex_};
    return requests_;
}

scripted_response scripted_http_server::next_response_for(recorded_request request)
{
    const std::lock_guard lock{mutex_};
    requests_.push_back(std::move(request));
    if (script_.empty()) {
        return scripted_response{.status = 500, .body = R"({"error": "the test scripted no answer"})"};
    }
    scripted_response next = std::move(script_.front());
    script_.pop_front();
    return next;
}

} // namespace stork::test
