// The DNS advisor against real servers: two knotd (127.0.0.1 and 127.0.0.2) serving the
// zones, unbound as the recursive resolver in front of them, and a scripted responder for
// what real servers will not do. Then `stork dns check` as a process.
#include "dnscheck/advisor.hpp"
#include "tests/dnscheck/dns_builder.hpp"
#include "tests/dnscheck/knot_fixture.hpp"
#include "tests/dnscheck/scripted_responder.hpp"
#include "tests/dnscheck/unbound_fixture.hpp"
#include "tests/support/process.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <exception>
#include <thread>

namespace stork::dnscheck {
namespace {

using namespace std::chrono_literals;
using test::knot_server;
using test::knot_zone;
using test::set_record;
using test::unset_record;

constexpr const char* new_target = "my-app.osc-secnum-fr1.scalingo.test";
constexpr const char* old_target = "my-app.osc-fr1.scalingo.test";

std::string soa_and_ns(std::string_view origin, std::uint32_t serial)
{
    const std::string o{origin};
    return "$ORIGIN " + o + ".\n$TTL 300\n@ SOA ns1." + o + ". hostmaster." + o + ". " + std::to_string(serial) +
           " 3600 600 604800 60\n@ NS ns1." + o + ".\nns1 A 127.0.0.1\n";
}

// example.test as the primary (127.0.0.1) serves it.
std::string example_zone()
{
    return soa_and_ns("example.test", 2024010101) +
           "@ 300 A 203.0.113.20\n"
           "ready 60 CNAME my-app.osc-secnum-fr1.scalingo.test.\n"
           "pending 3600 CNAME my-app.osc-fr1.scalingo.test.\n"
           "moving 3600 CNAME my-app.osc-fr1.scalingo.test.\n"
           "switch 1 CNAME my-app.osc-fr1.scalingo.test.\n"
           "watched 1 CNAME my-app.osc-fr1.scalingo.test.\n"
           "chain 120 CNAME chain2.example.test.\n"
           "chain2 30 CNAME my-app.osc-secnum-fr1.scalingo.test.\n"
           "lagging 300 CNAME my-app.osc-secnum-fr1.scalingo.test.\n"
           "elsewhere 300 CNAME other.cdn.test.\n"
           "blocked CAA 0 issue \"digicert.com\"\n"
           "www.blocked 60 CNAME my-app.osc-secnum-fr1.scalingo.test.\n"
           "loop1 60 CNAME loop2.example.test.\n"
           "loop2 60 CNAME loop1.example.test.\n";
}

// The same zone on a secondary that missed the last change (an older serial).
std::string example_zone_behind()
{
    std::string z = soa_and_ns("example.test", 2024010100) + "@ 300 A 203.0.113.20\n" +
                    "lagging 300 CNAME my-app.osc-fr1.scalingo.test.\n";
    return z;
}

std::vector<knot_zone> primary_zones()
{
    return {
        {"test", soa_and_ns("test", 1)},
        {"example.test", example_zone()},
        {"scalingo.test", soa_and_ns("scalingo.test", 1) + "my-app.osc-secnum-fr1 300 A 203.0.113.20\n"
                                                           "my-app.osc-fr1 300 A 192.0.2.50\n"},
        {"cdn.test", soa_and_ns("cdn.test", 1) + "other 300 A 198.51.100.9\n"},
        {"shop.test", soa_and_ns("shop.test", 1) + "@ 300 A 203.0.113.20\n@ 300 AAAA 2001:db8::10\n"},
        {"legacy.test", soa_and_ns("legacy.test", 1) + "@ 3600 A 192.0.2.50\n"},
    };
}

// The servers every test of the suite shares. Tests that edit a zone or fill unbound's
// cache use names of their own, so the order of the tests does not matter.
class advisor_process : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        primary_ = new knot_server(primary_zones(), "127.0.0.1");
        secondary_ = new knot_server({{"example.test", example_zone_behind()}}, "127.0.0.2", primary_->port());
        test::unbound_options o;
        for (const auto& z : primary_zones()) {
            o.stubs[z.origin] = {primary_->stub_addr()};
        }
        resolver_ = new test::unbound_server(o);
    }
    static void TearDownTestSuite()
    {
        delete resolver_;
        delete secondary_;
        delete primary_;
    }

    void SetUp() override
    {
        ASSERT_NE(primary_->port(), 0);
        ASSERT_NE(secondary_->port(), 0);
        ASSERT_NE(resolver_->port(), 0);
    }

    static report check(check_request q, advisor_options o)
    {
        boost::asio::io_context io;
        advisor a{io, std::move(o)};
        std::optional<report> out;
        std::exception_ptr failure;
        boost::asio::co_spawn(io, a.check(std::move(q)), [&](std::exception_ptr e, report r) {
            failure = e;
            out = std::move(r);
        });
        io.run();
        if (failure) {
            std::rethrow_exception(failure);
        }
        return std::move(*out);
    }

    // HOST in example.test, asked of the primary and of unbound.
    static report check(std::string host, std::optional<std::string> old = std::string{old_target})
    {
        return check(check_request{.host = std::move(host),
                                   .expect = new_target,
                                   .old = std::move(old),
                                   .authoritative = {primary_->server()},
                                   .rule_expires_at = std::nullopt},
                     resolver_options());
    }

    static advisor_options resolver_options()
    {
        return advisor_options{.resolvers = {resolver_->server()}, .timeout = 1000ms, .tries = 2, .ca = "letsencrypt.org"};
    }

    static std::string explain(const report& r) { return render_text(r, false); }

    static bool any_contains(const std::vector<std::string>& lines, std::string_view needle)
    {
        return std::any_of(lines.begin(), lines.end(),
                           [&](const std::string& l) { return l.find(needle) != std::string::npos; });
    }

    static knot_server* primary_;
    static knot_server* secondary_;
    static test::unbound_server* resolver_;
};

knot_server* advisor_process::primary_ = nullptr;
knot_server* advisor_process::secondary_ = nullptr;
test::unbound_server* advisor_process::resolver_ = nullptr;

TEST_F(advisor_process, ready_when_the_cname_reaches_the_new_target_everywhere)
{
    const auto r = check("ready.example.test");
    EXPECT_EQ(r.outcome, verdict::ready) << explain(r);
    EXPECT_EQ(r.zone, "example.test");
    ASSERT_EQ(r.chain.size(), 2U) << explain(r);
    EXPECT_EQ(r.chain[0], (chain_hop{"ready.example.test", "CNAME", 60, new_target, primary_->server() + " (authoritative)"}));
    EXPECT_EQ(r.chain[1].type, "A");
    EXPECT_EQ(r.chain[1].data, "203.0.113.20");
    ASSERT_EQ(r.authoritative.size(), 1U);
    EXPECT_TRUE(r.authoritative[0].aa);
    EXPECT_EQ(r.authoritative[0].serial, primary_->serial("example.test"));
    EXPECT_EQ(r.authoritative[0].points_to, pointing::new_target);
    ASSERT_EQ(r.resolvers.size(), 1U);
    EXPECT_EQ(r.resolvers[0].points_to, pointing::new_target);
    EXPECT_TRUE(r.caa.checked);
    EXPECT_TRUE(r.caa.allowed) << r.caa.reason;
}

TEST_F(advisor_process, pending_says_lower_the_ttl_first_and_how_long_to_wait)
{
    const auto r = check("pending.example.test");
    EXPECT_EQ(r.outcome, verdict::pending) << explain(r);
    EXPECT_EQ(r.points_to, pointing::old_target);
    ASSERT_FALSE(r.advice.empty());
    EXPECT_EQ(r.advice.front(), "Lower the TTL of pending.example.test from 3600 s to 60 s, wait 1 h, then change its "
                                "CNAME to my-app.osc-secnum-fr1.scalingo.test.");
}

TEST_F(advisor_process, the_chain_keeps_every_hops_own_ttl)
{
    const auto r = check("chain.example.test");
    EXPECT_EQ(r.outcome, verdict::ready) << explain(r);
    ASSERT_EQ(r.chain.size(), 3U) << explain(r);
    EXPECT_EQ(r.chain[0].ttl, 120U);
    EXPECT_EQ(r.chain[1].name, "chain2.example.test");
    EXPECT_EQ(r.chain[1].ttl, 30U);   // the smallest, in the middle: c-ares alone would not show it
    EXPECT_EQ(r.chain[2].ttl, 300U);
}

TEST_F(advisor_process, propagating_while_the_resolver_holds_the_old_answer)
{
    // unbound caches the old CNAME, then the zone changes under it.
    const auto before = check("moving.example.test");
    ASSERT_EQ(before.outcome, verdict::pending) << explain(before);
    ASSERT_TRUE(primary_->edit("example.test", {unset_record("moving", "CNAME"),
                                                set_record("moving", 3600, "CNAME", std::string{new_target} + ".")}));
    const auto r = check("moving.example.test");
    EXPECT_EQ(r.outcome, verdict::propagating) << explain(r);
    EXPECT_EQ(r.authoritative[0].points_to, pointing::new_target);
    EXPECT_EQ(r.resolvers[0].points_to, pointing::old_target);
    ASSERT_TRUE(r.resolvers[0].ttl);
    EXPECT_LE(*r.resolvers[0].ttl, 3600U);
    EXPECT_GT(*r.resolvers[0].ttl, 3500U);
    ASSERT_TRUE(r.propagation_left);
    EXPECT_EQ(r.propagation_left->count(), *r.resolvers[0].ttl);
    EXPECT_TRUE(any_contains(r.advice, "Resolver " + resolver_->server() + " still has the old answer")) << explain(r);
}

TEST_F(advisor_process, a_secondary_on_an_older_serial_is_propagating)
{
    auto q = check_request{.host = "lagging.example.test", .expect = new_target, .old = std::string{old_target},
                           .authoritative = {primary_->server(), secondary_->server()}, .rule_expires_at = std::nullopt};
    const auto r = check(q, resolver_options());
    EXPECT_EQ(r.outcome, verdict::propagating) << explain(r);
    ASSERT_EQ(r.authoritative.size(), 2U);
    EXPECT_EQ(r.authoritative[0].points_to, pointing::new_target);
    EXPECT_EQ(r.authoritative[1].points_to, pointing::old_target);
    EXPECT_EQ(r.authoritative[1].serial, 2024010100U);
    EXPECT_TRUE(any_contains(r.advice, "Authoritative server " + secondary_->server() +
                                           " still answers the old record (serial 2024010100"))
        << explain(r);
}

TEST_F(advisor_process, nxdomain_with_the_negative_ttl_from_the_soa)
{
    const auto r = check("nope.example.test");
    EXPECT_EQ(r.outcome, verdict::unresolvable) << explain(r);
    EXPECT_EQ(r.chain_status, chain_end::nxdomain);
    ASSERT_TRUE(r.negative_ttl);
    EXPECT_EQ(*r.negative_ttl, 60U);   // min(SOA TTL 300, MINIMUM 60), RFC 2308
    EXPECT_EQ(r.authoritative[0].status, "NXDOMAIN");
    EXPECT_TRUE(any_contains(r.advice, "Create a CNAME record for nope.example.test"));
}

TEST_F(advisor_process, a_name_added_late_is_still_negatively_cached_by_the_resolver)
{
    const auto before = check("late.example.test");
    ASSERT_EQ(before.outcome, verdict::unresolvable) << explain(before);
    ASSERT_TRUE(primary_->edit("example.test", {set_record("late", 60, "CNAME", std::string{new_target} + ".")}));
    const auto r = check("late.example.test");
    EXPECT_EQ(r.outcome, verdict::propagating) << explain(r);
    EXPECT_EQ(r.resolvers[0].status, "NXDOMAIN");
    ASSERT_TRUE(r.resolvers[0].negative_ttl);
    EXPECT_LE(*r.resolvers[0].negative_ttl, 60U);
    EXPECT_TRUE(any_contains(r.advice, "still has the negative answer")) << explain(r);
}

TEST_F(advisor_process, caa_that_names_another_ca_blocks_lets_encrypt)
{
    const auto r = check("www.blocked.example.test");
    EXPECT_EQ(r.outcome, verdict::misconfigured) << explain(r);
    EXPECT_FALSE(r.caa.allowed);
    EXPECT_EQ(r.caa.owner, "blocked.example.test");
    ASSERT_EQ(r.caa.records.size(), 1U);
    EXPECT_EQ(r.caa.records[0].value, "digicert.com");
    EXPECT_TRUE(any_contains(r.advice, "`blocked.example.test CAA 0 issue \"letsencrypt.org\"`")) << explain(r);
}

TEST_F(advisor_process, an_apex_with_the_targets_addresses_is_ready)
{
    const auto r = check("example.test");
    EXPECT_EQ(r.outcome, verdict::ready) << explain(r);
    EXPECT_EQ(r.points_to, pointing::new_target);
}

TEST_F(advisor_process, an_apex_on_the_old_addresses_gets_alias_advice)
{
    auto q = check_request{.host = "legacy.test", .expect = new_target, .old = std::string{old_target},
                           .authoritative = {primary_->server()}, .rule_expires_at = std::nullopt};
    const auto r = check(q, resolver_options());
    EXPECT_EQ(r.zone, "legacy.test");
    EXPECT_EQ(r.outcome, verdict::pending) << explain(r);
    EXPECT_EQ(r.points_to, pointing::old_target);
    EXPECT_TRUE(any_contains(r.advice, "ALIAS/ANAME")) << explain(r);
    EXPECT_TRUE(any_contains(r.advice, "from 3600 s to 60 s")) << explain(r);
}

TEST_F(advisor_process, a_leftover_aaaa_beside_the_right_a_record_is_misconfigured)
{
    auto q = check_request{.host = "shop.test", .expect = new_target, .old = std::nullopt,
                           .authoritative = {primary_->server()}, .rule_expires_at = std::nullopt};
    const auto r = check(q, resolver_options());
    EXPECT_EQ(r.outcome, verdict::misconfigured) << explain(r);
    EXPECT_EQ(r.own_aaaa, std::vector<std::string>{"2001:db8::10"});
    EXPECT_TRUE(any_contains(r.advice, "Remove the AAAA records of shop.test (2001:db8::10)")) << explain(r);
}

TEST_F(advisor_process, another_target_with_old_given_is_misconfigured)
{
    const auto r = check("elsewhere.example.test");
    EXPECT_EQ(r.outcome, verdict::misconfigured) << explain(r);
    EXPECT_EQ(r.points_to, pointing::elsewhere);
    EXPECT_TRUE(any_contains(r.problems, "points to other.cdn.test")) << explain(r);
}

TEST_F(advisor_process, a_cname_loop_is_found_and_named)
{
    const auto r = check("loop1.example.test");
    EXPECT_EQ(r.outcome, verdict::misconfigured) << explain(r);
    EXPECT_EQ(r.chain_status, chain_end::loop);
    EXPECT_EQ(r.chain_stop, "loop1.example.test");
}

TEST_F(advisor_process, a_live_edit_turns_pending_into_ready)
{
    // TTL 1 s: once the zone changes, unbound's copy of the old answer is gone within a
    // second, and the check says ready without any cache to flush.
    const auto before = check("switch.example.test");
    ASSERT_EQ(before.outcome, verdict::pending) << explain(before);
    ASSERT_TRUE(primary_->edit("example.test", {unset_record("switch", "CNAME"),
                                                set_record("switch", 1, "CNAME", std::string{new_target} + ".")}));
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    report r = check("switch.example.test");
    while (r.outcome != verdict::ready && std::chrono::steady_clock::now() < deadline) {
        ASSERT_NE(r.outcome, verdict::pending) << "the authoritative server already has the new record\n" << explain(r);
        std::this_thread::sleep_for(200ms);   // unbound's cached copy expires by the clock
        r = check("switch.example.test");
    }
    EXPECT_EQ(r.outcome, verdict::ready) << explain(r);
}

TEST_F(advisor_process, many_hosts_checked_together_keep_their_order)
{
    std::vector<check_request> qs;
    for (const char* h : {"ready.example.test", "pending.example.test", "nope.example.test", "chain.example.test"}) {
        qs.push_back({.host = h, .expect = new_target, .old = std::string{old_target},
                      .authoritative = {primary_->server()}, .rule_expires_at = std::nullopt});
    }
    boost::asio::io_context io;
    advisor a{io, resolver_options()};
    std::vector<report> out;
    boost::asio::co_spawn(io, a.check_all(qs, 2), [&](std::exception_ptr e, std::vector<report> r) {
        ASSERT_FALSE(e);
        out = std::move(r);
    });
    io.run();
    ASSERT_EQ(out.size(), 4U);
    EXPECT_EQ(out[0].outcome, verdict::ready);
    EXPECT_EQ(out[1].outcome, verdict::pending);
    EXPECT_EQ(out[2].outcome, verdict::unresolvable);
    EXPECT_EQ(out[3].outcome, verdict::ready);
    EXPECT_EQ(out[2].host, "nope.example.test");
}

// ---- what real servers will not do -----------------------------------------------------

using test::action;
using test::dns_builder;
using test::rdata;
using test::received_query;

TEST(advisor_scripted_process, no_server_answering_is_flagged_within_the_timeout)
{
    test::scripted_responder silent{[](const received_query&) { return action::silence(); }};
    boost::asio::io_context io;
    advisor a{io, advisor_options{.resolvers = {silent.server()}, .timeout = 200ms, .tries = 1, .ca = "letsencrypt.org"}};
    std::optional<report> r;
    const auto started = std::chrono::steady_clock::now();
    boost::asio::co_spawn(io, a.check({.host = "my-app.example.test", .expect = new_target}),
                          [&](std::exception_ptr, report out) { r = std::move(out); });
    io.run();
    ASSERT_TRUE(r);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    EXPECT_TRUE(r->no_server_answered) << render_text(*r, false);
    EXPECT_EQ(r->outcome, verdict::unresolvable);
    EXPECT_EQ(r->resolvers[0].status, "timeout");
    EXPECT_GE(silent.udp_queries(), 1U);
}

// A zone "odd.test" served by a script: www.odd.test has a CNAME *and* an A record.
action odd_zone(const received_query& q, int servfail_for_type = -1)
{
    const auto& n = q.query.name;
    auto reply = dns_builder::reply_to(q.query).aa();
    if (q.query.qtype == servfail_for_type) {
        return action::reply(dns_builder::reply_to(q.query).rcode(2).build());
    }
    auto soa = [&](dns_builder& b) {
        b.authority("odd.test", 300, rdata::soa("ns1.odd.test", "hostmaster.odd.test", 5, 3600, 600, 604800, 60));
    };
    if (same_name(n, "odd.test") && q.query.qtype == rr::soa) {
        reply.answer("odd.test", 300, rdata::soa("ns1.odd.test", "hostmaster.odd.test", 5, 3600, 600, 604800, 60));
    } else if (same_name(n, "www.odd.test")) {
        reply.answer("www.odd.test", 60, rdata::cname(new_target));
        if (q.query.qtype == rr::a) {
            reply.answer("www.odd.test", 60, rdata::a("198.51.100.7"));
            reply.answer(new_target, 300, rdata::a("203.0.113.20"));
        }
    } else if (same_name(n, new_target) && q.query.qtype == rr::a) {
        reply.answer(new_target, 300, rdata::a("203.0.113.20"));
    } else if (same_name(n, new_target) || same_name(n, "odd.test") || same_name(n, "test") ||
               same_name(n, "scalingo.test") || same_name(n, "osc-secnum-fr1.scalingo.test")) {
        soa(reply);   // NODATA
    } else {
        reply.rcode(3);
        soa(reply);
    }
    return action::reply(reply.build());
}

report scripted_check(const test::scripted_responder& dns, std::string host)
{
    boost::asio::io_context io;
    advisor a{io, advisor_options{.resolvers = {dns.server()}, .timeout = 500ms, .tries = 1, .ca = "letsencrypt.org"}};
    std::optional<report> r;
    boost::asio::co_spawn(io,
                          a.check({.host = std::move(host), .expect = new_target, .authoritative = {dns.server()}}),
                          [&](std::exception_ptr e, report out) {
                              EXPECT_FALSE(e);
                              r = std::move(out);
                          });
    io.run();
    return std::move(*r);
}

TEST(advisor_scripted_process, a_cname_beside_other_data_is_misconfigured)
{
    test::scripted_responder dns{[](const received_query& q) { return odd_zone(q); }};
    const auto r = scripted_check(dns, "www.odd.test");
    EXPECT_EQ(r.zone, "odd.test") << render_text(r, false);
    EXPECT_EQ(r.beside_cname, std::vector<std::string>{"A"}) << render_text(r, false);
    EXPECT_EQ(r.outcome, verdict::misconfigured) << render_text(r, false);
}

TEST(advisor_scripted_process, servfail_is_unresolvable_with_the_servers_name)
{
    test::scripted_responder dns{[](const received_query& q) { return odd_zone(q, rr::a); }};
    const auto r = scripted_check(dns, "www.odd.test");
    EXPECT_EQ(r.outcome, verdict::unresolvable) << render_text(r, false);
    EXPECT_EQ(r.chain_status, chain_end::servfail);
    EXPECT_FALSE(r.no_server_answered);
    EXPECT_EQ(r.authoritative[0].status, "SERVFAIL");
    EXPECT_NE(r.chain_error.find(dns.server() + " answers SERVFAIL for www.odd.test"), std::string::npos) << r.chain_error;
}

TEST(advisor_scripted_process, a_malformed_answer_is_named_not_trusted)
{
    test::scripted_responder dns{[](const received_query& q) {
        if (q.query.qtype != rr::a) {
            return odd_zone(q);
        }
        // An A record whose RDATA is 5 bytes long.
        return action::malformed(dns_builder::reply_to(q.query)
                                     .aa()
                                     .answer(q.query.name, 60, rdata::raw(rr::a, {192, 0, 2, 1, 7}))
                                     .build());
    }};
    const auto r = scripted_check(dns, "www.odd.test");
    EXPECT_EQ(r.outcome, verdict::unresolvable) << render_text(r, false);
    EXPECT_NE(r.authoritative[0].status.find("malformed answer"), std::string::npos) << r.authoritative[0].status;
    EXPECT_FALSE(r.no_server_answered) << "a server did answer, with garbage";
}

TEST(advisor_scripted_process, a_truncated_udp_answer_is_fetched_again_over_tcp)
{
    test::scripted_responder dns{[](const received_query& q) {
        auto a = odd_zone(q);
        if (q.query.qtype == rr::a && same_name(q.query.name, new_target)) {
            return action::truncate_udp(std::move(a.bytes));
        }
        return a;
    }};
    const auto r = scripted_check(dns, new_target);
    EXPECT_GE(dns.tcp_queries(), 1U);
    ASSERT_FALSE(r.chain.empty()) << render_text(r, false);
    EXPECT_EQ(r.chain.front().data, "203.0.113.20");
}

// ---- stork dns check -------------------------------------------------------------------

TEST_F(advisor_process, stork_dns_check_exits_0_ready_1_not_ready_2_error)
{
    const auto stork = stork::test::binary("stork").string();
    const std::vector<std::string> common{"--expect", new_target, "--old", old_target, "--resolver",
                                          resolver_->server(), "--authoritative", primary_->server()};
    auto run = [&](std::string host, std::vector<std::string> extra = {}) {
        std::vector<std::string> argv{stork, "dns", "check", std::move(host)};
        argv.insert(argv.end(), common.begin(), common.end());
        argv.insert(argv.end(), extra.begin(), extra.end());
        return stork::test::run(argv, 20s);
    };
    const auto ready = run("ready.example.test");
    EXPECT_EQ(ready.status.code, 0) << ready.out << ready.err;
    EXPECT_NE(ready.out.find("verdict   ready"), std::string::npos) << ready.out;
    EXPECT_EQ(ready.out.find('\x1b'), std::string::npos) << "no colour when stdout is not a terminal";

    const auto pending = run("pending.example.test", {"--json"});
    EXPECT_EQ(pending.status.code, 1) << pending.out << pending.err;
    const auto json = boost::json::parse(pending.out).as_object();
    EXPECT_EQ(json.at("verdict").as_string(), "pending");
    EXPECT_EQ(json.at("chain").as_array().at(0).as_object().at("ttl").to_number<int>(), 3600);
    EXPECT_FALSE(json.at("advice").as_array().empty());

    test::scripted_responder silent{[](const received_query&) { return action::silence(); }};
    const auto nobody = stork::test::run(
        {stork, "dns", "check", "ready.example.test", "--expect", new_target, "--resolver", silent.server(),
         "--timeout", "100ms"},
        20s);
    EXPECT_EQ(nobody.status.code, 2) << nobody.out << nobody.err;
    EXPECT_NE(nobody.err.find("no DNS server answered"), std::string::npos) << nobody.err;

    const auto bad = stork::test::run({stork, "dns", "check", "bad_host..example", "--expect", new_target}, 20s);
    EXPECT_EQ(bad.status.code, 2) << bad.out << bad.err;
    EXPECT_NE(bad.err.find("HOST"), std::string::npos) << bad.err;
}

TEST_F(advisor_process, stork_dns_check_watch_prints_each_change_until_ready)
{
    const auto stork = stork::test::binary("stork").string();
    stork::test::child_process watch{{stork, "dns", "check", "watched.example.test", "--expect", new_target, "--old",
                                      old_target, "--resolver", resolver_->server(), "--authoritative",
                                      primary_->server(), "--watch", "--interval", "200ms"}};
    // The first report comes out before anything changes.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (watch.out().find("verdict   pending") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
    }
    ASSERT_NE(watch.out().find("verdict   pending"), std::string::npos) << watch.out() << watch.err();
    ASSERT_TRUE(primary_->edit("example.test", {unset_record("watched", "CNAME"),
                                                set_record("watched", 1, "CNAME", std::string{new_target} + ".")}));
    const auto status = watch.wait(15s);
    ASSERT_TRUE(status) << "still watching:\n" << watch.out();
    EXPECT_EQ(status->code, 0) << watch.out() << watch.err();
    EXPECT_NE(watch.out().find("pending -> "), std::string::npos) << watch.out();
    EXPECT_NE(watch.out().find("-> ready"), std::string::npos) << watch.out();
}

} // namespace
} // namespace stork::dnscheck
