// The data plane's small parts, without a storkd process: canned answers, the buffer,
// the upstream pool on real loopback sockets.
#include "proxy/byte_buffer.hpp"
#include "proxy/local_pages.hpp"
#include "proxy/upstream_pool.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace stork::proxy {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

TEST(local_pages, redirect_location_keeps_path_and_query)
{
    struct row {
        std::string_view request_target;
        std::string_view expected;
    };
    const row rows[] = {
        {"/", "https://new.example/"},
        {"/a/b?c=d&e", "https://new.example/a/b?c=d&e"},
        {"*", "https://new.example/"},
        {"http://old.example/x?y", "https://new.example/x?y"},
        {"http://old.example", "https://new.example/"},
        {"http://old.example?q", "https://new.example/?q"},
        {"weird", "https://new.example/"},
    };
    for (const auto& r : rows) {
        EXPECT_EQ(redirect_location("new.example", r.request_target), r.expected) << r.request_target;
    }
}

TEST(local_pages, expired_page_names_host_and_target_escaped)
{
    const std::string page = expired_page("shop.example.com", "shop.new<region>.example");
    EXPECT_NE(page.find("shop.example.com"), std::string::npos);
    EXPECT_NE(page.find("must point to <b>shop.new&lt;region&gt;.example</b>"), std::string::npos);
    EXPECT_EQ(page.find("<region>"), std::string::npos);
}

TEST(local_pages, render_response_is_a_complete_message)
{
    std::string out;
    render_response(out, 404, reason_phrase(404), "X-A: 1\r\n", "text/plain", "gone\n", true);
    EXPECT_EQ(out, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-A: 1\r\n"
                   "Connection: close\r\n\r\ngone\n");
}

TEST(byte_buffer, grows_to_its_cap_compacts_and_returns_blocks)
{
    block_pool pool{8, 4};
    {
        byte_buffer b{pool, 32};
        auto room = b.prepare();
        ASSERT_EQ(room.size(), 8u);
        std::memcpy(room.data(), "abcdefgh", 8);
        b.commit(8);
        b.consume(3);
        room = b.prepare(); // full at the end: compacts rather than grows
        EXPECT_EQ(b.capacity(), 8u);
        EXPECT_EQ(room.size(), 3u);
        EXPECT_EQ(b.data(), "defgh");
        std::memcpy(room.data(), "ijk", 3);
        b.commit(3);
        room = b.prepare(); // full from the start: grows
        EXPECT_EQ(b.capacity(), 16u);
        EXPECT_EQ(b.data(), "defghijk");
        b.commit(room.size());
        b.prepare();
        b.commit(16);
        EXPECT_EQ(b.capacity(), 32u);
        EXPECT_EQ(b.prepare().size(), 0u); // at the cap
        b.consume(b.size());
        b.release_if_empty();
        EXPECT_EQ(b.capacity(), 0u);
    }
    // The first 8-byte block went back when the buffer grew; the 32-byte one was freed.
    EXPECT_EQ(pool.spare(), 1u);
    byte_buffer again{pool, 32};
    again.prepare();
    EXPECT_EQ(pool.spare(), 0u);
}

// A listening socket whose accepted connections the test can close.
struct upstream_server {
    explicit upstream_server(asio::io_context& context) : acceptor{context, {asio::ip::make_address("127.0.0.1"), 0}} {}

    tcp::acceptor acceptor;
    std::vector<tcp::socket> accepted;

    tcp::endpoint endpoint() const { return acceptor.local_endpoint(); }
    void accept_one() { accepted.push_back(acceptor.accept()); }
};

std::shared_ptr<upstream_connection> connect(asio::io_context& io, const upstream_key& key)
{
    auto c = std::make_shared<upstream_connection>(io.get_executor(), key);
    c->socket.connect(key.address);
    return c;
}

TEST(upstream_pool_loopback, reuses_the_last_connection_put_back_per_key)
{
    asio::io_context io;
    upstream_server server{io};
    int idle = 0;
    upstream_pool pool{[&](int d) { idle += d; }};
    const upstream_key key{server.endpoint(), false, ""};
    const upstream_key other{server.endpoint(), true, "a.example"};

    auto first = connect(io, key);
    server.accept_one();
    auto second = connect(io, key);
    server.accept_one();
    EXPECT_EQ(pool.take(key), nullptr);
    pool.put(first, 8);
    pool.put(second, 8);
    EXPECT_EQ(idle, 2);
    EXPECT_EQ(pool.take(other), nullptr); // TLS and SNI are part of the key
    EXPECT_EQ(pool.take(key), second);    // LIFO
    EXPECT_EQ(pool.take(key), first);
    EXPECT_EQ(pool.take(key), nullptr);
    EXPECT_EQ(idle, 0);
}

TEST(upstream_pool_loopback, caps_idle_connections_per_key)
{
    asio::io_context io;
    upstream_server server{io};
    upstream_pool pool;
    const upstream_key key{server.endpoint(), false, ""};
    std::vector<std::shared_ptr<upstream_connection>> conns;
    for (int i = 0; i < 3; ++i) {
        conns.push_back(connect(io, key));
        server.accept_one();
    }
    for (auto& c : conns) {
        pool.put(c, 2);
    }
    EXPECT_EQ(pool.idle(), 2u);
    EXPECT_FALSE(conns[2]->socket.is_open()); // over the cap: closed
    pool.put(connect(io, key), 0);            // 0 disables pooling
    server.accept_one();
    EXPECT_EQ(pool.idle(), 2u);
}

TEST(upstream_pool_loopback, a_watched_connection_closed_by_the_upstream_leaves_the_pool)
{
    asio::io_context io;
    upstream_server server{io};
    upstream_pool pool;
    const upstream_key key{server.endpoint(), false, ""};
    auto c = connect(io, key);
    server.accept_one();
    pool.put(c, 8);
    pool.watch_idle();
    server.accepted.front().close(); // the upstream's keep-alive timeout
    for (int i = 0; i < 1000 && pool.idle() > 0; ++i) {
        io.run_one_for(std::chrono::milliseconds{10});
    }
    EXPECT_EQ(pool.idle(), 0u);
    EXPECT_EQ(pool.take(key), nullptr);
    EXPECT_FALSE(c->socket.is_open());
}

TEST(upstream_pool_loopback, a_connection_taken_after_its_watch_was_armed_is_usable)
{
    asio::io_context io;
    upstream_server server{io};
    upstream_pool pool;
    const upstream_key key{server.endpoint(), false, ""};
    auto c = connect(io, key);
    server.accept_one();
    pool.put(c, 8);
    pool.watch_idle();
    auto taken = pool.take(key);
    ASSERT_EQ(taken, c);
    io.poll(); // the cancelled watch completes and must leave the connection alone
    EXPECT_TRUE(c->socket.is_open());
    asio::write(server.accepted.front(), asio::buffer(std::string_view{"x"}));
    char byte = 0;
    EXPECT_EQ(c->socket.read_some(asio::buffer(&byte, 1)), 1u);
    EXPECT_EQ(byte, 'x');
}

TEST(upstream_pool_loopback, evicts_connections_idle_too_long)
{
    asio::io_context io;
    upstream_server server{io};
    upstream_pool pool;
    const upstream_key key{server.endpoint(), false, ""};
    auto old_one = connect(io, key);
    server.accept_one();
    pool.put(old_one, 8);
    const auto cutoff = std::chrono::steady_clock::now() + std::chrono::milliseconds{1};
    auto fresh = connect(io, key);
    server.accept_one();
    while (std::chrono::steady_clock::now() <= cutoff) {
    }
    pool.put(fresh, 8);
    pool.evict_idle_before(cutoff);
    EXPECT_EQ(pool.idle(), 1u);
    EXPECT_FALSE(old_one->socket.is_open());
    EXPECT_EQ(pool.take(key), fresh);
}

} // namespace
} // namespace stork::proxy
