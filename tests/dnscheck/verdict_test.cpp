// decide(): the verdict and the advice from facts, one case per rule (no DNS).
#include "dnscheck/report.hpp"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <algorithm>

namespace stork::dnscheck {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view host = "my-app.example.com";
constexpr std::string_view expect = "my-app.osc-secnum-fr1.scalingo.io";
constexpr std::string_view old = "my-app.osc-fr1.scalingo.io";
const std::string auth = "127.0.0.1:5300";
const std::string resolver = "127.0.0.1:5301";

chain_hop cname(std::string_view from, std::string_view to, std::uint32_t ttl)
{
    return {std::string{from}, "CNAME", ttl, std::string{to}, auth + " (authoritative)"};
}

chain_hop a(std::string_view name, std::string_view address, std::uint32_t ttl = 300)
{
    return {std::string{name}, "A", ttl, std::string{address}, resolver + " (resolver)"};
}

// A report as the advisor fills it for a host CNAMEd to `to` with `ttl`, seen the same
// way by one authoritative server and one resolver.
report base(std::string_view to, std::uint32_t ttl)
{
    report r;
    r.host = host;
    r.expect = expect;
    r.old = std::string{old};
    r.checked_at = std::chrono::sys_days{std::chrono::year{2026} / 11 / 21} + 10h;
    r.zone = "example.com";
    r.chain = {cname(host, to, ttl), a(to, to == expect ? "203.0.113.20" : to == old ? "192.0.2.10" : "198.51.100.1")};
    r.expect_addresses = {"203.0.113.20"};
    r.old_addresses = {"192.0.2.10"};
    server_view av{.server = auth, .answered = true, .status = "NOERROR", .aa = true, .serial = 7};
    av.answer = {cname(host, to, ttl)};
    av.ttl = ttl;
    av.points_to = to == expect ? pointing::new_target : pointing::old_target;
    r.authoritative = {av};
    server_view rv{.server = resolver, .answered = true, .status = "NOERROR"};
    rv.answer = {cname(host, to, ttl / 2)};
    rv.ttl = ttl / 2;
    rv.points_to = av.points_to;
    r.resolvers = {rv};
    r.caa = {.checked = true, .owner = "", .records = {}, .allowed = true, .reason = "no CAA record restricts issuance"};
    return r;
}

bool any_contains(const std::vector<std::string>& lines, std::string_view needle)
{
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

TEST(verdict, ready_when_every_server_points_to_the_new_target)
{
    auto r = base(expect, 60);
    decide(r);
    EXPECT_EQ(r.outcome, verdict::ready);
    EXPECT_EQ(r.points_to, pointing::new_target);
    EXPECT_TRUE(r.problems.empty());
    EXPECT_TRUE(any_contains(r.advice, "Nothing to do"));
    EXPECT_TRUE(any_contains(r.advice, "raise it again (it is 60 s)"));
}

TEST(verdict, pending_with_a_long_ttl_says_lower_it_first_with_the_wait)
{
    auto r = base(old, 3600);
    decide(r);
    EXPECT_EQ(r.outcome, verdict::pending);
    EXPECT_EQ(r.points_to, pointing::old_target);
    ASSERT_FALSE(r.advice.empty());
    EXPECT_EQ(r.advice.front(), "Lower the TTL of my-app.example.com from 3600 s to 60 s, wait 1 h, then change its "
                                "CNAME to my-app.osc-secnum-fr1.scalingo.io.");
    ASSERT_TRUE(r.change_visible_within);
    EXPECT_EQ(*r.change_visible_within, 3600s);
}

TEST(verdict, pending_with_a_short_ttl_says_change_it_now)
{
    auto r = base(old, 60);
    decide(r);
    EXPECT_EQ(r.outcome, verdict::pending);
    EXPECT_EQ(r.advice.front(),
              "Change the CNAME of my-app.example.com to my-app.osc-secnum-fr1.scalingo.io; resolvers follow within 1 min.");
}

TEST(verdict, days_left_before_the_rule_expires_are_in_the_advice)
{
    auto r = base(old, 60);
    r.rule_expires_at = r.checked_at + std::chrono::days{27} + 5h;
    decide(r);
    ASSERT_TRUE(r.days_left);
    EXPECT_EQ(*r.days_left, 27);
    EXPECT_TRUE(any_contains(r.advice, "27 days left before the old region stops forwarding my-app.example.com "
                                       "(the rule expires on 2026-12-18)."));
}

TEST(verdict, an_expired_rule_is_said_so)
{
    auto r = base(old, 60);
    r.rule_expires_at = r.checked_at - std::chrono::days{2};
    decide(r);
    EXPECT_TRUE(any_contains(r.advice, "expired on 2026-11-19"));
}

TEST(verdict, without_old_anything_but_the_new_target_is_pending)
{
    auto r = base("somewhere.else.example.net", 300);
    r.old.reset();
    r.old_addresses.clear();
    decide(r);
    EXPECT_EQ(r.points_to, pointing::elsewhere);
    EXPECT_EQ(r.outcome, verdict::pending);
}

TEST(verdict, with_old_another_target_is_misconfigured)
{
    auto r = base("somewhere.else.example.net", 300);
    decide(r);
    EXPECT_EQ(r.outcome, verdict::misconfigured);
    EXPECT_TRUE(any_contains(r.problems, "points to somewhere.else.example.net, neither"));
    EXPECT_TRUE(any_contains(r.advice, "Change the CNAME of my-app.example.com to"));
}

TEST(verdict, propagating_when_a_resolver_still_has_the_old_answer)
{
    auto r = base(expect, 60);
    r.resolvers[0].points_to = pointing::old_target;
    r.resolvers[0].ttl = 2400;
    decide(r);
    EXPECT_EQ(r.outcome, verdict::propagating);
    ASSERT_TRUE(r.propagation_left);
    EXPECT_EQ(*r.propagation_left, 2400s);
    EXPECT_TRUE(any_contains(r.advice, "Resolver 127.0.0.1:5301 still has the old answer for 40 min (until 10:40:00 UTC)"));
    ASSERT_TRUE(r.change_visible_within);
    EXPECT_EQ(*r.change_visible_within, 2400s);   // the resolver holds longer than the TTL now
}

TEST(verdict, propagating_when_a_resolver_still_caches_the_absence)
{
    auto r = base(expect, 60);
    r.resolvers[0].points_to = pointing::nothing;
    r.resolvers[0].answer.clear();
    r.resolvers[0].ttl.reset();
    r.resolvers[0].status = "NXDOMAIN";
    r.resolvers[0].negative_ttl = 45;
    decide(r);
    EXPECT_EQ(r.outcome, verdict::propagating);
    EXPECT_TRUE(any_contains(r.advice, "still has the negative answer for 45 s"));
}

TEST(verdict, propagating_when_a_secondary_lags_behind)
{
    auto r = base(expect, 60);
    server_view lagging = r.authoritative[0];
    lagging.server = "127.0.0.2:5300";
    lagging.points_to = pointing::old_target;
    lagging.serial = 6;
    lagging.refresh = 3600;
    r.authoritative.push_back(lagging);
    decide(r);
    EXPECT_EQ(r.outcome, verdict::propagating);
    EXPECT_TRUE(any_contains(r.advice, "127.0.0.2:5300 still answers the old record (serial 6, the others serve 7)"));
    EXPECT_TRUE(any_contains(r.advice, "within its refresh of 1 h"));
}

TEST(verdict, the_walk_on_the_old_primary_with_a_new_secondary_is_propagating)
{
    auto r = base(old, 60);
    server_view fresh = r.authoritative[0];
    fresh.server = "127.0.0.2:5300";
    fresh.points_to = pointing::new_target;
    fresh.serial = 8;
    r.authoritative.push_back(fresh);
    decide(r);
    EXPECT_EQ(r.outcome, verdict::propagating);
}

TEST(verdict, nxdomain_is_unresolvable_with_the_negative_ttl)
{
    auto r = base(expect, 60);
    r.chain.clear();
    r.chain_status = chain_end::nxdomain;
    r.chain_stop = std::string{host};
    r.negative_ttl = 60;
    decide(r);
    EXPECT_EQ(r.outcome, verdict::unresolvable);
    EXPECT_TRUE(any_contains(r.problems, "my-app.example.com does not exist (NXDOMAIN)"));
    EXPECT_TRUE(any_contains(r.advice, "Create a CNAME record for my-app.example.com pointing to"));
    EXPECT_TRUE(any_contains(r.advice, "for up to 1 min (negative caching, RFC 2308)"));
}

TEST(verdict, a_dangling_new_target_is_the_platforms_problem)
{
    auto r = base(expect, 60);
    r.chain.resize(1);
    r.chain_status = chain_end::nxdomain;
    r.chain_stop = std::string{expect};
    decide(r);
    EXPECT_EQ(r.outcome, verdict::unresolvable);
    EXPECT_TRUE(any_contains(r.problems, "the new region has not published it"));
}

TEST(verdict, servfail_is_unresolvable)
{
    auto r = base(expect, 60);
    r.chain.clear();
    r.chain_status = chain_end::servfail;
    r.chain_stop = std::string{host};
    r.chain_error = "127.0.0.1:5300 answers SERVFAIL for my-app.example.com";
    decide(r);
    EXPECT_EQ(r.outcome, verdict::unresolvable);
    EXPECT_TRUE(any_contains(r.problems, "answers SERVFAIL"));
    EXPECT_TRUE(any_contains(r.advice, "ask your DNS provider"));
}

TEST(verdict, no_server_answering_is_unresolvable_and_flagged)
{
    auto r = base(expect, 60);
    r.chain.clear();
    r.chain_status = chain_end::no_answer;
    for (auto* list : {&r.authoritative, &r.resolvers}) {
        for (auto& v : *list) {
            v = server_view{.server = v.server, .answered = false, .status = "timeout"};
            v.error = "timeout";
        }
    }
    r.no_server_answered = true;
    decide(r);
    EXPECT_EQ(r.outcome, verdict::unresolvable);
    EXPECT_TRUE(any_contains(r.problems, "no DNS server answered: 127.0.0.1:5300 (timeout); 127.0.0.1:5301 (timeout)"));
}

TEST(verdict, caa_blocking_lets_encrypt_is_misconfigured_even_when_pointing_right)
{
    auto r = base(expect, 60);
    r.caa.allowed = false;
    r.caa.owner = "example.com";
    r.caa.reason = "CAA at example.com allows only digicert.com";
    decide(r);
    EXPECT_EQ(r.outcome, verdict::misconfigured);
    EXPECT_TRUE(any_contains(r.problems, "Let's Encrypt may not issue a certificate for my-app.example.com"));
    EXPECT_TRUE(any_contains(r.advice, "`example.com CAA 0 issue \"letsencrypt.org\"`"));
}

TEST(verdict, caa_blocking_while_pending_gives_both_fixes)
{
    auto r = base(old, 60);
    r.caa.allowed = false;
    r.caa.owner = "example.com";
    r.caa.reason = "CAA at example.com allows only digicert.com";
    decide(r);
    EXPECT_EQ(r.outcome, verdict::misconfigured);
    EXPECT_TRUE(any_contains(r.advice, "CAA 0 issue"));
    EXPECT_TRUE(any_contains(r.advice, "Change the CNAME of my-app.example.com"));
}

TEST(verdict, apex_with_the_targets_addresses_is_ready)
{
    auto r = base(expect, 60);
    r.host = "example.com";
    r.chain = {a("example.com", "203.0.113.20", 300)};
    for (auto* list : {&r.authoritative, &r.resolvers}) {
        for (auto& v : *list) {
            v.answer = r.chain;
            v.points_to = pointing::new_target;
        }
    }
    decide(r);
    EXPECT_EQ(r.points_to, pointing::new_target);
    EXPECT_EQ(r.outcome, verdict::ready);
}

TEST(verdict, apex_with_the_old_addresses_says_alias_or_a_records)
{
    auto r = base(old, 3600);
    r.host = "example.com";
    r.chain = {a("example.com", "192.0.2.10", 3600)};
    r.authoritative[0].answer = r.chain;
    r.authoritative[0].ttl = 3600;
    decide(r);
    EXPECT_EQ(r.points_to, pointing::old_target);
    EXPECT_EQ(r.outcome, verdict::pending);
    EXPECT_TRUE(any_contains(r.advice, "Lower the TTL of example.com from 3600 s to 60 s, wait 1 h, then repoint it."));
    EXPECT_TRUE(any_contains(r.advice, "ALIAS/ANAME"));
    EXPECT_TRUE(any_contains(r.advice, "replace its A records with my-app.osc-secnum-fr1.scalingo.io's addresses: 203.0.113.20"));
}

TEST(verdict, leftover_aaaa_at_an_apex_is_misconfigured)
{
    auto r = base(expect, 60);
    r.host = "example.com";
    r.chain = {a("example.com", "203.0.113.20", 300)};
    r.own_aaaa = {"2001:db8::10"};
    decide(r);
    EXPECT_EQ(r.outcome, verdict::misconfigured);
    EXPECT_TRUE(any_contains(r.problems, "keeps AAAA records (2001:db8::10)"));
    EXPECT_TRUE(any_contains(r.advice, "has no IPv6 address"));
}

TEST(verdict, an_aaaa_the_target_also_has_is_not_leftover)
{
    auto r = base(expect, 60);
    r.host = "example.com";
    r.chain = {a("example.com", "203.0.113.20", 300)};
    r.expect_addresses.push_back("2001:db8::20");
    r.own_aaaa = {"2001:db8::20"};
    decide(r);
    EXPECT_EQ(r.outcome, verdict::ready);
}

TEST(verdict, cname_beside_other_data_is_misconfigured)
{
    auto r = base(expect, 60);
    r.beside_cname = {"A"};
    decide(r);
    EXPECT_EQ(r.outcome, verdict::misconfigured);
    EXPECT_TRUE(any_contains(r.problems, "has a CNAME and other records (A)"));
    EXPECT_TRUE(any_contains(r.advice, "Remove the A records of my-app.example.com"));
}

TEST(verdict, a_cname_loop_is_misconfigured)
{
    auto r = base(expect, 60);
    r.chain = {cname(host, "b.example.com", 60), cname("b.example.com", host, 60)};
    r.chain_status = chain_end::loop;
    r.chain_stop = std::string{host};
    decide(r);
    EXPECT_EQ(r.outcome, verdict::misconfigured);
    EXPECT_TRUE(any_contains(r.problems, "loops at my-app.example.com"));
}

TEST(verdict, a_chain_through_the_new_target_counts_as_new)
{
    auto r = base(expect, 60);
    r.chain = {cname(host, "cdn.example.net", 120), cname("cdn.example.net", expect, 30), a(expect, "203.0.113.20")};
    decide(r);
    EXPECT_EQ(r.points_to, pointing::new_target);
}

TEST(classify, addresses_alone_decide_when_no_name_matches)
{
    report r = base(expect, 60);
    EXPECT_EQ(classify(r, {a(host, "203.0.113.20")}), pointing::new_target);
    EXPECT_EQ(classify(r, {a(host, "192.0.2.10")}), pointing::old_target);
    EXPECT_EQ(classify(r, {a(host, "198.51.100.1")}), pointing::elsewhere);
    EXPECT_EQ(classify(r, {}), pointing::nothing);
    EXPECT_EQ(classify(r, {cname(host, "MY-APP.OSC-SECNUM-FR1.SCALINGO.IO", 60)}), pointing::new_target);
}

TEST(human_duration, reads_like_a_person_would_say_it)
{
    EXPECT_EQ(human_duration(0s), "0 s");
    EXPECT_EQ(human_duration(45s), "45 s");
    EXPECT_EQ(human_duration(60s), "1 min");
    EXPECT_EQ(human_duration(90s), "1 min 30 s");
    EXPECT_EQ(human_duration(3600s), "1 h");
    EXPECT_EQ(human_duration(5400s), "1 h 30 min");
    EXPECT_EQ(human_duration(86400s), "24 h");
    EXPECT_EQ(human_duration(3 * 86400s + 7200s), "3 days 2 h");
    EXPECT_EQ(human_duration(-5s), "0 s");
}

TEST(report_output, json_has_the_contract_fields)
{
    auto r = base(old, 3600);
    r.rule_expires_at = r.checked_at + std::chrono::days{10};
    decide(r);
    const auto o = to_json(r);
    for (const char* key : {"host", "expect", "old", "checked_at", "verdict", "points_to", "chain", "authoritative",
                            "resolvers", "caa", "advice", "problems", "negative_ttl", "days_left", "rule_expires_at"}) {
        EXPECT_TRUE(o.contains(key)) << key;
    }
    EXPECT_EQ(o.at("verdict").as_string(), "pending");
    EXPECT_EQ(o.at("checked_at").as_string(), "2026-11-21T10:00:00Z");
    EXPECT_EQ(o.at("chain").as_array().at(0).as_object().at("ttl").to_number<std::int64_t>(), 3600);
    EXPECT_EQ(o.at("authoritative").as_array().at(0).as_object().at("serial").to_number<std::int64_t>(), 7);
    EXPECT_EQ(o.at("days_left").to_number<std::int64_t>(), 10);
}

TEST(report_output, text_is_aligned_and_only_coloured_when_asked)
{
    auto r = base(old, 3600);
    decide(r);
    const auto plain = render_text(r, false);
    EXPECT_EQ(plain.find('\x1b'), std::string::npos);
    EXPECT_NE(plain.find("verdict   pending"), std::string::npos) << plain;
    EXPECT_NE(plain.find("1. Lower the TTL"), std::string::npos) << plain;
    // The chain's columns line up: both hops' TTL columns start at the same offset.
    const auto first = plain.find("\n  my-app.example.com ") + 1;
    const auto second = plain.find("\n  my-app.osc-fr1.scalingo.io ") + 1;
    ASSERT_NE(first, 0U) << plain;
    ASSERT_NE(second, 0U) << plain;
    const auto line_start = [&](std::size_t at) { return plain.rfind('\n', at) + 1; };
    const auto ttl_col = [&](std::size_t at, std::string_view ttl) { return plain.find(ttl, at) - line_start(at); };
    EXPECT_EQ(ttl_col(first, "3600"), ttl_col(second, "300"));
    EXPECT_NE(render_text(r, true).find("\x1b[1;33mpending"), std::string::npos);
}

} // namespace
} // namespace stork::dnscheck
