#include "control/rules_commands.hpp"

#include "tests/control/scripted_http_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace stork::control {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using std::chrono::sys_days;
using test::scripted_response;

const std::chrono::sys_seconds now = sys_days{2026y / 11 / 20} + 10h;
constexpr std::string_view token = "s3cr3t";

// One storkd played by the test, and a command run against it with its output captured.
class rules_commands_loopback : public ::testing::Test {
protected:
    test::scripted_http_server server;
    std::ostringstream out;
    std::ostringstream err;
    admin_timeouts timeouts{};

    rules_io io()
    {
        return rules_io{.out = out,
                        .err = err,
                        .env = [](std::string_view name) -> std::optional<std::string> {
                            if (name == "STORK_TOKEN") {
                                return std::string{token};
                            }
                            return std::nullopt;
                        },
                        .now = now,
                        .timeouts = timeouts};
    }

    admin_options admin() const { return admin_options{.url = server.url()}; }

    test::recorded_request only_request() const
    {
        const auto requests = server.requests();
        EXPECT_EQ(requests.size(), 1u);
        return requests.empty() ? test::recorded_request{} : requests.front();
    }

    void expect_error(const std::string& message)
    {
        EXPECT_EQ(out.str(), "");
        EXPECT_EQ(err.str(), "stork: " + message + "\n");
    }
};

const std::string rule_a = R"({"host":"a.example.com","target":"a.osc-secnum-fr1.scalingo.io","mode":"proxy",)"
                           R"("upstream_tls":true,"preserve_host":true,"expires_at":"2026-12-20T10:00:00Z",)"
                           R"("app":"shop","created_at":"2026-11-20T10:00:00Z","updated_at":"2026-11-20T10:00:00Z",)"
                           R"("expired":false})";

// ---- list ----------------------------------------------------------------------------

TEST_F(rules_commands_loopback, list_sends_the_filters_and_prints_a_table)
{
    server.answer(200, R"({"rules":[)" + rule_a +
                           R"(,{"host":"*.example.org","target":"org.osc-secnum-fr1.scalingo.io","mode":"redirect",)"
                           R"("expires_at":"2026-11-17T10:00:00Z","expired":true,"app":"org"}]})");
    const int code = run_rules_list(
        rules_list_command{.admin = admin(), .app = "shop", .migration = "m 1", .expired = false}, io());
    EXPECT_EQ(code, exit_ok);
    const auto request = only_request();
    EXPECT_EQ(request.method, "GET");
    EXPECT_EQ(request.target, "/v1/rules?app=shop&migration=m%201&expired=false");
    EXPECT_EQ(request.authorization, "Bearer s3cr3t");
    EXPECT_EQ(request.host, "127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(request.body, "");
    EXPECT_EQ(out.str(),
              "HOST           TARGET                          MODE      EXPIRES         APP\n"
              "*.example.org  org.osc-secnum-fr1.scalingo.io  redirect  expired 3d ago  org\n"
              "a.example.com  a.osc-secnum-fr1.scalingo.io    proxy     30d             shop\n");
    EXPECT_EQ(err.str(), "");
}

TEST_F(rules_commands_loopback, list_json_prints_the_servers_object_on_one_line)
{
    server.answer(200, "{\n  \"rules\": [\n    " + rule_a + "\n  ]\n}\n");
    EXPECT_EQ(run_rules_list(rules_list_command{.admin = admin(), .json = true}, io()), exit_ok);
    EXPECT_EQ(only_request().target, "/v1/rules");
    EXPECT_EQ(json::parse(out.str()), json::parse(R"({"rules":[)" + rule_a + "]}"));
    EXPECT_EQ(out.str().find('\n'), out.str().size() - 1);
}

TEST_F(rules_commands_loopback, list_of_nothing_says_so)
{
    server.answer(200, R"({"rules":[]})");
    server.answer(200, R"({"rules":[]})");
    EXPECT_EQ(run_rules_list(rules_list_command{.admin = admin()}, io()), exit_ok);
    EXPECT_EQ(run_rules_list(rules_list_command{.admin = admin(), .app = "x"}, io()), exit_ok);
    EXPECT_EQ(out.str(), "no rules\nno rules match\n");
}

TEST_F(rules_commands_loopback, list_refuses_an_answer_that_is_not_the_expected_json)
{
    server.answer(scripted_response{.status = 200, .body = "<html>hello</html>", .content_type = "text/html"});
    EXPECT_EQ(run_rules_list(rules_list_command{.admin = admin()}, io()), exit_error);
    expect_error("unexpected answer from the admin API at " + server.url() +
                 " (200 OK): a body that is not JSON (\"<html>hello</html>\")");
}

TEST_F(rules_commands_loopback, list_refuses_json_of_the_wrong_shape)
{
    server.answer(200, R"({"items":[]})");
    EXPECT_EQ(run_rules_list(rules_list_command{.admin = admin()}, io()), exit_error);
    expect_error("unexpected answer from the admin API at " + server.url() + " (200 OK): no \"rules\" array");
}

// ---- get -----------------------------------------------------------------------------

TEST_F(rules_commands_loopback, get_prints_the_rule_as_key_value_lines)
{
    server.answer(200, rule_a);
    EXPECT_EQ(run_rules_get(rules_get_command{.admin = admin(), .host = "a.example.com"}, io()), exit_ok);
    const auto request = only_request();
    EXPECT_EQ(request.method, "GET");
    EXPECT_EQ(request.target, "/v1/rules/a.example.com");
    EXPECT_EQ(request.authorization, "Bearer s3cr3t");
    EXPECT_EQ(out.str(),
              "host:          a.example.com\n"
              "target:        a.osc-secnum-fr1.scalingo.io\n"
              "mode:          proxy\n"
              "upstream_tls:  true\n"
              "preserve_host: true\n"
              "expires_at:    2026-12-20T10:00:00Z (30d left)\n"
              "app:           shop\n"
              "created_at:    2026-11-20T10:00:00Z\n"
              "updated_at:    2026-11-20T10:00:00Z\n");
    EXPECT_EQ(err.str(), "");
}

TEST_F(rules_commands_loopback, get_json_and_a_wildcard_host)
{
    server.answer(200, rule_a);
    EXPECT_EQ(run_rules_get(rules_get_command{.admin = admin(), .host = "*.example.com", .json = true}, io()),
              exit_ok);
    EXPECT_EQ(only_request().target, "/v1/rules/%2A.example.com");
    EXPECT_EQ(json::parse(out.str()), json::parse(rule_a));
}

TEST_F(rules_commands_loopback, get_of_a_host_without_a_rule_answers_no_with_1)
{
    server.answer(404, R"({"error":"no rule for a.example.com"})");
    EXPECT_EQ(run_rules_get(rules_get_command{.admin = admin(), .host = "a.example.com"}, io()), exit_not_ready);
    EXPECT_EQ(out.str(), "no rule for a.example.com\n");
    EXPECT_EQ(err.str(), "");
}

TEST_F(rules_commands_loopback, get_json_of_a_host_without_a_rule_keeps_stdout_for_json)
{
    server.answer(404, R"({"error":"no rule"})");
    EXPECT_EQ(run_rules_get(rules_get_command{.admin = admin(), .host = "a.example.com", .json = true}, io()),
              exit_not_ready);
    expect_error("no rule for a.example.com");
}

TEST_F(rules_commands_loopback, get_refuses_a_rule_without_a_target)
{
    server.answer(200, R"({"host":"a.example.com"})");
    EXPECT_EQ(run_rules_get(rules_get_command{.admin = admin(), .host = "a.example.com"}, io()), exit_error);
    expect_error("unexpected answer from the admin API at " + server.url() +
                 " (200 OK): the rule of \"a.example.com\" has no \"target\" string");
}

// ---- add -----------------------------------------------------------------------------

TEST_F(rules_commands_loopback, add_puts_the_rule_and_says_created)
{
    server.answer(201, rule_a);
    const rules_add_command cmd{.admin = admin(),
                                .host = "a.example.com",
                                .target = "a.osc-secnum-fr1.scalingo.io",
                                .ttl = std::chrono::days{30},
                                .app = "shop"};
    EXPECT_EQ(run_rules_add(cmd, io()), exit_ok);
    const auto request = only_request();
    EXPECT_EQ(request.method, "PUT");
    EXPECT_EQ(request.target, "/v1/rules/a.example.com");
    EXPECT_EQ(request.authorization, "Bearer s3cr3t");
    EXPECT_EQ(request.content_type, "application/json");
    EXPECT_EQ(json::parse(request.body),
              json::parse(R"({"host":"a.example.com","target":"a.osc-secnum-fr1.scalingo.io",)"
                          R"("expires_at":"2026-12-20T10:00:00Z","app":"shop"})"));
    EXPECT_TRUE(out.str().starts_with("created a.example.com\nhost:          a.example.com\n")) << out.str();
    EXPECT_NE(out.str().find("expires_at:    2026-12-20T10:00:00Z (30d left)\n"), std::string::npos) << out.str();
    EXPECT_EQ(err.str(), "");
}

TEST_F(rules_commands_loopback, add_of_an_existing_host_says_replaced)
{
    server.answer(200, rule_a);
    EXPECT_EQ(run_rules_add(rules_add_command{.admin = admin(), .host = "a.example.com", .target = "t.example.net"},
                            io()),
              exit_ok);
    EXPECT_TRUE(out.str().starts_with("replaced a.example.com\n")) << out.str();
}

TEST_F(rules_commands_loopback, add_json_prints_the_stored_rule)
{
    server.answer(201, rule_a);
    EXPECT_EQ(run_rules_add(rules_add_command{.admin = admin(), .host = "*.example.com", .target = "t.example.net",
                                              .json = true},
                            io()),
              exit_ok);
    EXPECT_EQ(only_request().target, "/v1/rules/%2A.example.com");
    EXPECT_EQ(json::parse(out.str()), json::parse(rule_a));
}

TEST_F(rules_commands_loopback, add_refused_names_the_field)
{
    server.answer(400, R"({"error":"unknown field","field":"weight"})");
    EXPECT_EQ(run_rules_add(rules_add_command{.admin = admin(), .host = "a.example.com", .target = "t.example.net"},
                            io()),
              exit_error);
    expect_error("storkd refused the rule: unknown field (field weight)");
}

TEST_F(rules_commands_loopback, add_refused_without_a_field)
{
    server.answer(400, R"({"error":"the body is not JSON"})");
    EXPECT_EQ(run_rules_add(rules_add_command{.admin = admin(), .host = "a.example.com", .target = "t.example.net"},
                            io()),
              exit_error);
    expect_error("storkd refused the rule: the body is not JSON");
}

TEST_F(rules_commands_loopback, add_too_large)
{
    server.answer(413, R"({"error":"body over 1 MiB"})");
    EXPECT_EQ(run_rules_add(rules_add_command{.admin = admin(), .host = "a.example.com", .target = "t.example.net"},
                            io()),
              exit_error);
    expect_error("storkd refused the rule: it is larger than the admin API accepts (413 Payload Too Large, the "
                 "limit is 1 MiB)");
}

// ---- remove --------------------------------------------------------------------------

TEST_F(rules_commands_loopback, remove_deletes_and_says_removed)
{
    server.answer(204);
    EXPECT_EQ(run_rules_remove(rules_remove_command{.admin = admin(), .host = "*.example.com"}, io()), exit_ok);
    const auto request = only_request();
    EXPECT_EQ(request.method, "DELETE");
    EXPECT_EQ(request.target, "/v1/rules/%2A.example.com");
    EXPECT_EQ(request.authorization, "Bearer s3cr3t");
    EXPECT_EQ(request.body, "");
    EXPECT_EQ(out.str(), "removed *.example.com\n");
    EXPECT_EQ(err.str(), "");
}

TEST_F(rules_commands_loopback, remove_of_a_host_without_a_rule_answers_no_with_1)
{
    server.answer(404, R"({"error":"no rule"})");
    EXPECT_EQ(run_rules_remove(rules_remove_command{.admin = admin(), .host = "a.example.com"}, io()),
              exit_not_ready);
    EXPECT_EQ(out.str(), "no rule for a.example.com\n");
    EXPECT_EQ(err.str(), "");
}

// ---- purge ---------------------------------------------------------------------------

TEST_F(rules_commands_loopback, purge_lists_the_purged_hosts_and_counts_them)
{
    server.answer(200, R"({"purged":["b.example.com","a.example.com"]})");
    EXPECT_EQ(run_rules_purge(rules_purge_command{.admin = admin(), .expired_for = std::chrono::days{7}}, io()),
              exit_ok);
    const auto request = only_request();
    EXPECT_EQ(request.method, "DELETE");
    EXPECT_EQ(request.target, "/v1/rules?expired_for=7d");
    EXPECT_EQ(request.authorization, "Bearer s3cr3t");
    EXPECT_EQ(out.str(), "a.example.com\nb.example.com\npurged 2 rules expired for 7d or more\n");
    EXPECT_EQ(err.str(), "");
}

TEST_F(rules_commands_loopback, purge_of_nothing_and_of_every_expired_rule)
{
    server.answer(200, R"({"purged":[]})");
    server.answer(200, R"({"purged":["a.example.com"]})");
    EXPECT_EQ(run_rules_purge(rules_purge_command{.admin = admin(), .expired_for = 12h}, io()), exit_ok);
    EXPECT_EQ(run_rules_purge(rules_purge_command{.admin = admin(), .expired_for = 0s}, io()), exit_ok);
    EXPECT_EQ(out.str(), "purged 0 rules expired for 12h or more\na.example.com\npurged 1 expired rule\n");
}

TEST_F(rules_commands_loopback, purge_json)
{
    server.answer(200, R"({"purged": ["a.example.com"]})");
    EXPECT_EQ(run_rules_purge(rules_purge_command{.admin = admin(), .expired_for = std::chrono::days{7}, .json = true},
                              io()),
              exit_ok);
    EXPECT_EQ(out.str(), "{\"purged\":[\"a.example.com\"]}\n");
}

// ---- failures every command shares ---------------------------------------------------

TEST_F(rules_commands_loopback, a_refused_token_says_where_the_token_comes_from)
{
    server.answer(401, R"({"error":"missing or wrong bearer token"})");
    EXPECT_EQ(run_rules_list(rules_list_command{.admin = admin()}, io()), exit_error);
    expect_error("the admin API refused the token: check --token-file or STORK_TOKEN");
}

TEST_F(rules_commands_loopback, other_http_errors_give_the_status_and_the_servers_text)
{
    server.answer(500, R"({"error":"the store is read-only"})");
    server.answer(scripted_response{.status = 503, .body = "draining\n", .content_type = "text/plain"});
    server.answer(502);
    EXPECT_EQ(run_rules_remove(rules_remove_command{.admin = admin(), .host = "a.example.com"}, io()), exit_error);
    EXPECT_EQ(run_rules_purge(rules_purge_command{.admin = admin(), .expired_for = std::chrono::days{1}}, io()),
              exit_error);
    EXPECT_EQ(run_rules_get(rules_get_command{.admin = admin(), .host = "a.example.com"}, io()), exit_error);
    EXPECT_EQ(out.str(), "");
    EXPECT_EQ(err.str(),
              "stork: the admin API answered 500 Internal Server Error: the store is read-only\n"
              "stork: the admin API answered 503 Service Unavailable: draining\n"
              "stork: the admin API answered 502 Bad Gateway\n");
}

TEST_F(rules_commands_loopback, a_bad_filter_is_a_refused_request)
{
    server.answer(400, R"({"error":"expired must be true or false","field":"expired"})");
    EXPECT_EQ(run_rules_list(rules_list_command{.admin = admin(), .expired = true}, io()), exit_error);
    expect_error("storkd refused the request: expired must be true or false (field expired)");
}

TEST_F(rules_commands_loopback, a_token_file_is_read_and_sent)
{
    const test::temp_dir dir;
    const auto file = dir.write("admin.token", "from-the-file\n");
    server.answer(200, R"({"rules":[]})");
    EXPECT_EQ(run_rules_list(rules_list_command{.admin = {.url = server.url(), .token_file = file.string()}}, io()),
              exit_ok);
    EXPECT_EQ(only_request().authorization, "Bearer from-the-file");
}

TEST_F(rules_commands_loopback, a_missing_token_stops_before_any_request)
{
    rules_io without_token = io();
    without_token.env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
    EXPECT_EQ(run_rules_list(rules_list_command{.admin = admin()}, without_token), exit_error);
    EXPECT_TRUE(server.requests().empty());
    EXPECT_NE(err.str().find("no admin API token"), std::string::npos) << err.str();
}

TEST_F(rules_commands_loopback, a_silent_server_times_out)
{
    timeouts.total = 300ms;
    server.answer(scripted_response{.silent = true});
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(run_rules_list(rules_list_command{.admin = admin()}, io()), exit_error);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    expect_error("the admin API at " + server.url() + " did not answer within 300ms");
}

TEST(rules_commands_refused_loopback, a_port_where_nothing_listens_is_connection_refused)
{
    // A port that was ours a moment ago: bound, then closed, so nothing listens there.
    std::uint16_t port = 0;
    {
        boost::asio::io_context io;
        boost::asio::ip::tcp::acceptor acceptor{
            io, boost::asio::ip::tcp::endpoint{boost::asio::ip::make_address("127.0.0.1"), 0}};
        port = acceptor.local_endpoint().port();
    }
    std::ostringstream out;
    std::ostringstream err;
    const rules_io io{.out = out,
                      .err = err,
                      .env = [](std::string_view) -> std::optional<std::string> { return "t"; },
                      .now = now};
    const std::string url = "http://127.0.0.1:" + std::to_string(port);
    EXPECT_EQ(run_rules_list(rules_list_command{.admin = {.url = url}}, io), exit_error);
    EXPECT_EQ(out.str(), "");
    EXPECT_EQ(err.str(), "stork: cannot reach the admin API at " + url +
                             ": Connection refused \u2014 is storkd running?\n");
}

// ---- the built binary ----------------------------------------------------------------

test::run_result run_stork(std::vector<std::string> args, std::vector<std::pair<std::string, std::string>> env = {})
{
    args.insert(args.begin(), test::binary("stork").string());
    // Whatever the test runner's environment holds, these tests say what they mean.
    env.insert(env.begin(), {{"STORK_ADMIN", ""}, {"STORK_TOKEN", ""}});
    return test::run(std::move(args), std::chrono::seconds{30}, std::move(env));
}

TEST(rules_process, list_against_nothing_is_connection_refused)
{
    const test::temp_dir dir;
    const auto file = dir.write("admin.token", "t\n");
    const auto r = run_stork({"rules", "list", "--admin", "http://127.0.0.1:1", "--token-file", file.string()});
    EXPECT_EQ(r.status.code, exit_error);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "stork: cannot reach the admin API at http://127.0.0.1:1: Connection refused \u2014 is storkd "
                     "running?\n");
}

TEST(rules_process, list_without_a_token_says_how_to_give_one)
{
    const auto r = run_stork({"rules", "list", "--admin", "http://127.0.0.1:1"});
    EXPECT_EQ(r.status.code, exit_error);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "stork: no admin API token: give --token-file F (a file holding the token) or set STORK_TOKEN "
                     "to the token\n");
}

TEST(rules_process, list_reads_the_environment_and_prints_the_table)
{
    test::scripted_http_server server;
    server.answer(200, R"({"rules":[{"host":"my-app.example.com","target":"my-app.osc-secnum-fr1.scalingo.io",)"
                       R"("mode":"proxy","expires_at":"2099-01-01T00:00:00Z","expired":false,"app":"my-app"}]})");
    const auto r = run_stork({"rules", "list"}, {{"STORK_ADMIN", server.url()}, {"STORK_TOKEN", "from-env"}});
    EXPECT_EQ(r.status.code, exit_ok) << r.err;
    EXPECT_TRUE(r.out.starts_with("HOST                TARGET                             MODE   EXPIRES")) << r.out;
    EXPECT_NE(r.out.find("my-app.example.com  my-app.osc-secnum-fr1.scalingo.io  proxy  "), std::string::npos)
        << r.out;
    EXPECT_EQ(r.err, "");
    ASSERT_EQ(server.requests().size(), 1u);
    EXPECT_EQ(server.requests()[0].authorization, "Bearer from-env");
    EXPECT_EQ(server.requests()[0].target, "/v1/rules");
}

TEST(rules_process, get_of_a_missing_rule_exits_1)
{
    test::scripted_http_server server;
    server.answer(404, R"({"error":"no rule"})");
    const auto r = run_stork({"rules", "get", "a.example.com", "--admin", server.url()}, {{"STORK_TOKEN", "t"}});
    EXPECT_EQ(r.status.code, exit_not_ready);
    EXPECT_EQ(r.out, "no rule for a.example.com\n");
    EXPECT_EQ(r.err, "");
}

} // namespace
} // namespace stork::control
