#include "tests/dnscheck/scripted_responder.hpp"

#include "dnscheck/channel.hpp"
#include "dnscheck/message.hpp"
#include "tests/dnscheck/dns_builder.hpp"

#include <ares.h>

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <vector>

namespace {

namespace dns = stork::dnscheck;
namespace rr = stork::dnscheck::rr;
using stork::dnscheck::test::action;
using stork::dnscheck::test::dns_builder;
using stork::dnscheck::test::rdata;
using stork::dnscheck::test::received_query;
using stork::dnscheck::test::scripted_responder;
using stork::dnscheck::test::transport;
using namespace std::chrono_literals;

struct outcome {
    boost::system::error_code ec;
    std::vector<unsigned char> answer;
};

// One query through a real c-ares channel, run to its end.
outcome ask(dns::channel_options options, std::string_view name, int qtype)
{
    boost::asio::io_context io{1};
    dns::channel ch{io, std::move(options)};
    std::optional<outcome> got;
    ch.query(name, qtype, [&](boost::system::error_code ec, std::span<const unsigned char> answer) {
        got = outcome{ec, {answer.begin(), answer.end()}};
    });
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!got && io.run_one_until(deadline) > 0) {
    }
    EXPECT_TRUE(got) << "no answer within 10 s";
    return got.value_or(outcome{});
}

std::vector<unsigned char> a_record(const received_query& q, const char* address)
{
    return dns_builder::reply_to(q.query).aa().answer(q.query.name, 300, rdata::a(address)).build();
}

TEST(scripted_responder_loopback, replies_with_the_given_bytes)
{
    scripted_responder server{[](const received_query& q) { return action::reply(a_record(q, "192.0.2.10")); }};
    const auto got = ask({.servers = {server.server()}}, "www.Example.com", rr::a);
    ASSERT_FALSE(got.ec) << got.ec.message();
    const auto m = dns::parse_message(got.answer);
    ASSERT_TRUE(m) << m.error().what;
    ASSERT_EQ(m->answers.size(), 1u);
    EXPECT_EQ(m->answers[0].data_text(), "192.0.2.10");

    EXPECT_EQ(server.udp_queries(), 1u);
    EXPECT_EQ(server.tcp_queries(), 0u);
    const auto last = server.last_query();
    ASSERT_TRUE(last);
    EXPECT_EQ(last->via, transport::udp);
    EXPECT_EQ(last->query.name, "www.Example.com") << "case as sent";
    EXPECT_EQ(last->query.qtype, rr::a);
    EXPECT_TRUE(last->query.rd);
}

TEST(scripted_responder_loopback, records_the_rd_bit)
{
    scripted_responder server{[](const received_query& q) { return action::reply(a_record(q, "192.0.2.10")); }};
    const auto got = ask({.servers = {server.server()}, .no_recurse = true}, "example.com", rr::caa);
    EXPECT_FALSE(got.ec) << got.ec.message();
    const auto queries = server.queries();
    ASSERT_EQ(queries.size(), 1u);
    EXPECT_FALSE(queries[0].query.rd);
    EXPECT_EQ(queries[0].query.qtype, rr::caa);
}

TEST(scripted_responder_loopback, servfail_reaches_the_handler_with_its_message)
{
    scripted_responder server{[](const received_query& q) {
        return action::reply(dns_builder::reply_to(q.query).rcode(dns::rcode::servfail).build());
    }};
    const auto got = ask({.servers = {server.server()}}, "example.com", rr::a);
    EXPECT_EQ(got.ec, dns::make_ares_error(ARES_ESERVFAIL));
    const auto m = dns::parse_message(got.answer);
    ASSERT_TRUE(m) << m.error().what;
    EXPECT_EQ(m->rcode, dns::rcode::servfail);
    EXPECT_EQ(server.udp_queries(), 1u) << "NOCHECKRESP: no retry";
}

TEST(scripted_responder_loopback, silence_gives_a_timeout)
{
    scripted_responder server{[](const received_query&) { return action::silence(); }};
    const auto got = ask({.servers = {server.server()}, .timeout = 200ms, .tries = 2}, "example.com", rr::a);
    EXPECT_EQ(got.ec, dns::make_ares_error(ARES_ETIMEOUT));
    EXPECT_TRUE(got.answer.empty());
    EXPECT_EQ(server.udp_queries(), 2u) << "one per try";
}

TEST(scripted_responder_loopback, truncation_is_retried_over_tcp)
{
    scripted_responder server{[](const received_query& q) {
        // 40 TXT strings: more than fits a 512-byte UDP answer, as a real server would say.
        dns_builder b = dns_builder::reply_to(q.query).aa();
        for (int i = 0; i < 40; ++i) {
            b.answer(q.query.name, 60, rdata::txt({"v=spf1 include:_spf.example.net ~all #" + std::to_string(i)}));
        }
        return action::truncate_udp(b.compress().build());
    }};
    const auto got = ask({.servers = {server.server()}}, "example.com", rr::txt);
    ASSERT_FALSE(got.ec) << got.ec.message();
    const auto m = dns::parse_message(got.answer);
    ASSERT_TRUE(m) << m.error().what;
    EXPECT_FALSE(m->tc);
    EXPECT_EQ(m->answers.size(), 40u);
    EXPECT_EQ(server.udp_queries(), 1u);
    EXPECT_EQ(server.tcp_queries(), 1u);
    const auto queries = server.queries();
    ASSERT_EQ(queries.size(), 2u);
    EXPECT_EQ(queries[0].via, transport::udp);
    EXPECT_EQ(queries[1].via, transport::tcp);
    EXPECT_EQ(queries[1].query.name, "example.com");
}

TEST(scripted_responder_loopback, malformed_bytes_reach_the_parser)
{
    // c-ares checks the id and the question, not the records: an answer whose A record
    // has 5 bytes of RDATA reaches the handler, and the parser says what is wrong.
    scripted_responder server{[](const received_query& q) {
        return action::malformed(
            dns_builder::reply_to(q.query).answer(q.query.name, 60, rdata::raw(rr::a, {192, 0, 2, 1, 0})).build());
    }};
    const auto got = ask({.servers = {server.server()}}, "example.com", rr::a);
    ASSERT_FALSE(got.ec) << got.ec.message();
    const auto m = dns::parse_message(got.answer);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().what, "answer record 1: A RDATA is 5 bytes, not 4");
}

TEST(scripted_responder_loopback, a_tcp_connection_closed_unanswered_fails_the_query)
{
    scripted_responder server{[](const received_query& q) {
        return q.via == transport::udp ? action::truncate_udp({}) : action::close_connection();
    }};
    const auto got = ask({.servers = {server.server()}, .timeout = 300ms, .tries = 1}, "example.com", rr::a);
    // c-ares 1.18 sees the close at once (not a timeout) and, its tries used up, ends
    // the query as it does for an unreachable server.
    EXPECT_EQ(got.ec, dns::make_ares_error(ARES_ECONNREFUSED)) << got.ec.message();
    EXPECT_TRUE(got.answer.empty());
    EXPECT_EQ(server.udp_queries(), 1u);
    EXPECT_EQ(server.tcp_queries(), 1u);
}

TEST(scripted_responder_loopback, silence_over_tcp_keeps_the_connection_until_the_end)
{
    scripted_responder server{[](const received_query& q) {
        return q.via == transport::udp ? action::truncate_udp({}) : action::silence();
    }};
    const auto got = ask({.servers = {server.server()}, .timeout = 200ms, .tries = 1}, "example.com", rr::a);
    EXPECT_EQ(got.ec, dns::make_ares_error(ARES_ETIMEOUT));
    EXPECT_EQ(server.tcp_queries(), 1u);
    // The destructor ends the thread with the connection still open.
}

TEST(scripted_responder_loopback, unreadable_datagrams_are_counted_not_answered)
{
    std::atomic<int> calls = 0;   // the script runs on the responder's thread
    scripted_responder server{[&calls](const received_query& q) {
        ++calls;
        return action::reply(a_record(q, "192.0.2.1"));
    }};
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(server.port());
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const unsigned char junk[] = {1, 2, 3};
    ASSERT_EQ(::sendto(fd, junk, sizeof junk, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to), 3);
    ::close(fd);
    // Datagrams on one socket are read in order: once this query is answered, the junk
    // was read before it.
    const auto got = ask({.servers = {server.server()}}, "example.com", rr::a);
    EXPECT_FALSE(got.ec) << got.ec.message();
    EXPECT_EQ(server.udp_queries(), 2u);
    EXPECT_EQ(server.queries().size(), 1u);
    EXPECT_EQ(calls, 1);
}

} // namespace
