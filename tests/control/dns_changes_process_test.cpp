// What finalize tells the owner to change in DNS (control/dns_changes.hpp): the advisor
// against a real knotd for the entries, and the text for a constructed list.
#include "control/dns_changes.hpp"

#include "tests/dnscheck/knot_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

namespace stork::control {
namespace {

using namespace std::chrono_literals;

constexpr const char* new_target = "my-app.osc-secnum-fr1.scalingo.test";
constexpr const char* old_target = "my-app.osc-fr1.scalingo.test";

std::string zone_head(const std::string& origin)
{
    // The NS has an address nothing serves DNS on (refused at once): knotd is asked as
    // the resolver, the way the control configuration's resolvers are.
    return "$ORIGIN " + origin + ".\n"
           "$TTL 300\n"
           "@ IN SOA ns1.test. hostmaster.test. 2026112101 3600 600 604800 60\n"
           "@ IN NS  ns1.test.\n";
}

//   moving.example.test  CNAME the old target (TTL 3600)
//   moved.example.test   CNAME the new target (TTL 60)
//   apex.test            A, the old target's address, at the zone apex
//   gone.example.test    nothing: NXDOMAIN
std::vector<dnscheck::test::knot_zone> zones()
{
    return {
        {"test", zone_head("test") + "ns1 IN A 127.83.53.1\n"},
        {"example.test", zone_head("example.test") + "moving 3600 IN CNAME my-app.osc-fr1.scalingo.test.\n"
                                                     "moved 60 IN CNAME my-app.osc-secnum-fr1.scalingo.test.\n"},
        {"apex.test", zone_head("apex.test") + "@ 3600 IN A 192.0.2.50\n"},
        {"scalingo.test", zone_head("scalingo.test") + "my-app.osc-secnum-fr1 60 IN A 198.51.100.7\n"
                                                       "my-app.osc-fr1 60 IN A 192.0.2.50\n"},
    };
}

std::string all(const std::vector<std::string>& lines)
{
    std::string out;
    for (const auto& l : lines) {
        out += l + "\n";
    }
    return out;
}

bool any_contains(const std::vector<std::string>& lines, std::string_view needle)
{
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

class dns_changes_process : public ::testing::Test {
protected:
    static void SetUpTestSuite() { knot_ = new dnscheck::test::knot_server(zones()); }
    static void TearDownTestSuite() { delete knot_; }
    void SetUp() override { ASSERT_NE(knot_->port(), 0); }

    static dns_changes_request request(std::vector<std::string> domains)
    {
        return dns_changes_request{
            .domains = std::move(domains),
            .new_target = new_target,
            .old_target = old_target,
            .rule_expires_at = std::nullopt,
            .dns = config::dns_config{.system_resolvers = false,
                                      .resolvers = {config::endpoint{"127.0.0.1", knot_->port(), true}}},
            .timeout = 1000ms,
        };
    }

    static dnscheck::test::knot_server* knot_;
};

dnscheck::test::knot_server* dns_changes_process::knot_ = nullptr;

TEST_F(dns_changes_process, every_domain_gets_one_entry_in_order)
{
    // Written as an owner might: upper case, absolute form. Neither makes a CNAME look
    // like something else (migration-flow.md §1.9).
    const auto changes = advise_dns_changes(
        request({"Moving.Example.Test.", "moved.example.test", "apex.test", "gone.example.test"}));
    ASSERT_EQ(changes.size(), 4u);

    const dns_change& moving = changes[0];
    EXPECT_EQ(moving.domain, "moving.example.test");
    EXPECT_EQ(moving.record, "CNAME");
    EXPECT_EQ(moving.change_to, new_target);
    EXPECT_EQ(moving.current, old_target);
    EXPECT_EQ(moving.verdict, "pending");
    EXPECT_EQ(moving.ttl, 3600u);
    ASSERT_FALSE(moving.advice.empty());
    EXPECT_EQ(moving.advice.front(), "Lower the TTL of moving.example.test from 3600 s to 60 s, wait 1 h, then "
                                     "change its CNAME to my-app.osc-secnum-fr1.scalingo.test.");

    const dns_change& moved = changes[1];
    EXPECT_EQ(moved.domain, "moved.example.test");
    EXPECT_EQ(moved.record, "CNAME");
    EXPECT_EQ(moved.verdict, "ready") << all(moved.advice);
    EXPECT_EQ(moved.current, new_target);
    EXPECT_EQ(moved.ttl, 60u);

    const dns_change& apex = changes[2];
    EXPECT_EQ(apex.domain, "apex.test");
    EXPECT_EQ(apex.record, "ALIAS/ANAME or A");
    EXPECT_EQ(apex.change_to, "198.51.100.7");
    EXPECT_EQ(apex.current, "192.0.2.50");
    EXPECT_EQ(apex.verdict, "pending") << all(apex.advice);
    EXPECT_EQ(apex.ttl, 3600u);
    EXPECT_TRUE(any_contains(apex.advice, "ALIAS/ANAME")) << all(apex.advice);

    const dns_change& gone = changes[3];
    EXPECT_EQ(gone.domain, "gone.example.test");
    EXPECT_EQ(gone.record, "CNAME");
    EXPECT_EQ(gone.change_to, new_target);
    EXPECT_EQ(gone.current, "");
    EXPECT_EQ(gone.verdict, "unresolvable");
    ASSERT_FALSE(gone.advice.empty());
    EXPECT_EQ(gone.advice.front(), "gone.example.test does not exist (NXDOMAIN).");
    EXPECT_TRUE(any_contains(gone.advice, "Create a CNAME record for gone.example.test")) << all(gone.advice);

    // One line per domain, the unresolvable one included.
    std::ostringstream out;
    print_dns_changes(out, changes);
    std::size_t items = 0;
    for (std::size_t at = out.str().find("\n       - "); at != std::string::npos;
         at = out.str().find("\n       - ", at + 1)) {
        ++items;
    }
    EXPECT_EQ(items, 4u) << out.str();
}

TEST_F(dns_changes_process, no_domains_asks_nothing)
{
    EXPECT_TRUE(advise_dns_changes(request({})).empty());
}

TEST_F(dns_changes_process, an_advisor_that_cannot_start_still_gives_every_domain_its_entry)
{
    auto r = request({"moving.example.test", "apex.test"});
    // A name where c-ares wants an address: the advisor refuses it before any query.
    r.dns.resolvers = {config::endpoint{"resolver.invalid", 53, false}};
    const auto changes = advise_dns_changes(r);
    ASSERT_EQ(changes.size(), 2u);
    for (const auto& c : changes) {
        EXPECT_EQ(c.verdict, "unresolvable");
        ASSERT_EQ(c.advice.size(), 1u);
        EXPECT_TRUE(c.advice[0].starts_with("The DNS advisor could not check " + c.domain + ": ")) << c.advice[0];
    }
}

// ---- the text --------------------------------------------------------------------------

TEST(dns_changes, the_text_has_one_line_per_domain_and_the_advice_below_it)
{
    const std::vector<dns_change> changes = {
        {.domain = "my-app.example.com",
         .record = "CNAME",
         .change_to = "my-app.osc-secnum-fr1.scalingo.io",
         .current = "my-app.osc-fr1.scalingo.io",
         .verdict = "pending",
         .ttl = 3600,
         .advice = {"Lower the TTL of my-app.example.com from 3600 s to 60 s, wait 1 h, then change its CNAME to "
                    "my-app.osc-secnum-fr1.scalingo.io.",
                    "30 days left before the old region stops forwarding."}},
        {.domain = "www.example.com",
         .record = "CNAME",
         .change_to = "my-app.osc-secnum-fr1.scalingo.io",
         .current = "my-app.osc-secnum-fr1.scalingo.io",
         .verdict = "ready",
         .ttl = 60,
         .advice = {"Nothing to do: www.example.com reaches my-app.osc-secnum-fr1.scalingo.io on every server asked."}},
        {.domain = "example.com",
         .record = "ALIAS/ANAME or A",
         .change_to = "198.51.100.7, 2001:db8::7",
         .current = "192.0.2.50",
         .verdict = "pending",
         .ttl = 300,
         .advice = {}},
        {.domain = "gone.example.com",
         .record = "CNAME",
         .change_to = "my-app.osc-secnum-fr1.scalingo.io",
         .current = "",
         .verdict = "unresolvable",
         .ttl = std::nullopt,
         .advice = {"gone.example.com does not exist (NXDOMAIN).",
                    "Create a CNAME record for gone.example.com pointing to my-app.osc-secnum-fr1.scalingo.io."}},
    };
    std::ostringstream out;
    print_dns_changes(out, changes);
    EXPECT_EQ(out.str(),
              "-----> You need to make the following changes to your DNS records:\n"
              "\n"
              "       - CNAME record of my-app.example.com should be changed to my-app.osc-secnum-fr1.scalingo.io\n"
              "         (now: my-app.osc-fr1.scalingo.io, TTL 3600 s; pending)\n"
              "         Lower the TTL of my-app.example.com from 3600 s to 60 s, wait 1 h, then change its CNAME to "
              "my-app.osc-secnum-fr1.scalingo.io.\n"
              "         30 days left before the old region stops forwarding.\n"
              "       - www.example.com already points to the new region (my-app.osc-secnum-fr1.scalingo.io)\n"
              "         Nothing to do: www.example.com reaches my-app.osc-secnum-fr1.scalingo.io on every server asked.\n"
              "       - ALIAS/ANAME or A record of example.com should be changed to 198.51.100.7, 2001:db8::7\n"
              "         (now: 192.0.2.50, TTL 300 s; pending)\n"
              "       - CNAME record of gone.example.com should be changed to my-app.osc-secnum-fr1.scalingo.io\n"
              "         (unresolvable)\n"
              "         gone.example.com does not exist (NXDOMAIN).\n"
              "         Create a CNAME record for gone.example.com pointing to my-app.osc-secnum-fr1.scalingo.io.\n");
}

TEST(dns_changes, nothing_to_change_says_so_and_no_domains_print_nothing)
{
    std::ostringstream out;
    print_dns_changes(out, {{.domain = "www.example.com",
                             .record = "CNAME",
                             .change_to = "my-app.osc-secnum-fr1.scalingo.io",
                             .current = "my-app.osc-secnum-fr1.scalingo.io",
                             .verdict = "ready",
                             .ttl = 60,
                             .advice = {}}});
    EXPECT_EQ(out.str(), "-----> Your DNS records need no change:\n"
                         "\n"
                         "       - www.example.com already points to the new region (my-app.osc-secnum-fr1.scalingo.io)\n");
    std::ostringstream none;
    print_dns_changes(none, {});
    EXPECT_EQ(none.str(), "");
}

} // namespace
} // namespace stork::control
