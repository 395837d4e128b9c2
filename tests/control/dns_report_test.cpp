#include "control/dns_report.hpp"

#include "tests/control/scripted_http_server.hpp"

#include <boost/json/parse.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

namespace stork::control {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

const std::string answer = R"({"checked_at":"2026-11-21T10:00:00Z","hosts":[)"
                           R"({"host":"old.example.com","target":"old.scalingo.test","app":"","migration":"",)"
                           R"("expires_at":"2026-11-19T10:00:00Z","days_left":-2,"verdict":"pending","points_to":"old_target",)"
                           R"("advice":["Change the CNAME of old.example.com to old.scalingo.test.","later"],"problems":[]},)"
                           R"({"host":"*.shop.example.com","target":"shop.scalingo.test","app":"","migration":"",)"
                           R"("expires_at":"2026-11-25T10:00:00Z","days_left":4,"verdict":null,"points_to":null,)"
                           R"("advice":[],"problems":[],"skipped":"wildcard rule: check a concrete name with stork dns check"},)"
                           R"({"host":"a.example.com","target":"a.scalingo.test","app":"a","migration":"m",)"
                           R"("expires_at":"2026-12-21T10:00:00Z","days_left":30,"verdict":"ready","points_to":"new_target",)"
                           R"("advice":["Nothing to do."],"problems":[],"future_field":1}]})";

std::vector<dns_report_line> lines_of(const std::string& body)
{
    auto lines = dns_report_lines(json::parse(body));
    if (!lines) {
        ADD_FAILURE() << lines.error();
        return {};
    }
    return *lines;
}

TEST(dns_report, lines_from_the_answer_in_its_order)
{
    EXPECT_EQ(lines_of(answer),
              (std::vector<dns_report_line>{
                  {.host = "old.example.com",
                   .target = "old.scalingo.test",
                   .days_left = -2,
                   .verdict = "pending",
                   .first_advice = "Change the CNAME of old.example.com to old.scalingo.test."},
                  {.host = "*.shop.example.com",
                   .target = "shop.scalingo.test",
                   .days_left = 4,
                   .skipped = "wildcard rule: check a concrete name with stork dns check"},
                  {.host = "a.example.com",
                   .target = "a.scalingo.test",
                   .days_left = 30,
                   .verdict = "ready",
                   .first_advice = "Nothing to do."},
              }));
}

TEST(dns_report, answers_of_the_wrong_shape_are_refused)
{
    for (const char* body : {R"([])", R"({})", R"({"hosts":{}})", R"({"hosts":[1]})", R"({"hosts":[{"host":"a"}]})",
                             R"({"hosts":[{"host":"a","target":"t","days_left":"3"}]})"}) {
        EXPECT_FALSE(dns_report_lines(json::parse(body))) << body;
    }
    EXPECT_TRUE(dns_report_lines(json::parse(R"({"hosts":[]})")));
}

TEST(dns_report, an_aligned_table_with_the_first_advice_below_each_host)
{
    EXPECT_EQ(format_dns_report(lines_of(answer), false),
              "HOST                TARGET              DAYS LEFT  VERDICT\n"
              "old.example.com     old.scalingo.test          -2  pending\n"
              "    Change the CNAME of old.example.com to old.scalingo.test.\n"
              "*.shop.example.com  shop.scalingo.test          4  skipped\n"
              "    wildcard rule: check a concrete name with stork dns check\n"
              "a.example.com       a.scalingo.test            30  ready\n"
              "    Nothing to do.\n"
              "\n"
              "2 hosts checked: 1 ready, 1 pending; 1 wildcard rule skipped\n");
    EXPECT_EQ(format_dns_report({}, false), "no rules\n");
}

TEST(dns_report, colours_only_the_verdicts_and_only_when_asked)
{
    const std::string text = format_dns_report(lines_of(answer), true);
    EXPECT_THAT(text, HasSubstr("-2  \x1b[1;33mpending\x1b[0m\n"));
    EXPECT_THAT(text, HasSubstr("30  \x1b[1;32mready\x1b[0m\n"));
    EXPECT_THAT(text, HasSubstr("4  \x1b[2mskipped\x1b[0m\n"));
    EXPECT_EQ(format_dns_report(lines_of(answer), false).find('\x1b'), std::string::npos);
}

TEST(dns_report, server_text_cannot_drive_the_terminal)
{
    const auto lines = lines_of(R"({"hosts":[{"host":"a\u001b[2Jb","target":"t","days_left":1,"verdict":"ready",)"
                                R"("advice":["line\nbreak"]}]})");
    const std::string text = format_dns_report(lines, false);
    EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
    EXPECT_THAT(text, HasSubstr("line\\nbreak"));
}

TEST(dns_report, exit_code_is_0_only_when_every_checked_host_is_ready)
{
    EXPECT_EQ(dns_report_exit_code(lines_of(answer)), exit_not_ready);
    EXPECT_EQ(dns_report_exit_code({}), exit_ok);
    EXPECT_EQ(dns_report_exit_code({{.host = "a", .verdict = "ready"}, {.host = "*.b", .skipped = "wildcard"}}), exit_ok);
    EXPECT_EQ(dns_report_exit_code({{.host = "a", .verdict = "propagating"}}), exit_not_ready);
}

// ---- against a scripted storkd ----------------------------------------------------------

class dns_report_loopback : public ::testing::Test {
protected:
    test::scripted_http_server server;
    std::ostringstream out;
    std::ostringstream err;

    dns_report_io io()
    {
        return dns_report_io{.out = out,
                             .err = err,
                             .env = [](std::string_view name) -> std::optional<std::string> {
                                 if (name == "STORK_TOKEN") {
                                     return std::string{"s3cr3t"};
                                 }
                                 return std::nullopt;
                             },
                             .colour = false,
                             .timeouts = {.connect = std::chrono::seconds{2}, .total = std::chrono::seconds{5}}};
    }

    int run(bool json_output = false)
    {
        return run_dns_report(dns_report_command{.admin = {.url = server.url()}, .json = json_output}, io());
    }
};

TEST_F(dns_report_loopback, asks_the_report_with_the_token_and_prints_it)
{
    server.answer(200, answer);
    EXPECT_EQ(run(), exit_not_ready);
    EXPECT_EQ(err.str(), "");
    EXPECT_THAT(out.str(), HasSubstr("2 hosts checked: 1 ready, 1 pending"));
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].method, "GET");
    EXPECT_EQ(requests[0].target, "/v1/dns/report");
    EXPECT_EQ(requests[0].authorization, "Bearer s3cr3t");
}

TEST_F(dns_report_loopback, json_prints_the_answer_on_one_line_with_the_same_exit_code)
{
    server.answer(200, "{\n  \"checked_at\": \"2026-11-21T10:00:00Z\",\n  \"hosts\": []\n}\n");
    EXPECT_EQ(run(true), exit_ok);
    EXPECT_EQ(out.str(), "{\"checked_at\":\"2026-11-21T10:00:00Z\",\"hosts\":[]}\n");
}

TEST_F(dns_report_loopback, refusals_are_one_line_on_stderr_and_exit_2)
{
    const struct {
        unsigned status;
        std::string body;
        std::string says;
    } cases[] = {
        {401, R"({"error":"missing or wrong bearer token"})", "refused the token"},
        {429, R"({"error":"a DNS report is already running; retry when it is done"})", "already running a DNS report"},
        {404, R"({"error":"no such endpoint"})", "older than this stork"},
        {400, R"({"error":"authoritative: needs an IP","field":"authoritative"})",
         "answered 400 Bad Request: authoritative: needs an IP (field authoritative)"},
        {200, "not json", "unexpected answer"},
        {200, R"({"rules":[]})", "a \"hosts\" list"},
    };
    for (const auto& c : cases) {
        out.str({});
        err.str({});
        server.answer(c.status, c.body);
        EXPECT_EQ(run(), exit_error) << c.body;
        EXPECT_EQ(out.str(), "");
        const std::string text = err.str();
        EXPECT_THAT(text, HasSubstr(c.says));
        EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
    }
}

TEST(dns_report_closed_port_loopback, is_an_error_naming_the_url)
{
    std::ostringstream out;
    std::ostringstream err;
    const dns_report_io io{.out = out, .err = err, .env = [](std::string_view) -> std::optional<std::string> {
                               return std::string{"t"};
                           }};
    // Port 1 on loopback: nothing listens there.
    EXPECT_EQ(run_dns_report(dns_report_command{.admin = {.url = "http://127.0.0.1:1"}}, io), exit_error);
    EXPECT_THAT(err.str(), HasSubstr("http://127.0.0.1:1"));
}

} // namespace
} // namespace stork::control
