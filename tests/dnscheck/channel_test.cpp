#include "dnscheck/channel.hpp"

#include "tests/dnscheck/knot_fixture.hpp"

#include <ares.h>

#include <arpa/nameser.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>

namespace {

namespace dns = stork::dnscheck;
using namespace std::chrono_literals;

std::uint16_t u16(std::span<const unsigned char> m, std::size_t at)
{
    return static_cast<std::uint16_t>(m[at] << 8 | m[at + 1]);
}

// Runs `io` until `done()` or `limit`; false when the time ran out.
template <typename Predicate>
bool run_until(boost::asio::io_context& io, Predicate done, std::chrono::milliseconds limit = 10s)
{
    io.restart();
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline || io.run_one_until(deadline) == 0) {
            return done();
        }
    }
    return true;
}

// A UDP port that is bound but never answers: c-ares sees a timeout.
struct silent_server {
    explicit silent_server(boost::asio::io_context& io)
        : socket{io, boost::asio::ip::udp::endpoint{boost::asio::ip::make_address("127.0.0.1"), 0}}
    {
    }
    std::string server() const { return "127.0.0.1:" + std::to_string(socket.local_endpoint().port()); }
    boost::asio::ip::udp::socket socket;
};

TEST(channel, rejects_server_lists_that_are_not_ip_literals)
{
    boost::asio::io_context io{1};
    EXPECT_THROW((dns::channel{io, {.servers = {"dns.example:53"}}}), std::invalid_argument);
    EXPECT_NO_THROW((dns::channel{io, {.servers = {"127.0.0.1:5353", "[::1]:53", "192.0.2.1"}}}));
    EXPECT_NO_THROW((dns::channel{io, {}})) << "resolv.conf";
}

TEST(channel, a_malformed_name_fails_inline)
{
    boost::asio::io_context io{1};
    dns::channel ch{io, {.servers = {"127.0.0.1:1"}}};
    std::optional<boost::system::error_code> got;
    ch.query(std::string(300, 'a'), ns_t_a, [&](boost::system::error_code ec, std::span<const unsigned char>) { got = ec; });
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, dns::make_ares_error(ARES_EBADNAME));
    EXPECT_EQ(ch.pending(), 0u);
}

class channel_process : public ::testing::Test {
protected:
    stork::dnscheck::test::knot_server knot_;
    boost::asio::io_context io_{1};
};

TEST_F(channel_process, hands_over_the_raw_answer)
{
    dns::channel ch{io_, {.servers = {knot_.server()}, .timeout = 1000ms}};
    std::optional<boost::system::error_code> got;
    std::vector<unsigned char> answer;
    ch.query("test", ns_t_soa, [&](boost::system::error_code ec, std::span<const unsigned char> a) {
        got = ec;
        answer.assign(a.begin(), a.end());
    });
    EXPECT_EQ(ch.pending(), 1u);
    ASSERT_TRUE(run_until(io_, [&] { return got.has_value(); }));
    EXPECT_FALSE(*got) << got->message();
    ASSERT_GE(answer.size(), 12u);
    EXPECT_EQ(answer[3] & 0x0f, 0) << "NOERROR";
    EXPECT_NE(answer[2] & 0x04, 0) << "AA from the authoritative server";
    EXPECT_EQ(u16(answer, 6), 1) << "one SOA in the answer section";
    EXPECT_EQ(ch.pending(), 0u);
}

TEST_F(channel_process, nxdomain_comes_with_the_answer_for_its_soa)
{
    dns::channel ch{io_, {.servers = {knot_.server()}, .timeout = 1000ms}};
    std::optional<boost::system::error_code> got;
    std::vector<unsigned char> answer;
    ch.query("missing.test", ns_t_a, [&](boost::system::error_code ec, std::span<const unsigned char> a) {
        got = ec;
        answer.assign(a.begin(), a.end());
    });
    ASSERT_TRUE(run_until(io_, [&] { return got.has_value(); }));
    EXPECT_EQ(*got, dns::make_ares_error(ARES_ENOTFOUND));
    EXPECT_EQ(got->message(), "Domain name not found");
    ASSERT_GE(answer.size(), 12u);
    EXPECT_EQ(answer[3] & 0x0f, 3) << "NXDOMAIN";
    EXPECT_EQ(u16(answer, 8), 1) << "the SOA in the authority section (negative TTL)";
}

boost::asio::awaitable<void> query_twice(dns::channel& ch, std::vector<unsigned char>& www,
                                         boost::system::error_code& missing)
{
    www = co_await ch.async_query("www.test", ns_t_aaaa, boost::asio::use_awaitable);
    co_await ch.async_query("missing.test", ns_t_a, boost::asio::redirect_error(boost::asio::use_awaitable, missing));
}

TEST_F(channel_process, works_as_an_awaitable)
{
    dns::channel ch{io_, {.servers = {knot_.server()}, .timeout = 1000ms}};
    std::vector<unsigned char> www;
    boost::system::error_code missing;
    bool done = false;
    boost::asio::co_spawn(io_, query_twice(ch, www, missing), [&](std::exception_ptr e) {
        EXPECT_FALSE(e);
        done = true;
    });
    ASSERT_TRUE(run_until(io_, [&] { return done; }));
    ASSERT_GE(www.size(), 12u);
    EXPECT_EQ(u16(www, 6), 1) << "one AAAA";
    EXPECT_EQ(missing, dns::make_ares_error(ARES_ENOTFOUND));
}

TEST_F(channel_process, many_concurrent_queries_all_complete)
{
    // 500 queries leave in one burst and the 500 replies overflow the UDP receive buffer
    // on loopback (UdpRcvbufErrors): the retries (short timeout here) bring them all in.
    dns::channel ch{io_, {.servers = {knot_.server()}, .timeout = 300ms, .tries = 4}};
    constexpr int n = 500;
    int ok = 0;
    int failed = 0;
    for (int i = 0; i < n; ++i) {
        ch.query("host-" + std::to_string(i) + ".many.test", ns_t_a,
                 [&](boost::system::error_code ec, std::span<const unsigned char> a) {
                     if (!ec && a.size() >= 12 && u16(a, 6) == 1) {
                         ++ok;
                     } else {
                         ++failed;
                         ADD_FAILURE() << ec.message();
                     }
                 });
    }
    EXPECT_EQ(ch.pending(), static_cast<std::size_t>(n));
    ASSERT_TRUE(run_until(io_, [&] { return ok + failed == n; }, 30s)) << ok << " ok, " << failed << " failed";
    EXPECT_EQ(ok, n);
    EXPECT_EQ(ch.pending(), 0u);
}

TEST_F(channel_process, max_outstanding_holds_queries_back_and_sends_them_in_turn)
{
    dns::channel ch{io_, {.servers = {knot_.server()}, .timeout = 2000ms, .tries = 2, .max_outstanding = 8}};
    constexpr int n = 100;
    int ok = 0;
    std::size_t most_in_flight = 0;
    std::vector<int> order;
    for (int i = 0; i < n; ++i) {
        ch.query("host-" + std::to_string(i) + ".many.test", ns_t_a,
                 [&, i](boost::system::error_code ec, std::span<const unsigned char> a) {
                     most_in_flight = std::max(most_in_flight, ch.pending() + 1);
                     order.push_back(i);
                     if (!ec && a.size() >= 12 && u16(a, 6) == 1) {
                         ++ok;
                     } else {
                         ADD_FAILURE() << ec.message();
                     }
                 });
    }
    EXPECT_EQ(ch.pending(), 8u);
    EXPECT_EQ(ch.queued(), 92u);
    ASSERT_TRUE(run_until(io_, [&] { return static_cast<int>(order.size()) == n; }, 30s));
    EXPECT_EQ(ok, n);
    EXPECT_LE(most_in_flight, 8u);
    EXPECT_EQ(ch.pending(), 0u);
    EXPECT_EQ(ch.queued(), 0u);
    // Held-back queries leave in the order they were asked: the last ones answer last.
    EXPECT_GE(std::find(order.begin(), order.end(), n - 1) - order.begin(), n - 8);
}

TEST(channel_loopback, a_silent_server_times_out_within_the_configured_time)
{
    boost::asio::io_context io{1};
    silent_server silent{io};
    // 200 ms, then 400 ms (c-ares 1.18 doubles the timeout each round): ~600 ms.
    dns::channel ch{io, {.servers = {silent.server()}, .timeout = 200ms, .tries = 2}};
    std::optional<boost::system::error_code> got;
    const auto start = std::chrono::steady_clock::now();
    ch.query("www.test", ns_t_a, [&](boost::system::error_code ec, std::span<const unsigned char> a) {
        got = ec;
        EXPECT_TRUE(a.empty());
    });
    ASSERT_TRUE(run_until(io, [&] { return got.has_value(); }, 5s));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(*got, dns::make_ares_error(ARES_ETIMEOUT));
    EXPECT_GE(elapsed, 550ms);
    EXPECT_LT(elapsed, 1500ms);
}

TEST(channel_loopback, a_closed_port_is_refused_at_once)
{
    boost::asio::io_context io{1};
    std::uint16_t port = 0;
    {
        silent_server s{io};   // bind, note the port, close: nothing listens there now
        port = s.socket.local_endpoint().port();
    }
    dns::channel ch{io, {.servers = {"127.0.0.1:" + std::to_string(port)}, .timeout = 2000ms, .tries = 2}};
    std::optional<boost::system::error_code> got;
    const auto start = std::chrono::steady_clock::now();
    ch.query("www.test", ns_t_a, [&](boost::system::error_code ec, std::span<const unsigned char>) { got = ec; });
    ASSERT_TRUE(run_until(io, [&] { return got.has_value(); }, 10s));
    // The ICMP port unreachable reaches the connected UDP socket: no need to wait.
    EXPECT_EQ(*got, dns::make_ares_error(ARES_ECONNREFUSED));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms);
}

TEST(channel_loopback, destroying_a_channel_with_queries_in_flight_ends_them)
{
    boost::asio::io_context io{1};
    silent_server silent{io};
    std::vector<boost::system::error_code> got;
    std::vector<boost::system::error_code> late;
    {
        dns::channel ch{io, {.servers = {silent.server()}, .timeout = 5000ms, .tries = 1}};
        for (int i = 0; i < 50; ++i) {
            ch.query("q" + std::to_string(i) + ".test", i % 2 == 0 ? ns_t_a : ns_t_aaaa,
                     [&](boost::system::error_code ec, std::span<const unsigned char>) {
                         got.push_back(ec);
                         // c-ares forbids new queries from ARES_EDESTRUCTION callbacks: the
                         // channel answers them itself.
                         ch.query("again.test", ns_t_a, [&](boost::system::error_code e2, std::span<const unsigned char>) {
                             late.push_back(e2);
                         });
                     });
        }
        io.restart();
        io.run_for(50ms);   // the queries are sent, the waits and the timer armed
        EXPECT_EQ(ch.pending(), 50u);
    }
    ASSERT_EQ(got.size(), 50u);
    for (const auto& ec : got) {
        EXPECT_EQ(ec, dns::make_ares_error(ARES_EDESTRUCTION));
    }
    ASSERT_EQ(late.size(), 50u);
    EXPECT_EQ(late.front(), dns::make_ares_error(ARES_EDESTRUCTION));
    // What the channel left queued (aborted waits, the cancelled timer) runs harmlessly.
    io.restart();
    io.run_for(100ms);
}

TEST(channel_loopback, destroying_a_channel_ends_the_held_back_queries_too)
{
    boost::asio::io_context io{1};
    silent_server silent{io};
    std::vector<int> ended;
    {
        dns::channel ch{io, {.servers = {silent.server()}, .timeout = 5000ms, .tries = 1, .max_outstanding = 10}};
        for (int i = 0; i < 30; ++i) {
            ch.query("q" + std::to_string(i) + ".test", ns_t_a,
                     [&, i](boost::system::error_code ec, std::span<const unsigned char>) {
                         EXPECT_EQ(ec, dns::make_ares_error(ARES_EDESTRUCTION));
                         ended.push_back(i);
                     });
        }
        io.restart();
        io.run_for(50ms);
        EXPECT_EQ(ch.pending(), 10u);
        EXPECT_EQ(ch.queued(), 20u);
    }
    ASSERT_EQ(ended.size(), 30u);
    // The sent ones first (c-ares), then the held-back ones in order.
    EXPECT_EQ(std::vector<int>(ended.begin() + 10, ended.end()),
              (std::vector<int>{10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29}));
    io.restart();
    io.run_for(100ms);
}

} // namespace
