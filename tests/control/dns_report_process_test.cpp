// `stork dns report` as an operator runs it (build/bin/stork), against a real storkd whose
// resolver is a real knotd: the table in the order of the days left, --json, the exit codes.
#include "config/timestamp.hpp"
#include "tests/dnscheck/knot_fixture.hpp"
#include "tests/dnscheck/report_zones.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/storkd_instance.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json/parse.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <sstream>

namespace stork {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;
namespace json = boost::json;

const std::string token = "0123456789abcdef0123456789abcdef";
const std::vector<std::pair<std::string, std::string>> auth{{"Authorization", "Bearer " + token}};

class dns_report_process : public ::testing::Test {
protected:
    dns_report_process()
    {
        token_file_ = dir_.write("admin.token", token + "\n");
        const auto config = dir_.write("storkd.yaml", "node: dns-report-test\n"
                                                      "workers: 1\n"
                                                      "listen:\n"
                                                      "  http: [\"127.0.0.1:0\"]\n"
                                                      "admin:\n"
                                                      "  listen: \"127.0.0.1:0\"\n"
                                                      "  token_file: admin.token\n"
                                                      "rules:\n"
                                                      "  path: rules\n"
                                                      "dns:\n"
                                                      "  resolvers: [\"" + knot_.server() + "\"]\n"
                                                      "access_log: \"off\"\n");
        storkd_.emplace(config);
        port_ = storkd_->admin_port();
        put("ready.example.test", "ready.osc-secnum-fr1.scalingo.test", 20 * 24h + 1h);
        put("pending.example.test", "pending.osc-secnum-fr1.scalingo.test", 3 * 24h + 1h);
        put("gone.example.test", "gone.osc-secnum-fr1.scalingo.test", -2 * 24h + 1h);
        put("*.shop.example.test", "shop.osc-secnum-fr1.scalingo.test", 10 * 24h + 1h);
    }

    ~dns_report_process() override
    {
        storkd_->process().send_signal(SIGTERM);
        const auto status = storkd_->process().wait(60s);
        EXPECT_TRUE(status && status->code == 0) << storkd_->process().err();
    }

    void put(const std::string& host, const std::string& target, std::chrono::hours from_now)
    {
        const auto expires =
            config::format_rfc3339(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) + from_now);
        const auto r = test::http_request(port_, "PUT", "/v1/rules/" + host, auth,
                                          R"({"target":")" + target + R"(","expires_at":")" + expires + R"("})");
        EXPECT_EQ(r.status, 201u) << host << ": " << r.body;
    }

    test::run_result stork(std::vector<std::string> args, std::string token_file = {})
    {
        std::vector<std::string> argv{test::binary("stork").string(), "dns", "report", "--admin",
                                      "http://127.0.0.1:" + std::to_string(port_), "--token-file",
                                      token_file.empty() ? token_file_.string() : token_file};
        argv.insert(argv.end(), args.begin(), args.end());
        return test::run(std::move(argv), 60s);
    }

    dnscheck::test::knot_server knot_{dnscheck::test::report_zones()};
    test::temp_dir dir_;
    std::filesystem::path token_file_;
    std::optional<test::storkd_instance> storkd_;
    std::uint16_t port_ = 0;
};

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in{text};
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

TEST_F(dns_report_process, a_table_soonest_expiry_first_and_exit_1_while_hosts_are_not_ready)
{
    ASSERT_NE(knot_.port(), 0);
    ASSERT_NE(port_, 0);
    const auto r = stork({});
    EXPECT_EQ(r.status.code, 1) << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "colour on a file";
    const auto lines = lines_of(r.out);
    ASSERT_GE(lines.size(), 11u) << r.out;
    EXPECT_THAT(lines[0], StartsWith("HOST                  TARGET"));
    EXPECT_THAT(lines[0], HasSubstr("DAYS LEFT  VERDICT"));
    EXPECT_THAT(lines[1], StartsWith("gone.example.test "));
    EXPECT_TRUE(lines[1].ends_with("-2  unresolvable")) << lines[1];
    EXPECT_THAT(lines[2], StartsWith("    "));
    EXPECT_THAT(lines[3], StartsWith("pending.example.test "));
    EXPECT_TRUE(lines[3].ends_with(" 3  pending")) << lines[3];
    EXPECT_THAT(lines[4], HasSubstr("pending.osc-secnum-fr1.scalingo.test"));
    EXPECT_THAT(lines[5], StartsWith("*.shop.example.test "));
    EXPECT_TRUE(lines[5].ends_with("10  skipped")) << lines[5];
    EXPECT_EQ(lines[6], "    wildcard rule: check a concrete name with stork dns check");
    EXPECT_THAT(lines[7], StartsWith("ready.example.test "));
    EXPECT_TRUE(lines[7].ends_with("20  ready")) << lines[7];
    EXPECT_THAT(lines[8], HasSubstr("Nothing to do"));
    EXPECT_EQ(lines.back(), "3 hosts checked: 1 ready, 1 pending, 1 unresolvable; 1 wildcard rule skipped");
}

TEST_F(dns_report_process, json_is_the_servers_answer_on_one_line)
{
    ASSERT_NE(port_, 0);
    const auto r = stork({"--json"});
    EXPECT_EQ(r.status.code, 1) << r.err;
    ASSERT_EQ(lines_of(r.out).size(), 1u) << r.out;
    const auto hosts = json::parse(r.out).at("hosts").as_array();
    ASSERT_EQ(hosts.size(), 4u);
    EXPECT_EQ(hosts[0].at("host"), "gone.example.test");
    EXPECT_EQ(hosts[3].at("verdict"), "ready");
}

TEST_F(dns_report_process, exit_0_once_every_checked_host_is_ready)
{
    ASSERT_NE(port_, 0);
    EXPECT_EQ(test::http_request(port_, "DELETE", "/v1/rules/gone.example.test", auth).status, 204u);
    EXPECT_EQ(test::http_request(port_, "DELETE", "/v1/rules/pending.example.test", auth).status, 204u);
    const auto r = stork({});
    EXPECT_EQ(r.status.code, 0) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("1 host checked: 1 ready; 1 wildcard rule skipped"));
}

TEST_F(dns_report_process, a_wrong_token_or_no_storkd_is_exit_2)
{
    ASSERT_NE(port_, 0);
    const auto wrong = stork({}, dir_.write("wrong.token", "nope\n").string());
    EXPECT_EQ(wrong.status.code, 2);
    EXPECT_EQ(wrong.out, "");
    EXPECT_EQ(wrong.err, "stork: the admin API refused the token: check --token-file or STORK_TOKEN\n");

    const auto nobody = test::run({test::binary("stork").string(), "dns", "report", "--admin",
                                   "http://127.0.0.1:" + std::to_string(dnscheck::test::free_port()), "--token-file",
                                   token_file_.string()},
                                  60s);
    EXPECT_EQ(nobody.status.code, 2);
    EXPECT_THAT(nobody.err, HasSubstr("cannot reach the admin API"));
}

} // namespace
} // namespace stork
