// stork dns check's parts that are not DNS: the rule's expiry from the admin API, the
// --watch change line, the exit codes.
#include "control/dns_commands.hpp"

#include "config/timestamp.hpp"
#include "tests/control/scripted_http_server.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace stork::control {
namespace {

using namespace std::chrono_literals;

struct dns_commands_loopback : ::testing::Test {
    std::ostringstream out;
    std::ostringstream err;
    test::scripted_http_server server;

    dns_io io(std::optional<std::string> stork_admin = std::nullopt)
    {
        return dns_io{.out = out,
                      .err = err,
                      .colour = false,
                      .env = [stork_admin](std::string_view name) -> std::optional<std::string> {
                          if (name == "STORK_TOKEN") {
                              return std::string{"secret"};
                          }
                          if (name == "STORK_ADMIN") {
                              return stork_admin;
                          }
                          return std::nullopt;
                      },
                      .timeouts = {.connect = 1s, .total = 2s}};
    }
    dns_check_command command(bool with_admin)
    {
        dns_check_command c{.host = "my-app.example.com", .expect = "my-app.osc-secnum-fr1.scalingo.io"};
        if (with_admin) {
            c.admin.url = server.url();
        }
        return c;
    }
};

TEST_F(dns_commands_loopback, without_admin_the_api_is_not_asked)
{
    EXPECT_FALSE(rule_expiry(command(false), io()));
    EXPECT_TRUE(server.requests().empty());
    EXPECT_EQ(err.str(), "");
}

TEST_F(dns_commands_loopback, the_rules_expiry_comes_from_the_admin_api)
{
    server.answer(200, R"({"host":"my-app.example.com","target":"x.example.net","expires_at":"2026-12-18T10:00:00Z"})");
    const auto at = rule_expiry(command(true), io());
    ASSERT_TRUE(at);
    EXPECT_EQ(config::format_rfc3339(*at), "2026-12-18T10:00:00Z");
    ASSERT_EQ(server.requests().size(), 1U);
    EXPECT_EQ(server.requests()[0].target, "/v1/rules/my-app.example.com");
    EXPECT_EQ(server.requests()[0].authorization, "Bearer secret");
}

TEST_F(dns_commands_loopback, stork_admin_in_the_environment_is_enough)
{
    server.answer(404, R"({"error":"no rule"})");
    EXPECT_FALSE(rule_expiry(command(false), io(server.url())));
    EXPECT_EQ(server.requests().size(), 1U);
    EXPECT_EQ(err.str(), "") << "no rule is not an error";
}

TEST_F(dns_commands_loopback, a_bad_answer_is_said_and_the_check_goes_on)
{
    server.answer(200, R"({"host":"my-app.example.com","expires_at":"tomorrow"})");
    EXPECT_FALSE(rule_expiry(command(true), io()));
    EXPECT_NE(err.str().find("expires_at"), std::string::npos) << err.str();
    EXPECT_NE(err.str().find("not shown"), std::string::npos) << err.str();
    err.str("");
    server.answer(500, "oops");
    EXPECT_FALSE(rule_expiry(command(true), io()));
    EXPECT_NE(err.str().find("answered 500"), std::string::npos) << err.str();
}

TEST(dns_commands, exit_codes_follow_the_verdict)
{
    dnscheck::report r;
    r.outcome = dnscheck::verdict::ready;
    EXPECT_EQ(exit_code_of(r), exit_ok);
    for (const auto v : {dnscheck::verdict::pending, dnscheck::verdict::propagating, dnscheck::verdict::misconfigured,
                         dnscheck::verdict::unresolvable}) {
        r.outcome = v;
        EXPECT_EQ(exit_code_of(r), exit_not_ready);
    }
    r.no_server_answered = true;
    EXPECT_EQ(exit_code_of(r), exit_error);
}

TEST(dns_commands, the_watch_line_says_what_changed_and_what_to_do)
{
    dnscheck::report before;
    before.outcome = dnscheck::verdict::pending;
    dnscheck::report now;
    now.outcome = dnscheck::verdict::propagating;
    now.checked_at = std::chrono::sys_days{std::chrono::year{2026} / 11 / 21} + 12h + 5s;
    now.advice = {"Nothing to change: the authoritative servers answer x."};
    EXPECT_EQ(change_line(before, now), "12:00:05 pending -> propagating: Nothing to change: the authoritative servers answer x.");
}

} // namespace
} // namespace stork::control
