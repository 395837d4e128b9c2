// storkd as a process: started with a generated configuration, waited on through its own
// sd_notify messages, driven with signals, stopped by pid.
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/storkd_instance.hpp"
#include "tests/support/temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>

namespace stork {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

std::string config_text(const std::string& node)
{
    return "node: " + node + "\n"
           "workers: 2\n"
           "listen:\n"
           "  http: [\"127.0.0.1:0\"]\n"
           "admin:\n"
           "  listen: \"127.0.0.1:0\"\n"
           "  token_file: admin.token\n"
           "rules:\n"
           "  path: rules\n"
           "access_log: \"off\"\n";
}

class storkd_process : public ::testing::Test {
protected:
    storkd_process()
    {
        dir_.write("admin.token", "0123456789abcdef0123456789abcdef\n");
        config_ = dir_.write("storkd.yaml", config_text("front-01"));
    }

    // Starts storkd and waits for READY=1; returns the admin port it reported.
    std::uint16_t start()
    {
        storkd_.emplace(config_);
        return storkd_->admin_port();
    }

    std::string metrics(std::uint16_t port) { return test::http_request(port, "GET", "/metrics").body; }

    test::temp_dir dir_;
    std::filesystem::path config_;
    std::optional<test::storkd_instance> storkd_;
};

TEST_F(storkd_process, check_prints_ok_for_a_valid_configuration)
{
    const auto r = test::run({test::binary("storkd").string(), "--config", config_.string(), "--check"});
    EXPECT_EQ(r.status.code, 0) << r.err;
    EXPECT_EQ(r.out, "ok\n");
    EXPECT_EQ(r.err, "");
}

TEST_F(storkd_process, check_prints_every_error_and_exits_1)
{
    const auto bad = dir_.write("bad.yaml", "workers: 0\n"
                                            "listen:\n"
                                            "  http: [\"127.0.0.1:99999\"]\n"
                                            "admin:\n"
                                            "  token_file: missing.token\n");
    const auto r = test::run({test::binary("storkd").string(), "--config", bad.string(), "--check"});
    EXPECT_EQ(r.status.code, 1);
    EXPECT_EQ(r.out, "");
    const std::string f = bad.string();
    EXPECT_THAT(r.err, HasSubstr(f + ":1:10: workers: "));
    EXPECT_THAT(r.err, HasSubstr(f + ":3:10: listen.http[0]: \"127.0.0.1:99999\": port \"99999\""));
    EXPECT_THAT(r.err, HasSubstr(f + ":5:15: admin.token_file: cannot read "));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 3) << r.err;
}

TEST_F(storkd_process, check_of_a_missing_file_names_it)
{
    const auto r = test::run({test::binary("storkd").string(), "--config", (dir_.path() / "nope.yaml").string(), "--check"});
    EXPECT_EQ(r.status.code, 1);
    EXPECT_THAT(r.err, HasSubstr("nope.yaml: cannot read"));
}

TEST_F(storkd_process, help_version_and_usage_errors)
{
    const auto help = test::run({test::binary("storkd").string(), "--help"});
    EXPECT_EQ(help.status.code, 0);
    EXPECT_THAT(help.out, StartsWith("usage: storkd"));
    const auto version = test::run({test::binary("storkd").string(), "--version"});
    EXPECT_EQ(version.status.code, 0);
    EXPECT_THAT(version.out, StartsWith("storkd "));
    const auto bad = test::run({test::binary("storkd").string(), "--frobnicate"});
    EXPECT_EQ(bad.status.code, 2);
    EXPECT_THAT(bad.err, StartsWith("storkd: unknown argument \"--frobnicate\""));
}

TEST_F(storkd_process, serves_health_and_metrics_then_stops_on_sigterm)
{
    const std::uint16_t port = start();
    ASSERT_NE(port, 0);
    EXPECT_EQ(test::http_request(port, "GET", "/healthz").status, 200u);
    const std::string m = metrics(port);
    EXPECT_THAT(m, HasSubstr("stork_build_info{version=\""));
    EXPECT_THAT(m, HasSubstr("stork_node_info{node=\"front-01\"} 1\n"));
    EXPECT_THAT(m, HasSubstr("stork_workers 2\n"));
    EXPECT_THAT(m, HasSubstr("# TYPE stork_uptime_seconds gauge\nstork_uptime_seconds "));
    EXPECT_EQ(test::http_request(port, "GET", "/v1/rules").status, 401u);

    storkd_->process().send_signal(SIGTERM);
    EXPECT_TRUE(storkd_->notifications().wait_for("STOPPING", "1", 30s));
    const auto status = storkd_->process().wait(30s);
    ASSERT_TRUE(status) << "storkd did not exit after SIGTERM";
    EXPECT_EQ(status->code, 0);
    EXPECT_EQ(status->signal, 0);
}

TEST_F(storkd_process, sigint_is_a_clean_stop_too)
{
    ASSERT_NE(start(), 0);
    storkd_->process().send_signal(SIGINT);
    const auto status = storkd_->process().wait(30s);
    ASSERT_TRUE(status);
    EXPECT_EQ(status->code, 0);
}

TEST_F(storkd_process, sighup_with_a_broken_config_keeps_the_running_one)
{
    const std::uint16_t port = start();
    ASSERT_NE(port, 0);
    EXPECT_THAT(metrics(port), HasSubstr("stork_config_reloads_total{result=\"failure\"} 0\n"));

    dir_.write("storkd.yaml", config_text("front-02") + "upstream:\n  connect_timeout: soon\n");
    storkd_->process().send_signal(SIGHUP);
    const auto reloaded = storkd_->notifications().wait_for("STORK_RELOAD", std::nullopt, 30s);
    ASSERT_TRUE(reloaded);
    EXPECT_EQ(reloaded->at("STORK_RELOAD"), "failed");
    EXPECT_EQ(reloaded->at("READY"), "1");

    // Still serving, with the old configuration, and the error is in the log.
    EXPECT_EQ(test::http_request(port, "GET", "/healthz").status, 200u);
    const std::string m = metrics(port);
    EXPECT_THAT(m, HasSubstr("stork_node_info{node=\"front-01\"} 1\n"));
    EXPECT_THAT(m, HasSubstr("stork_config_reloads_total{result=\"failure\"} 1\n"));
    EXPECT_THAT(m, HasSubstr("stork_config_reloads_total{result=\"success\"} 0\n"));
    EXPECT_THAT(storkd_->process().err(), HasSubstr("reload refused, the running configuration stays: " + config_.string() +
                                         ":12:20: upstream.connect_timeout: "));

    // A fixed configuration is then applied by the next SIGHUP.
    dir_.write("storkd.yaml", config_text("front-02"));
    storkd_->process().send_signal(SIGHUP);
    const auto again = storkd_->notifications().wait_for("STORK_RELOAD", std::nullopt, 30s);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->at("STORK_RELOAD"), "ok");
    const std::string after = metrics(port);
    EXPECT_THAT(after, HasSubstr("stork_node_info{node=\"front-02\"} 1\n"));
    EXPECT_THAT(after, HasSubstr("stork_config_reloads_total{result=\"success\"} 1\n"));

    storkd_->process().send_signal(SIGTERM);
    const auto status = storkd_->process().wait(30s);
    ASSERT_TRUE(status);
    EXPECT_EQ(status->code, 0);
}

TEST_F(storkd_process, sighup_reloads_the_admin_token)
{
    const std::uint16_t port = start();
    ASSERT_NE(port, 0);
    const std::vector<std::pair<std::string, std::string>> old_token{{"Authorization", "Bearer 0123456789abcdef0123456789abcdef"}};
    const std::vector<std::pair<std::string, std::string>> new_token{{"Authorization", "Bearer fedcba9876543210fedcba9876543210"}};
    EXPECT_EQ(test::http_request(port, "GET", "/v1/rules", old_token).status, 200u);
    dir_.write("admin.token", "fedcba9876543210fedcba9876543210\n");
    storkd_->process().send_signal(SIGHUP);
    ASSERT_TRUE(storkd_->notifications().wait_for("STORK_RELOAD", "ok", 30s));
    EXPECT_EQ(test::http_request(port, "GET", "/v1/rules", old_token).status, 401u);
    EXPECT_EQ(test::http_request(port, "GET", "/v1/rules", new_token).status, 200u);
}

TEST_F(storkd_process, refuses_to_start_with_a_broken_config)
{
    dir_.write("storkd.yaml", "listen: {}\n");
    const auto r = test::run({test::binary("storkd").string(), "--config", config_.string()});
    EXPECT_EQ(r.status.code, 1);
    EXPECT_THAT(r.err, HasSubstr(config_.string() + ":1:9: listen: needs at least one"));
}

TEST_F(storkd_process, admin_address_in_use_is_a_clear_start_error)
{
    const std::uint16_t port = start();
    ASSERT_NE(port, 0);
    const auto second = dir_.write("second.yaml", "listen:\n  http: [\"127.0.0.1:0\"]\nadmin:\n  listen: \"127.0.0.1:" +
                                                      std::to_string(port) + "\"\n  token_file: admin.token\nrules:\n  path: rules2\n");
    const auto r = test::run({test::binary("storkd").string(), "--config", second.string()});
    EXPECT_EQ(r.status.code, 1);
    EXPECT_THAT(r.err, HasSubstr("cannot start: admin listener 127.0.0.1:" + std::to_string(port)));
    EXPECT_THAT(r.err, HasSubstr("Address already in use"));
}

} // namespace
} // namespace stork
