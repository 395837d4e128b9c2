#include "routing/table.hpp"

#include <gtest/gtest.h>

namespace stork::routing {
namespace {

using namespace std::chrono_literals;

const time_point now{std::chrono::seconds{1'800'000'000}};

rule make(std::string host, std::string target, time_point expires = now + 24h)
{
    rule r;
    r.host = std::move(host);
    r.target = std::move(target);
    r.expires_at = expires;
    return r;
}

TEST(table, exact_wildcard_and_misses)
{
    std::vector<rule> rules{
        make("my-app.example.com", "exact.target"),
        make("*.example.com", "wild.target"),
        make("*.b.example.com", "deeper.target"),
        make("example.org", "org.target"),
        make("gone.example.org", "gone.target", now - 1s),
        make("*.example.org", "wild.org.target"),
    };
    rules[0].mode = rule_mode::redirect;
    rules[0].redirect_code = 301;
    rules[3].upstream = config::endpoint{"203.0.113.7", 8443, true};
    rules[5].mode = rule_mode::passthrough;
    rules[5].proxy_protocol = true;
    const table t{rules, 7};
    EXPECT_EQ(t.size(), 6u);
    EXPECT_EQ(t.generation(), 7u);

    const struct {
        const char* host;
        const char* target; // nullptr: no rule
        bool expired;
    } cases[] = {
        {"my-app.example.com", "exact.target", false}, // exact beats the wildcard
        {"other.example.com", "wild.target", false},
        {"example.com", nullptr, false},               // a wildcard needs one more label
        {"a.b.example.com", "deeper.target", false},   // the most specific wildcard
        {"x.a.example.com", nullptr, false},           // one label only: *.example.com does not cover it
        {"example.org", "org.target", false},
        {"gone.example.org", "gone.target", true},     // expired exact rule still wins
        {"live.example.org", "wild.org.target", false},
        {"com", nullptr, false},
        {"", nullptr, false},
        {"unknown.test", nullptr, false},
    };
    for (const auto& c : cases) {
        const auto m = t.match(c.host, now);
        SCOPED_TRACE(c.host);
        if (c.target == nullptr) {
            EXPECT_FALSE(m);
            continue;
        }
        ASSERT_TRUE(m);
        EXPECT_EQ(m.rule->target, c.target);
        EXPECT_EQ(m.expired, c.expired);
    }
    const auto redirect = t.match("my-app.example.com", now);
    EXPECT_EQ(redirect.rule->mode, rule_mode::redirect);
    EXPECT_EQ(redirect.rule->redirect_code, 301);
    const auto upstream = t.match("example.org", now);
    EXPECT_EQ(upstream.rule->upstream_host, "203.0.113.7");
    EXPECT_EQ(upstream.rule->upstream_port, 8443);
    EXPECT_FALSE(upstream.rule->proxy_protocol);
    const auto passthrough = t.match("live.example.org", now);
    EXPECT_EQ(passthrough.rule->mode, rule_mode::passthrough);
    EXPECT_TRUE(passthrough.rule->proxy_protocol);
}

TEST(table, expiry_is_judged_at_the_given_time)
{
    const std::vector<rule> rules{make("a.example.com", "t", now)};
    const table t{rules, 1};
    EXPECT_FALSE(t.match("a.example.com", now - 1s).expired);
    EXPECT_TRUE(t.match("a.example.com", now).expired);
    EXPECT_TRUE(t.match("a.example.com", now + 1s).expired);
}

TEST(table, empty)
{
    const table t;
    EXPECT_FALSE(t.match("a.example.com", now));
    EXPECT_EQ(t.size(), 0u);
}

TEST(table, views_stay_valid_when_the_rules_go)
{
    std::optional<table> t;
    {
        std::vector<rule> rules{make("a.example.com", std::string(100, 't')), make("*.example.net", "w")};
        t.emplace(rules, 1);
    }
    EXPECT_EQ(t->match("a.example.com", now).rule->target, std::string(100, 't'));
    EXPECT_EQ(t->match("x.example.net", now).rule->host, "*.example.net");
}

} // namespace
} // namespace stork::routing
