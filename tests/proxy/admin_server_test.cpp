#include "proxy/admin_server.hpp"

#include "tests/support/http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

namespace stork::proxy {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A real admin_server on 127.0.0.1:0 with its own io_context thread; stopped and joined
// in the destructor.
class running_admin_server {
public:
    explicit running_admin_server(admin_server::limits limits = {})
        : running_admin_server{[](const admin_request& r) -> admin_answer {
                                   return handle_admin_request(r, admin_context{"0123456789abcdef0123456789abcdef", true,
                                                                                [] { return std::string{"m 1\n"}; }});
                               },
                               limits}
    {
    }

    running_admin_server(admin_server::handler h, admin_server::limits limits)
        : server_{io_, config::endpoint{"127.0.0.1", 0, true}, std::move(h), limits}
    {
        server_.start();
        thread_ = std::thread{[this] { io_.run(); }};
    }

    ~running_admin_server()
    {
        boost::asio::post(io_, [this] { server_.stop(); });
        thread_.join();
    }

    std::uint16_t port() const { return server_.local_endpoint().port(); }
    boost::asio::io_context& io() { return io_; }

private:
    boost::asio::io_context io_{1};
    admin_server server_;
    std::thread thread_;
};

TEST(admin_server_loopback, serves_healthz_and_metrics)
{
    running_admin_server server;
    const auto health = test::http_request(server.port(), "GET", "/healthz");
    EXPECT_EQ(health.status, 200u);
    EXPECT_EQ(health.body, "ok\n");
    EXPECT_EQ(health.headers.at("cache-control"), "no-store");
    const auto metrics = test::http_request(server.port(), "GET", "/metrics");
    EXPECT_EQ(metrics.status, 200u);
    EXPECT_EQ(metrics.headers.at("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(metrics.body, "m 1\n");
}

TEST(admin_server_loopback, head_has_length_but_no_body)
{
    running_admin_server server;
    const std::string raw = test::raw_exchange(server.port(), "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_THAT(raw, StartsWith("HTTP/1.1 200 OK\r\n"));
    EXPECT_THAT(raw, HasSubstr("Content-Length: 3\r\n"));
    EXPECT_TRUE(raw.ends_with("\r\n\r\n")) << raw;
}

TEST(admin_server_loopback, keeps_the_connection_alive_and_answers_in_order)
{
    running_admin_server server;
    const std::string raw = test::raw_exchange(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                                              "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                                                              "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const auto first = raw.find("200 OK");
    const auto second = raw.find("404 Not Found");
    const auto third = raw.find("m 1\n");
    ASSERT_NE(first, std::string::npos) << raw;
    ASSERT_NE(second, std::string::npos) << raw;
    ASSERT_NE(third, std::string::npos) << raw;
    EXPECT_LT(first, second);
    EXPECT_LT(second, third);
}

TEST(admin_server_loopback, v1_without_token_is_401)
{
    running_admin_server server;
    const auto r = test::http_request(server.port(), "GET", "/v1/rules");
    EXPECT_EQ(r.status, 401u);
    EXPECT_EQ(r.headers.at("www-authenticate"), "Bearer realm=\"storkd\"");
    const auto ok = test::http_request(server.port(), "GET", "/v1/rules",
                                       {{"Authorization", "Bearer 0123456789abcdef0123456789abcdef"}});
    EXPECT_EQ(ok.status, 404u);
}

TEST(admin_server_loopback, malformed_request_gets_400_and_close)
{
    running_admin_server server;
    const std::string raw = test::raw_exchange(server.port(), "GET /healthz HTTP/1.1\r\nHost x\r\n\r\n");
    EXPECT_THAT(raw, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
    EXPECT_THAT(raw, HasSubstr("Connection: close"));
}

TEST(admin_server_loopback, oversized_body_gets_413)
{
    running_admin_server server{admin_server::limits{.header_bytes = 16 * 1024, .body_bytes = 1024,
                                                     .read_timeout = std::chrono::seconds{30}}};
    const std::string raw = test::raw_exchange(
        server.port(), "PUT /v1/rules/a HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + std::string(2000, 'x'));
    EXPECT_THAT(raw, StartsWith("HTTP/1.1 413 Payload Too Large\r\n"));
}

TEST(admin_server_loopback, oversized_header_gets_431)
{
    running_admin_server server{admin_server::limits{.header_bytes = 1024, .body_bytes = 1024,
                                                     .read_timeout = std::chrono::seconds{30}}};
    const std::string raw = test::raw_exchange(
        server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
    EXPECT_THAT(raw, StartsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
}

TEST(admin_server_loopback, idle_connection_is_closed_after_the_read_timeout)
{
    running_admin_server server{admin_server::limits{.header_bytes = 1024, .body_bytes = 1024,
                                                     .read_timeout = std::chrono::seconds{1}}};
    // Half a request, then silence (slowloris): the server closes without an answer.
    const auto started = std::chrono::steady_clock::now();
    const std::string raw = test::raw_exchange(server.port(), "GET /healthz HTTP/1.1\r\nHo");
    EXPECT_EQ(raw, "");
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds{9});
}

// A deferred answer that waits until /release is asked: the slow request stays open
// while other connections are served on the same (only) thread.
struct gate {
    boost::asio::steady_timer timer;
    bool open = false;
};

admin_deferred wait_for_gate(gate& g)
{
    while (!g.open) {
        g.timer.expires_after(std::chrono::seconds{30});
        co_await g.timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    co_return admin_response{200, "text/plain", "released\n", {}};
}

admin_deferred throw_later()
{
    co_await boost::asio::post(boost::asio::use_awaitable);
    throw std::runtime_error{"the advisor fell over"};
}

TEST(admin_server_loopback, a_deferred_answer_does_not_hold_up_other_connections)
{
    gate* g = nullptr;
    running_admin_server server{[&g](const admin_request& r) -> admin_answer {
                                    if (r.target == "/slow") {
                                        return wait_for_gate(*g);
                                    }
                                    if (r.target == "/throw") {
                                        return throw_later();
                                    }
                                    if (r.target == "/release") {
                                        g->open = true;
                                        g->timer.cancel();
                                    }
                                    return admin_response{200, "text/plain", "now\n", {}};
                                },
                                admin_server::limits{}};
    gate shared{boost::asio::steady_timer{server.io()}};
    g = &shared;

    test::http_reply slow;
    std::thread waiting{[&] { slow = test::http_request(server.port(), "GET", "/slow"); }};
    // Answered while /slow waits (the io_context has one thread).
    EXPECT_EQ(test::http_request(server.port(), "GET", "/other").body, "now\n");
    EXPECT_EQ(test::http_request(server.port(), "GET", "/release").body, "now\n");
    waiting.join();
    EXPECT_EQ(slow.status, 200u);
    EXPECT_EQ(slow.body, "released\n");

    const auto failed = test::http_request(server.port(), "GET", "/throw");
    EXPECT_EQ(failed.status, 500u);
    EXPECT_THAT(failed.body, HasSubstr("the advisor fell over"));
}

TEST(admin_server_loopback, bind_failure_names_the_address)
{
    running_admin_server first;
    boost::asio::io_context io;
    try {
        admin_server second{io, config::endpoint{"127.0.0.1", first.port(), true}, [](const admin_request&) {
                                return admin_response{};
                            }};
        FAIL() << "two listeners on one port";
    } catch (const boost::system::system_error& e) {
        EXPECT_THAT(e.what(), HasSubstr("admin listener 127.0.0.1:" + std::to_string(first.port())));
    }
}

} // namespace
} // namespace stork::proxy
