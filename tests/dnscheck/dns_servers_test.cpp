// The real DNS servers the advisor's process tests run against: knotd as the
// authoritative side (several zones, several addresses, live edits) and unbound as a
// resolver that caches, counts TTLs down and caches negative answers.
#include "dnscheck/channel.hpp"
#include "dnscheck/message.hpp"

#include "tests/dnscheck/knot_fixture.hpp"
#include "tests/dnscheck/raw_dns.hpp"
#include "tests/dnscheck/unbound_fixture.hpp"

#include <ares.h>

#include <arpa/inet.h>

#include <boost/asio/io_context.hpp>

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <thread>

namespace {

namespace dns = stork::dnscheck;
using namespace std::chrono_literals;
using dns::test::knot_server;
using dns::test::knot_zone;
using dns::test::raw_reply;
using dns::test::set_record;
using dns::test::unbound_server;
using dns::test::unset_record;

constexpr int noerror = dns::rcode::noerror;
constexpr int servfail = dns::rcode::servfail;
constexpr int nxdomain = dns::rcode::nxdomain;
constexpr int refused = dns::rcode::refused;

std::string example_zone(std::uint32_t serial, std::string_view www)
{
    return "$ORIGIN example.com.\n"
           "$TTL 300\n"
           "@        IN SOA ns1.example.com. hostmaster.example.com. " + std::to_string(serial) + " 3600 600 604800 60\n"
           "@        IN NS  ns1.example.com.\n"
           "ns1      IN A   127.0.0.1\n"
           "www      IN A   " + std::string{www} + "\n"
           "my-app   60 IN CNAME my-app.osc-fr1.scalingo.io.\n"
           "elsewhere 60 IN CNAME www.example.net.\n";
}

std::string scalingo_zone()
{
    return "$ORIGIN scalingo.io.\n"
           "$TTL 300\n"
           "@        IN SOA ns1.scalingo.io. hostmaster.scalingo.io. 7 3600 600 604800 60\n"
           "@        IN NS  ns1.scalingo.io.\n"
           "ns1      IN A   127.0.0.2\n"
           "my-app.osc-fr1 120 IN A 198.51.100.7\n";
}

// One query, recursion desired for resolvers, not for authoritative servers.
std::optional<raw_reply> ask(const std::string& address, std::uint16_t port, std::string_view name,
                             std::uint16_t type, bool recurse)
{
    return dns::test::raw_query(address, port, name, type, recurse, 2s);
}

std::optional<raw_reply> ask(const knot_server& s, std::string_view name, std::uint16_t type)
{
    return ask(s.address(), s.port(), name, type, false);
}

std::optional<raw_reply> ask(const unbound_server& s, std::string_view name, std::uint16_t type)
{
    return ask(s.address(), s.port(), name, type, true);
}

// The data of the records of `type` in the answer, in order.
std::vector<std::string> answer_data(const raw_reply& r, std::uint16_t type)
{
    std::vector<std::string> out;
    for (const auto& rec : raw_reply::of(r.answers, type)) {
        out.push_back(rec.data);
    }
    return out;
}

std::uint32_t answer_ttl(const raw_reply& r, std::uint16_t type)
{
    const auto records = raw_reply::of(r.answers, type);
    return records.empty() ? 0 : records.front().ttl;
}

// --- knotd -------------------------------------------------------------------------------

TEST(dns_servers_process, two_knot_servers_serve_two_versions_of_one_zone)
{
    knot_server old_provider{{knot_zone{"example.com", example_zone(2024010101, "192.0.2.1")}}, "127.0.0.1"};
    ASSERT_NE(old_provider.port(), 0);
    // Same port, another loopback address: Linux routes all of 127/8 to lo.
    knot_server new_provider{{knot_zone{"example.com", example_zone(2024020202, "192.0.2.2")}}, "127.0.0.2",
                             old_provider.port()};
    ASSERT_NE(new_provider.port(), 0);
    EXPECT_EQ(new_provider.server(), "127.0.0.2:" + std::to_string(old_provider.port()));
    EXPECT_EQ(new_provider.stub_addr(), "127.0.0.2@" + std::to_string(old_provider.port()));

    const auto from_old = ask(old_provider, "www.example.com", dns::rr::a);
    const auto from_new = ask(new_provider, "www.example.com", dns::rr::a);
    ASSERT_TRUE(from_old && from_new);
    EXPECT_TRUE(from_old->aa && from_new->aa);
    EXPECT_EQ(answer_data(*from_old, dns::rr::a), std::vector<std::string>{"192.0.2.1"});
    EXPECT_EQ(answer_data(*from_new, dns::rr::a), std::vector<std::string>{"192.0.2.2"});
    EXPECT_EQ(old_provider.serial("example.com"), 2024010101u);
    EXPECT_EQ(new_provider.serial("example.com"), 2024020202u);

    // The code under test reaches the second address too (c-ares through dnscheck::channel).
    boost::asio::io_context io{1};
    dns::channel ch{io, {.servers = {new_provider.server()}, .timeout = 1000ms}};
    std::optional<boost::system::error_code> got;
    std::string address;
    ch.query("www.example.com", dns::rr::a, [&](boost::system::error_code ec, std::span<const unsigned char> a) {
        got = ec;
        hostent* host = nullptr;
        ares_addrttl ttls[2];
        int n = 2;
        if (!ec && ares_parse_a_reply(a.data(), static_cast<int>(a.size()), &host, ttls, &n) == ARES_SUCCESS) {
            char text[16] = {};
            if (n == 1 && ::inet_ntop(AF_INET, &ttls[0].ipaddr, text, sizeof text)) {
                address = text;
            }
            ares_free_hostent(host);
        }
    });
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!got && io.run_one_until(deadline) > 0) {
    }
    ASSERT_TRUE(got);
    EXPECT_FALSE(*got) << got->message();
    EXPECT_EQ(address, "192.0.2.2");
}

TEST(dns_servers_process, a_live_edit_changes_the_answer_and_bumps_the_serial)
{
    knot_server knot{{knot_zone{"example.com", example_zone(2024010101, "192.0.2.1")},
                      knot_zone{"scalingo.io", scalingo_zone()}}};
    ASSERT_NE(knot.port(), 0);
    EXPECT_EQ(knot.address(), "127.0.0.1");
    EXPECT_EQ(knot.serial("scalingo.io"), 7u) << "a second zone on the same server";

    ASSERT_TRUE(knot.edit("example.com", {unset_record("www", "A"),
                                          set_record("www", 60, "A", "192.0.2.99"),
                                          set_record("new", 120, "TXT", "\"hello world\""),
                                          unset_record("my-app")}));
    EXPECT_EQ(knot.serial("example.com"), 2024010102u) << "knotd bumps the serial by one";
    EXPECT_EQ(knot.serial("scalingo.io"), 7u) << "the other zone is untouched";

    const auto www = ask(knot, "www.example.com", dns::rr::a);
    ASSERT_TRUE(www);
    EXPECT_EQ(answer_data(*www, dns::rr::a), std::vector<std::string>{"192.0.2.99"});
    EXPECT_EQ(answer_ttl(*www, dns::rr::a), 60u);
    const auto added = ask(knot, "new.example.com", dns::rr::txt);
    ASSERT_TRUE(added);
    EXPECT_EQ(added->rcode, noerror);
    EXPECT_EQ(answer_ttl(*added, dns::rr::txt), 120u);
    const auto removed = ask(knot, "my-app.example.com", dns::rr::cname);
    ASSERT_TRUE(removed);
    EXPECT_EQ(removed->rcode, nxdomain);

    // A second edit in the same server, absolute owner names work too.
    ASSERT_TRUE(knot.edit("example.com", {set_record("my-app.example.com.", 60, "CNAME", "my-app.osc-fr1.scalingo.io.")}));
    EXPECT_EQ(knot.serial("example.com"), 2024010103u);
    const auto back = ask(knot, "my-app.example.com", dns::rr::cname);
    ASSERT_TRUE(back);
    EXPECT_EQ(answer_data(*back, dns::rr::cname), std::vector<std::string>{"my-app.osc-fr1.scalingo.io"});
}

TEST(dns_servers_process, a_failed_edit_is_aborted_and_reported)
{
    knot_server knot{{knot_zone{"example.com", example_zone(2024010101, "192.0.2.1")}}};
    ASSERT_NE(knot.port(), 0);

    bool applied = true;
    EXPECT_NONFATAL_FAILURE(
        (applied = knot.edit("example.com", {set_record("first", 60, "A", "192.0.2.5"),
                                             set_record("bad", 60, "A", "not-an-address")})),
        "zone-set example.com bad 60 A not-an-address");
    EXPECT_FALSE(applied);
    EXPECT_EQ(knot.serial("example.com"), 2024010101u) << "nothing committed";
    const auto first = ask(knot, "first.example.com", dns::rr::a);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->rcode, nxdomain) << "the change before the failing one was aborted with it";

    EXPECT_NONFATAL_FAILURE((applied = knot.edit("example.com", {unset_record("absent", "A")})), "no such node");
    EXPECT_FALSE(applied);
    EXPECT_NONFATAL_FAILURE((applied = knot.edit("no-such-zone.org", {set_record("a", 60, "A", "192.0.2.1")})),
                            "serves no SOA");
    EXPECT_FALSE(applied);

    // No transaction was left open.
    EXPECT_TRUE(knot.edit("example.com", {set_record("first", 60, "A", "192.0.2.5")}));
    EXPECT_EQ(knot.serial("example.com"), 2024010102u);
}

std::uint16_t start_knot_with_a_broken_zone()
{
    knot_server broken{{knot_zone{"example.com", example_zone(1, "not-an-address")}}};
    return broken.port();
}

TEST(dns_servers_process, a_zone_that_does_not_load_is_a_failure_with_knotd_stderr)
{
    std::uint16_t port = 1;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_NONFATAL_FAILURE(port = start_knot_with_a_broken_zone(), "failed to load zone");
    EXPECT_EQ(port, 0);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "seen in knotd's log, not waited out";
}

// --- unbound over knotd ------------------------------------------------------------------

// example.com on 127.0.0.1, scalingo.io on 127.0.0.2, and unbound options with a stub
// for each.
struct two_providers {
    bool ready() const { return customer.port() != 0 && platform.port() != 0; }
    dns::test::unbound_options stubs() const
    {
        return {.stubs = {{"example.com", {customer.stub_addr()}}, {"scalingo.io", {platform.stub_addr()}}}};
    }

    knot_server customer{{knot_zone{"example.com", example_zone(2024010101, "192.0.2.1")}}, "127.0.0.1"};
    knot_server platform{{knot_zone{"scalingo.io", scalingo_zone()}}, "127.0.0.2"};
};

TEST(dns_servers_process, unbound_follows_a_cname_across_two_zones_and_counts_its_ttl_down)
{
    two_providers servers;
    ASSERT_TRUE(servers.ready());
    unbound_server unbound{servers.stubs()};
    ASSERT_NE(unbound.port(), 0);
    EXPECT_EQ(unbound.server(), "127.0.0.1:" + std::to_string(unbound.port()));

    const auto first = ask(unbound, "my-app.example.com", dns::rr::a);
    ASSERT_TRUE(first) << unbound.log();
    ASSERT_EQ(first->rcode, noerror) << unbound.log();
    EXPECT_FALSE(first->aa) << "a resolver's answer";
    EXPECT_EQ(answer_data(*first, dns::rr::cname), std::vector<std::string>{"my-app.osc-fr1.scalingo.io"});
    EXPECT_EQ(answer_data(*first, dns::rr::a), std::vector<std::string>{"198.51.100.7"});
    const std::uint32_t cname_ttl = answer_ttl(*first, dns::rr::cname);
    const std::uint32_t a_ttl = answer_ttl(*first, dns::rr::a);
    EXPECT_LE(cname_ttl, 60u);
    EXPECT_GE(cname_ttl, 58u);
    EXPECT_LE(a_ttl, 120u);
    EXPECT_GE(a_ttl, 118u);

    // unbound counts in whole seconds of its clock: ask again until the next second has
    // begun for it (at most about one second, plus the time the queries take).
    const auto start = std::chrono::steady_clock::now();
    std::optional<raw_reply> later;
    while (std::chrono::steady_clock::now() - start < 3s) {
        later = ask(unbound, "my-app.example.com", dns::rr::a);
        ASSERT_TRUE(later);
        if (answer_ttl(*later, dns::rr::cname) < cname_ttl) {
            break;
        }
        std::this_thread::sleep_for(50ms);   // polling pace, not a readiness guess
    }
    ASSERT_TRUE(later);
    EXPECT_LT(answer_ttl(*later, dns::rr::cname), cname_ttl) << "no countdown within 3 s";
    EXPECT_GE(answer_ttl(*later, dns::rr::cname) + 2, cname_ttl);
    EXPECT_EQ(cname_ttl - answer_ttl(*later, dns::rr::cname), a_ttl - answer_ttl(*later, dns::rr::a))
        << "both records age together";

    // The authoritative servers do not count down.
    const auto authoritative = ask(servers.customer, "my-app.example.com", dns::rr::cname);
    ASSERT_TRUE(authoritative);
    EXPECT_EQ(answer_ttl(*authoritative, dns::rr::cname), 60u);
}

TEST(dns_servers_process, unbound_keeps_a_cached_nxdomain_after_the_name_is_added)
{
    two_providers servers;
    ASSERT_TRUE(servers.ready());
    unbound_server unbound{servers.stubs()};
    ASSERT_NE(unbound.port(), 0);

    const auto before = ask(unbound, "newapp.example.com", dns::rr::a);
    ASSERT_TRUE(before) << unbound.log();
    ASSERT_EQ(before->rcode, nxdomain) << unbound.log();
    const auto soa = raw_reply::of(before->authority, dns::rr::soa, "example.com");
    ASSERT_EQ(soa.size(), 1u) << "RFC 2308: the SOA that bounds the negative TTL";
    EXPECT_LE(soa.front().ttl, 60u) << "min(SOA TTL 300, MINIMUM 60)";

    ASSERT_TRUE(servers.customer.edit("example.com", {set_record("newapp", 60, "A", "192.0.2.77")}));

    const auto authoritative = ask(servers.customer, "newapp.example.com", dns::rr::a);
    ASSERT_TRUE(authoritative);
    EXPECT_EQ(authoritative->rcode, noerror);
    EXPECT_EQ(answer_data(*authoritative, dns::rr::a), std::vector<std::string>{"192.0.2.77"});

    const auto cached = ask(unbound, "newapp.example.com", dns::rr::a);
    ASSERT_TRUE(cached);
    EXPECT_EQ(cached->rcode, nxdomain) << "negative-cached";
    EXPECT_TRUE(cached->answers.empty());
}

TEST(dns_servers_process, cache_max_negative_ttl_shortens_negative_caching)
{
    two_providers servers;
    ASSERT_TRUE(servers.ready());
    auto options = servers.stubs();
    options.cache_max_negative_ttl = 1;
    unbound_server unbound{options};
    ASSERT_NE(unbound.port(), 0);

    const auto before = ask(unbound, "newapp.example.com", dns::rr::a);
    ASSERT_TRUE(before) << unbound.log();
    ASSERT_EQ(before->rcode, nxdomain);
    const auto soa = raw_reply::of(before->authority, dns::rr::soa, "example.com");
    ASSERT_EQ(soa.size(), 1u);
    EXPECT_LE(soa.front().ttl, 1u) << "clamped";

    ASSERT_TRUE(servers.customer.edit("example.com", {set_record("newapp", 60, "A", "192.0.2.77")}));
    // The negative entry expires within about a second of unbound's clock: poll.
    const auto start = std::chrono::steady_clock::now();
    std::optional<raw_reply> after;
    while (std::chrono::steady_clock::now() - start < 5s) {
        after = ask(unbound, "newapp.example.com", dns::rr::a);
        ASSERT_TRUE(after);
        if (after->rcode == noerror) {
            break;
        }
        std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(after);
    EXPECT_EQ(after->rcode, noerror);
    EXPECT_EQ(answer_data(*after, dns::rr::a), std::vector<std::string>{"192.0.2.77"});
}

TEST(dns_servers_process, cache_ttl_clamps_apply)
{
    two_providers servers;
    ASSERT_TRUE(servers.ready());
    auto raised = servers.stubs();
    raised.cache_min_ttl = 300;
    unbound_server low_clamp{raised};
    ASSERT_NE(low_clamp.port(), 0);
    const auto up = ask(low_clamp, "my-app.example.com", dns::rr::a);
    ASSERT_TRUE(up);
    ASSERT_EQ(up->rcode, noerror) << low_clamp.log();
    EXPECT_GE(answer_ttl(*up, dns::rr::cname), 299u) << "60 raised to cache-min-ttl";
    EXPECT_GE(answer_ttl(*up, dns::rr::a), 299u) << "120 raised to cache-min-ttl";

    auto lowered = servers.stubs();
    lowered.cache_max_ttl = 30;
    unbound_server high_clamp{lowered};
    ASSERT_NE(high_clamp.port(), 0);
    const auto down = ask(high_clamp, "my-app.example.com", dns::rr::a);
    ASSERT_TRUE(down);
    ASSERT_EQ(down->rcode, noerror) << high_clamp.log();
    EXPECT_LE(answer_ttl(*down, dns::rr::cname), 30u) << "60 lowered to cache-max-ttl";
    EXPECT_LE(answer_ttl(*down, dns::rr::a), 30u) << "120 lowered to cache-max-ttl";
}

TEST(dns_servers_process, names_outside_the_stub_zones_fail_at_once)
{
    two_providers servers;
    ASSERT_TRUE(servers.ready());
    unbound_server unbound{servers.stubs()};
    ASSERT_NE(unbound.port(), 0);

    for (const char* name : {"www.example.net", "elsewhere.example.com"}) {
        const auto start = std::chrono::steady_clock::now();
        const auto reply = ask(unbound, name, dns::rr::a);
        ASSERT_TRUE(reply) << name << " got no answer within 2 s:\n" << unbound.log();
        EXPECT_TRUE(reply->rcode == servfail || reply->rcode == refused) << name << ": rcode " << reply->rcode;
        EXPECT_LT(std::chrono::steady_clock::now() - start, 1s) << name;
    }
}

// Outside the test body: EXPECT_NONFATAL_FAILURE takes one macro argument, and a braced
// initialiser's commas would split it.
std::uint16_t start_unbound_with_a_bad_stub()
{
    unbound_server broken{{.stubs = {{"example.com", {"not-an-address"}}}}};
    return broken.port();
}

TEST(dns_servers_process, an_unbound_that_cannot_start_is_a_failure_with_its_stderr)
{
    std::uint16_t port = 1;
    // The failure carries unbound's own words.
    EXPECT_NONFATAL_FAILURE(port = start_unbound_with_a_bad_stub(), "cannot parse stub example.com. ip address");
    EXPECT_EQ(port, 0);
}

} // namespace
