#include "config/storkd_config.hpp"

#include "config/diagnostic.hpp"
#include "tests/support/temp_dir.hpp"

#include <gmock/gmock.h>
#include "tests/config/located_error.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

namespace stork::config {
namespace {

using ::testing::HasSubstr;

// A folder with the files a configuration names: the admin token, a certificate pair and
// a CA bundle. The loader only checks that they are readable (TLS loads them, issue 5).
class storkd_config_test : public ::testing::Test {
protected:
    storkd_config_test()
    {
        dir_.write("admin.token", "0123456789abcdef0123456789abcdef\n");
        dir_.write("certs/front.crt", "-----BEGIN CERTIFICATE-----\n");
        dir_.write("certs/front.key", "-----BEGIN PRIVATE KEY-----\n");
        dir_.write("ca.pem", "-----BEGIN CERTIFICATE-----\n");
    }

    storkd_config parse(const std::string& yaml) const
    {
        return parse_storkd_config(yaml, dir_.path() / "storkd.yaml", load_options{.check_files = true, .cpu_count = 4});
    }

    // Every diagnostic of a configuration that must be refused.
    std::vector<diagnostic> errors_of(const std::string& yaml) const
    {
        try {
            parse(yaml);
        } catch (const config_error& e) {
            return e.diagnostics();
        }
        ADD_FAILURE() << "accepted:\n" << yaml;
        return {};
    }

    test::temp_dir dir_;
};

constexpr const char* full = R"(node: front-01
workers: 2
listen:
  http: ["127.0.0.1:0", "[::1]:8081"]
  https: ["127.0.0.1:0"]
admin:
  listen: "127.0.0.1:0"
  token_file: admin.token
tls:
  certificates: certs
  default: front
upstream:
  ca_file: ca.pem
  connect_timeout: 500ms
  read_timeout: 20s
  idle_timeout: 30s
  max_idle_per_key: 8
timeouts:
  header_read: 5s
  keepalive: 1m
  drain: 0s
limits:
  connections_per_worker: 1000
fallback:
  http: "127.0.0.1:8080"
  https: "router.internal:8443"
rules:
  store: file
  path: rules
  default_ttl: 7d
dns:
  resolvers: [system, "9.9.9.9", "[2620:fe::fe]:5353"]
access_log: "-"
)";

TEST_F(storkd_config_test, reads_every_key)
{
    const storkd_config c = parse(full);
    EXPECT_EQ(c.source, dir_.path() / "storkd.yaml");
    EXPECT_EQ(c.node, "front-01");
    EXPECT_EQ(c.workers, 2u);
    ASSERT_EQ(c.listen.http.size(), 2u);
    EXPECT_EQ(c.listen.http[1], (endpoint{"::1", 8081, true}));
    ASSERT_EQ(c.listen.https.size(), 1u);
    EXPECT_EQ(c.admin.listen, (endpoint{"127.0.0.1", 0, true}));
    EXPECT_EQ(c.admin.token_file, dir_.path() / "admin.token");
    EXPECT_EQ(c.admin.token, "0123456789abcdef0123456789abcdef");
    ASSERT_TRUE(c.tls);
    EXPECT_EQ(c.tls->certificates, dir_.path() / "certs");
    EXPECT_EQ(c.tls->default_name, "front");
    EXPECT_EQ(c.upstream.ca_file, dir_.path() / "ca.pem");
    EXPECT_EQ(c.upstream.connect_timeout, duration{500});
    EXPECT_EQ(c.upstream.read_timeout, duration{20'000});
    EXPECT_EQ(c.upstream.idle_timeout, duration{30'000});
    EXPECT_EQ(c.upstream.max_idle_per_key, 8u);
    EXPECT_EQ(c.timeouts.header_read, duration{5'000});
    EXPECT_EQ(c.timeouts.keepalive, duration{60'000});
    EXPECT_EQ(c.timeouts.drain, duration{0});
    EXPECT_EQ(c.limits.connections_per_worker, 1000u);
    EXPECT_EQ(c.fallback.http, (endpoint{"127.0.0.1", 8080, true}));
    EXPECT_EQ(c.fallback.https, (endpoint{"router.internal", 8443, false}));
    EXPECT_EQ(c.rules.store, rule_store::file);
    EXPECT_EQ(c.rules.path, dir_.path() / "rules");
    EXPECT_EQ(c.rules.default_ttl, duration{7LL * 86'400'000});
    EXPECT_TRUE(c.dns.system_resolvers);
    ASSERT_EQ(c.dns.resolvers.size(), 2u);
    EXPECT_EQ(c.dns.resolvers[0], (endpoint{"9.9.9.9", 53, true}));
    EXPECT_EQ(c.dns.resolvers[1], (endpoint{"2620:fe::fe", 5353, true}));
    EXPECT_EQ(c.access_log.where, access_log_config::kind::stdout_stream);
}

TEST_F(storkd_config_test, documented_defaults)
{
    const storkd_config c = parse("listen:\n  http: [\"127.0.0.1:0\"]\nadmin:\n  token_file: admin.token\n");
    EXPECT_FALSE(c.node.empty());
    EXPECT_EQ(c.workers, 4u); // auto = the CPUs the loader was told about
    EXPECT_EQ(c.admin.listen, (endpoint{"127.0.0.1", 9180, true}));
    EXPECT_FALSE(c.tls);
    EXPECT_EQ(c.upstream.ca_file, "/etc/ssl/certs/ca-certificates.crt");
    EXPECT_EQ(c.upstream.connect_timeout, duration{5'000});
    EXPECT_EQ(c.upstream.read_timeout, duration{60'000});
    EXPECT_EQ(c.upstream.idle_timeout, duration{60'000});
    EXPECT_EQ(c.upstream.max_idle_per_key, 64u);
    EXPECT_EQ(c.timeouts.header_read, duration{10'000});
    EXPECT_EQ(c.timeouts.keepalive, duration{75'000});
    EXPECT_EQ(c.timeouts.drain, duration{30'000});
    EXPECT_EQ(c.limits.connections_per_worker, 16'384u);
    EXPECT_FALSE(c.fallback.http);
    EXPECT_FALSE(c.fallback.https);
    EXPECT_EQ(c.rules.store, rule_store::file);
    EXPECT_EQ(c.rules.path, "/var/lib/stork/rules");
    EXPECT_EQ(c.rules.default_ttl, duration{30LL * 86'400'000});
    EXPECT_TRUE(c.dns.system_resolvers);
    EXPECT_TRUE(c.dns.resolvers.empty());
    EXPECT_EQ(c.access_log.where, access_log_config::kind::stdout_stream);
}

TEST_F(storkd_config_test, access_log_off_and_file)
{
    const std::string base = "listen:\n  http: [\"127.0.0.1:0\"]\nadmin:\n  token_file: admin.token\n";
    EXPECT_EQ(parse(base + "access_log: \"off\"\n").access_log.where, access_log_config::kind::off);
    dir_.write("logs/.keep", "");
    const storkd_config c = parse(base + "access_log: logs/access.log\n");
    EXPECT_EQ(c.access_log.where, access_log_config::kind::file);
    EXPECT_EQ(c.access_log.path, dir_.path() / "logs/access.log");
}

// One row per error class: where it is reported (line:col), under which key path, and a
// fragment of the message. The configurations are complete except for their one mistake.
using test::error_case;

const std::string head = "listen:\n  http: [\"127.0.0.1:0\"]\nadmin:\n  token_file: admin.token\n"; // lines 1-4

TEST_F(storkd_config_test, every_error_class_is_located_and_named)
{
    const error_case cases[] = {
        {"unknown top-level key", head + "listn: {}\n", 5, 1, "listn", "unknown key"},
        {"unknown key with hint", head + "upstream:\n  conect_timeout: 5s\n", 6, 3, "upstream.conect_timeout",
         "did you mean \"connect_timeout\""},
        {"unknown key lists known keys", head + "rules:\n  zzz: 1\n", 6, 3, "rules.zzz",
         "known keys here: store path default_ttl"},
        {"duplicate key", head + "node: a\nnode: b\n", 6, 1, "node", "duplicate key"},
        {"mapping where a value goes", head + "node: {a: 1}\n", 5, 7, "node", "must be a single value, not a mapping"},
        {"list where a mapping goes", head + "upstream: [1]\n", 5, 11, "upstream", "must be a mapping of keys, not a list"},
        {"value where a list goes", "listen:\n  http: \"127.0.0.1:80\"\nadmin:\n  token_file: admin.token\n", 2, 9,
         "listen.http", "must be a list"},
        {"empty value", head + "workers:\n", 5, 1, "workers", "must be a single value, not empty"},
        {"bad duration unit", head + "upstream:\n  connect_timeout: 5sec\n", 6, 20, "upstream.connect_timeout",
         "unknown unit \"sec\""},
        {"duration without unit", head + "rules:\n  default_ttl: 30\n", 6, 16, "rules.default_ttl", "has no unit"},
        {"zero duration", head + "upstream:\n  connect_timeout: 0s\n", 6, 20, "upstream.connect_timeout",
         "longer than 0"},
        {"zero header timeout", head + "timeouts:\n  header_read: 0s\n", 6, 16, "timeouts.header_read",
         "longer than 0"},
        {"unknown timeout", head + "timeouts:\n  idle: 5s\n", 6, 3, "timeouts.idle", "unknown key"},
        {"pool cap not a number", head + "upstream:\n  max_idle_per_key: many\n", 6, 21,
         "upstream.max_idle_per_key", "whole number from 0 to 100000"},
        {"zero connections", head + "limits:\n  connections_per_worker: 0\n", 6, 27,
         "limits.connections_per_worker", "whole number from 1 to 1000000"},
        {"bad port", head + "fallback:\n  http: \"127.0.0.1:99999\"\n", 6, 9, "fallback.http", "port \"99999\""},
        {"missing port", head + "fallback:\n  https: router.internal\n", 6, 10, "fallback.https", "has no port"},
        {"host name on a listener", "listen:\n  http: [\"localhost:80\"]\nadmin:\n  token_file: admin.token\n", 2, 10,
         "listen.http[0]", "needs an IP address"},
        {"bad element in a list", "listen:\n  http: [\"127.0.0.1:0\", \"1.2.3.4:x\"]\nadmin:\n  token_file: admin.token\n",
         2, 25, "listen.http[1]", "port \"x\""},
        {"IPv6 without brackets", head + "fallback:\n  http: \"::1:80\"\n", 6, 9, "fallback.http", "needs brackets"},
        {"bad host name", head + "fallback:\n  http: \"router_1:80\"\n", 6, 9, "fallback.http", "outside letters"},
        {"no listeners", "listen: {}\nadmin:\n  token_file: admin.token\n", 1, 9, "listen", "at least one"},
        {"missing section", "admin:\n  token_file: admin.token\n", 1, 1, "listen", "is required"},
        {"missing key", "listen:\n  http: [\"127.0.0.1:0\"]\nadmin:\n  listen: \"127.0.0.1:0\"\n", 4, 3,
         "admin.token_file", "is required"},
        {"unreadable token file", "listen:\n  http: [\"127.0.0.1:0\"]\nadmin:\n  token_file: nope.token\n", 4, 15,
         "admin.token_file", "No such file or directory"},
        {"token is a folder", "listen:\n  http: [\"127.0.0.1:0\"]\nadmin:\n  token_file: certs\n", 4, 15,
         "admin.token_file", "it is a folder"},
        {"https without tls", "listen:\n  https: [\"127.0.0.1:0\"]\nadmin:\n  token_file: admin.token\n", 2, 3, "tls",
         "is required because listen.https"},
        {"certificate pair missing", head + "tls:\n  certificates: certs\n  default: other\n", 7, 12, "tls.default",
         "other.crt"},
        {"certificate folder missing", head + "tls:\n  certificates: nowhere\n  default: front\n", 6, 17,
         "tls.certificates", "is not a folder"},
        {"certificate name with a slash", head + "tls:\n  certificates: certs\n  default: ../front\n", 7, 12,
         "tls.default", "the name of a certificate pair"},
        {"unreadable CA bundle", head + "upstream:\n  ca_file: missing.pem\n", 6, 12, "upstream.ca_file",
         "cannot read"},
        {"workers zero", head + "workers: 0\n", 5, 10, "workers", "\"auto\" or a number from 1"},
        {"workers word", head + "workers: many\n", 5, 10, "workers", "\"auto\" or a number from 1"},
        {"node name with a space", head + "node: front 01\n", 5, 7, "node", "only letters"},
        {"unknown store", head + "rules:\n  store: redis\n", 6, 10, "rules.store", "\"file\" or \"etcd\""},
        {"etcd not yet available", head + "rules:\n  store: etcd\n", 6, 10, "rules.store", "not available"},
        {"rules path is a file", head + "rules:\n  path: ca.pem\n", 6, 9, "rules.path", "is not a folder"},
        {"resolver name", head + "dns:\n  resolvers: [dns.google]\n", 6, 15, "dns.resolvers[0]", "needs an IP address"},
        {"no resolvers", head + "dns:\n  resolvers: []\n", 6, 14, "dns.resolvers", "at least one"},
        {"access log folder missing", head + "access_log: /nonexistent/dir/access.log\n", 5, 13, "access_log",
         "does not exist"},
        {"same address twice", "listen:\n  http: [\"127.0.0.1:8080\"]\n  https: [\"127.0.0.1:8080\"]\ntls:\n  certificates: "
                               "certs\n  default: front\nadmin:\n  token_file: admin.token\n",
         3, 11, "listen.https[0]", "already used by listen.http[0]"},
        {"unknown key after an empty section", head + "fallback: {}\n" + "listen2: x\n", 6, 1, "listen2", "unknown key"},
        {"syntax error", head + "node: [unclosed\n", 6, 1, "", "YAML syntax"},
        {"bad indentation", "listen:\n  http: [\"127.0.0.1:0\"]\n admin: x\n", 3, 2, "", "YAML syntax"},
        {"two documents", head + "---\nnode: x\n", 5, 1, "", "a second YAML document starts here"},
        {"stray comma", ",\n", 1, 1, "", "a second YAML document"}, // yaml-cpp's LoadAll never ended on it
        {"not a mapping", "- a\n- b\n", 1, 1, "", "must be a mapping of keys, not a list"},
        {"non-scalar key", head + "? [a, b]\n: c\n", 5, 3, "", "a key must be a plain name"},
        {"empty document", "# nothing\n", 1, 1, "", "the configuration is empty"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        test::expect_one_error_at(errors_of(c.yaml), dir_.path() / "storkd.yaml", c);
    }
}

TEST_F(storkd_config_test, short_or_multi_word_token_is_refused)
{
    dir_.write("short.token", "secret\n");
    dir_.write("spaced.token", "0123456789abcdef 0123456789abcdef\n");
    dir_.write("empty.token", "\n\n");
    for (const char* file : {"short.token", "empty.token"}) {
        const auto errors = errors_of("listen:\n  http: [\"127.0.0.1:0\"]\nadmin:\n  token_file: " + std::string{file} + "\n");
        ASSERT_EQ(errors.size(), 1u);
        EXPECT_THAT(errors[0].message, HasSubstr("use at least 16"));
    }
    const auto errors = errors_of("listen:\n  http: [\"127.0.0.1:0\"]\nadmin:\n  token_file: spaced.token\n");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_THAT(errors[0].message, HasSubstr("without spaces"));
}

TEST_F(storkd_config_test, reports_every_error_in_file_order)
{
    const auto errors = errors_of("workers: none\n"
                                  "listen:\n"
                                  "  http: [\"127.0.0.1:http\"]\n"
                                  "admin:\n"
                                  "  token_file: admin.token\n"
                                  "upstream:\n"
                                  "  connect_timeout: soon\n"
                                  "colour: blue\n");
    ASSERT_EQ(errors.size(), 4u);
    EXPECT_EQ(errors[0].key_path, "workers");
    EXPECT_EQ(errors[1].key_path, "listen.http[0]");
    EXPECT_EQ(errors[2].key_path, "upstream.connect_timeout");
    EXPECT_EQ(errors[3].key_path, "colour");
    EXPECT_EQ(errors[3].to_string(), (dir_.path() / "storkd.yaml").string() +
                                         ":8:1: colour: unknown key; known keys here: node workers listen admin tls "
                                         "upstream timeouts limits fallback rules dns access_log");
}

TEST_F(storkd_config_test, unreadable_file_is_an_error_naming_it)
{
    try {
        load_storkd_config(dir_.path() / "missing.yaml");
        FAIL() << "a missing file was accepted";
    } catch (const config_error& e) {
        ASSERT_EQ(e.diagnostics().size(), 1u);
        EXPECT_THAT(e.diagnostics()[0].to_string(), HasSubstr("missing.yaml: cannot read"));
        EXPECT_THAT(e.diagnostics()[0].to_string(), HasSubstr("No such file or directory"));
    }
    try {
        load_storkd_config(dir_.path());
        FAIL() << "a folder was accepted";
    } catch (const config_error& e) {
        EXPECT_THAT(e.diagnostics()[0].message, HasSubstr("it is a folder"));
    }
}

TEST_F(storkd_config_test, load_reads_the_file)
{
    const auto file = dir_.write("storkd.yaml", full);
    EXPECT_EQ(load_storkd_config(file).node, "front-01");
}

TEST_F(storkd_config_test, example_configuration_is_valid)
{
    // The example names files the start script generates; the schema is what is checked.
    const auto example = std::filesystem::path{STORK_SOURCE_DIR} / "config/examples/storkd.yaml";
    const storkd_config c = load_storkd_config(example, load_options{.check_files = false, .cpu_count = 2});
    EXPECT_FALSE(c.listen.http.empty());
    EXPECT_FALSE(c.listen.https.empty());
    EXPECT_TRUE(c.admin.listen.host == "127.0.0.1");
    EXPECT_EQ(c.rules.store, rule_store::file);
}

} // namespace
} // namespace stork::config
