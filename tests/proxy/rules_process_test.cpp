// The rule endpoints of a real storkd: the contract of design.md §2 over HTTP, changes
// reaching every worker's table, rules surviving restarts and kill -9.
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/storkd_instance.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json/parse.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <mutex>
#include <random>
#include <set>
#include <thread>

namespace stork {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace json = boost::json;

const std::string token = "0123456789abcdef0123456789abcdef";
const std::vector<std::pair<std::string, std::string>> auth{{"Authorization", "Bearer " + token}};

class rules_process : public ::testing::Test {
protected:
    rules_process()
    {
        dir_.write("admin.token", token + "\n");
        config_ = dir_.write("storkd.yaml", "node: rules-test\n"
                                            "workers: 2\n"
                                            "listen:\n"
                                            "  http: [\"127.0.0.1:0\"]\n"
                                            "admin:\n"
                                            "  listen: \"127.0.0.1:0\"\n"
                                            "  token_file: admin.token\n"
                                            "rules:\n"
                                            "  path: rules\n"
                                            "  default_ttl: 30d\n"
                                            "access_log: \"off\"\n");
    }

    // Starts storkd and waits for READY=1; returns the admin port.
    std::uint16_t start()
    {
        storkd_.emplace(config_);
        return storkd_->admin_port();
    }

    void stop()
    {
        storkd_->process().send_signal(SIGTERM);
        const auto status = storkd_->process().wait(60s);
        ASSERT_TRUE(status);
        EXPECT_EQ(status->code, 0) << storkd_->process().err();
    }

    // The value of an unlabelled sample in /metrics ("name value\n").
    static double metric(std::uint16_t port, const std::string& name)
    {
        const std::string text = "\n" + test::http_request(port, "GET", "/metrics").body;
        const std::size_t at = text.find("\n" + name + " ");
        if (at == std::string::npos) {
            ADD_FAILURE() << name << " not in\n" << text;
            return -1;
        }
        return std::stod(text.substr(at + name.size() + 2));
    }

    test::temp_dir dir_;
    std::filesystem::path config_;
    std::optional<test::storkd_instance> storkd_;
};

TEST_F(rules_process, the_admin_api_contract_over_http)
{
    const std::uint16_t port = start();
    ASSERT_NE(port, 0);

    // 401 without the token, with a wrong one; nothing stored.
    EXPECT_EQ(test::http_request(port, "PUT", "/v1/rules/a.example.com", {}, R"({"target":"t.example.net"})").status, 401u);
    EXPECT_EQ(test::http_request(port, "GET", "/v1/rules", {{"Authorization", "Bearer nope"}}).status, 401u);

    const auto created = test::http_request(port, "PUT", "/v1/rules/my-app.example.com", auth,
                                            R"({"target": "my-app.osc-secnum-fr1.scalingo.io", "app": "my-app"})");
    EXPECT_EQ(created.status, 201u) << created.body;
    EXPECT_EQ(created.headers.at("content-type"), "application/json");
    EXPECT_EQ(json::parse(created.body).at("expired"), false);
    EXPECT_EQ(test::http_request(port, "PUT", "/v1/rules/my-app.example.com", auth,
                                 R"({"target": "my-app.osc-secnum-fr1.scalingo.io"})")
                  .status,
              200u);
    EXPECT_EQ(test::http_request(port, "GET", "/v1/rules/MY-APP.example.com", auth).status, 200u);

    // 400 names the field and stores nothing.
    const auto bad = test::http_request(port, "PUT", "/v1/rules/b.example.com", auth,
                                        R"({"target": "t.example.net", "mode": "tunnel"})");
    EXPECT_EQ(bad.status, 400u);
    EXPECT_EQ(json::parse(bad.body).at("field"), "mode");
    EXPECT_EQ(test::http_request(port, "GET", "/v1/rules/b.example.com", auth).status, 404u);

    // 413 above 1 MiB, and nothing stored.
    const std::string huge = R"({"target": "t.example.net", "app": ")" + std::string(1100 * 1024, 'a') + "\"}";
    EXPECT_EQ(test::http_request(port, "PUT", "/v1/rules/c.example.com", auth, huge).status, 413u);
    EXPECT_EQ(test::http_request(port, "GET", "/v1/rules/c.example.com", auth).status, 404u);

    const auto list = test::http_request(port, "GET", "/v1/rules", auth);
    EXPECT_EQ(json::parse(list.body).at("rules").as_array().size(), 1u);
    EXPECT_EQ(test::http_request(port, "DELETE", "/v1/rules/my-app.example.com", auth).status, 204u);
    EXPECT_EQ(test::http_request(port, "DELETE", "/v1/rules/my-app.example.com", auth).status, 404u);
    stop();
}

TEST_F(rules_process, a_change_reaches_every_worker)
{
    const std::uint16_t port = start();
    ASSERT_NE(port, 0);
    ASSERT_EQ(test::http_request(port, "PUT", "/v1/rules/a.example.com", auth, R"({"target": "t.example.net"})").status,
              201u);
    const double wanted = metric(port, "stork_rules_generation");
    // The workers' tables catch up with the registry: wait on it (bounded), and report
    // how long it took rather than assert a time on this shared machine.
    const auto started = std::chrono::steady_clock::now();
    while (metric(port, "stork_rules_table_generation") < wanted) {
        ASSERT_LT(std::chrono::steady_clock::now() - started, 10s) << "the table never reached the workers";
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    RecordProperty("table_publication_ms", static_cast<int>(took.count()));
    stop();
}

TEST_F(rules_process, rules_survive_a_restart_and_expired_ones_stay_listed)
{
    std::uint16_t port = start();
    ASSERT_NE(port, 0);
    ASSERT_EQ(test::http_request(port, "PUT", "/v1/rules/live.example.com", auth, R"({"target": "t.example.net"})").status,
              201u);
    ASSERT_EQ(test::http_request(port, "PUT", "/v1/rules/gone.example.com", auth,
                                 R"({"target": "t.example.net", "expires_at": "2020-01-01T00:00:00Z"})")
                  .status,
              201u);
    stop();
    port = start();
    ASSERT_NE(port, 0);
    const auto expired = test::http_request(port, "GET", "/v1/rules?expired=true", auth);
    const auto rules = json::parse(expired.body).at("rules").as_array();
    ASSERT_EQ(rules.size(), 1u);
    EXPECT_EQ(rules[0].at("host"), "gone.example.com");
    EXPECT_EQ(rules[0].at("expired"), true);
    EXPECT_EQ(test::http_request(port, "GET", "/v1/rules/live.example.com", auth).status, 200u);
    const std::string m = test::http_request(port, "GET", "/metrics").body;
    EXPECT_THAT(m, HasSubstr("stork_rules{state=\"active\"} 1\n"));
    EXPECT_THAT(m, HasSubstr("stork_rules{state=\"expired\"} 1\n"));
    EXPECT_THAT(m, HasSubstr("stork_rule_store_journal_bytes "));
    stop();
}

// Writers PUT rules as fast as storkd acknowledges them while the process is killed with
// SIGKILL at a random moment; after a restart every acknowledged rule must be there, with
// the target it was acknowledged with. Many trials, one folder: state accumulates.
TEST_F(rules_process, kill_9_under_concurrent_writes_loses_no_acknowledged_rule)
{
    const unsigned seed = std::random_device{}();
    RecordProperty("seed", static_cast<int>(seed));
    std::mt19937 rng{seed};
    std::map<std::string, std::string> acknowledged;        // host → target
    std::map<std::string, std::set<std::string>> in_flight; // sent, not acknowledged when killed
    constexpr int trials = 20;
    constexpr int writers = 3;

    for (int trial = 0; trial < trials; ++trial) {
        SCOPED_TRACE("trial " + std::to_string(trial) + ", seed " + std::to_string(seed));
        const std::uint16_t port = start();
        ASSERT_NE(port, 0);

        // Everything acknowledged so far is there.
        const auto listed = json::parse(test::http_request(port, "GET", "/v1/rules", auth).body).at("rules").as_array();
        std::map<std::string, std::string> present;
        for (const auto& r : listed) {
            present.emplace(r.at("host").as_string(), r.at("target").as_string());
        }
        for (auto& [host, target] : acknowledged) {
            const auto it = present.find(host);
            ASSERT_NE(it, present.end()) << "lost acknowledged rule " << host;
            // A write in flight at the kill may or may not have become durable: either
            // the acknowledged target or one of those is right, nothing else.
            if (it->second != target) {
                EXPECT_TRUE(in_flight[host].contains(it->second)) << host << ": " << it->second;
                target = it->second;
            }
        }
        in_flight.clear();

        std::mutex mutex;
        std::atomic<bool> dead{false};
        std::vector<std::thread> threads;
        for (int w = 0; w < writers; ++w) {
            threads.emplace_back([&, w] {
                for (int i = 0; !dead; ++i) {
                    // Some writes replace rules of earlier trials: a replacement that was
                    // acknowledged must win over the older target too.
                    const std::string host = i % 4 == 3 && trial > 0
                                                 ? "t" + std::to_string(trial - 1) + "-w" + std::to_string(w) + "-" +
                                                       std::to_string(i) + ".example.com"
                                                 : "t" + std::to_string(trial) + "-w" + std::to_string(w) + "-" +
                                                       std::to_string(i) + ".example.com";
                    const std::string target = "target-" + std::to_string(trial) + "-" + std::to_string(i) + ".example.net";
                    {
                        std::lock_guard lock{mutex};
                        in_flight[host].insert(target);
                    }
                    try {
                        const auto r = test::http_request(port, "PUT", "/v1/rules/" + host, auth,
                                                          R"({"target": ")" + target + "\"}");
                        if (r.status == 200 || r.status == 201) {
                            std::lock_guard lock{mutex};
                            acknowledged[host] = target;
                            in_flight[host].erase(target);
                        }
                    } catch (const std::exception&) {
                        return; // the process is gone: this write was never acknowledged
                    }
                }
            });
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{std::uniform_int_distribution{5, 250}(rng)});
        storkd_->process().send_signal(SIGKILL);
        const auto status = storkd_->process().wait(30s);
        dead = true;
        for (auto& t : threads) {
            t.join();
        }
        ASSERT_TRUE(status);
        EXPECT_EQ(status->signal, SIGKILL);
    }

    const std::uint16_t port = start();
    ASSERT_NE(port, 0);
    const auto listed = json::parse(test::http_request(port, "GET", "/v1/rules", auth).body).at("rules").as_array();
    std::size_t found = 0;
    for (const auto& r : listed) {
        const std::string host{r.at("host").as_string()};
        const std::string target{r.at("target").as_string()};
        const auto it = acknowledged.find(host);
        if (it != acknowledged.end() && (it->second == target || in_flight[host].contains(target))) {
            ++found;
        }
    }
    EXPECT_EQ(found, acknowledged.size());
    RecordProperty("acknowledged", static_cast<int>(acknowledged.size()));
    EXPECT_GT(acknowledged.size(), 0u);
    stop();
}

} // namespace
} // namespace stork
