#include "config/control_config.hpp"

#include "config/diagnostic.hpp"
#include "tests/support/temp_dir.hpp"

#include <gmock/gmock.h>
#include "tests/config/located_error.hpp"

#include <gtest/gtest.h>

namespace stork::config {
namespace {

using ::testing::HasSubstr;

class control_config_test : public ::testing::Test {
protected:
    control_config_test() { dir_.write("admin.token", "0123456789abcdef0123456789abcdef\n"); }

    control_config parse(const std::string& yaml) const
    {
        return parse_control_config(yaml, dir_.path() / "control.yaml");
    }

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

// design.md §5, with the token file next to the configuration.
constexpr const char* design_example = R"(state: /var/lib/stork/control.db          # SQLite: migrations, ledger, local regions
regions:
  osc-fr1:
    domain: osc-fr1.scalingo.io           # an app's default host is <app>.<domain>
    driver: local                         # the embedded platform driver
    ingress: "203.0.113.10:443"           # optional: where this region's routers accept
                                          # traffic; rules towards it use it as upstream
    front_servers:                        # storkd admin endpoints of this region
      - admin: "http://127.0.0.1:9180"
        token_file: admin.token
  osc-secnum-fr1:
    domain: osc-secnum-fr1.scalingo.io
    driver: local
    ingress: "127.0.0.1:9443"
    databases:                            # local driver: servers where addons are provisioned
      postgresql: "postgresql://stork:secret@127.0.0.1:5433/postgres"
    front_servers: []
dns:
  resolvers: [system]
)";

TEST_F(control_config_test, design_example_parses)
{
    const control_config c = parse(design_example);
    EXPECT_EQ(c.source, dir_.path() / "control.yaml");
    EXPECT_EQ(c.state, "/var/lib/stork/control.db");
    ASSERT_EQ(c.regions.size(), 2u);
    const region_config* fr1 = c.find_region("osc-fr1");
    ASSERT_NE(fr1, nullptr);
    EXPECT_EQ(fr1->name, "osc-fr1");
    EXPECT_EQ(fr1->domain, "osc-fr1.scalingo.io");
    EXPECT_EQ(fr1->driver, region_driver::local);
    EXPECT_EQ(fr1->ingress, (endpoint{"203.0.113.10", 443, true}));
    ASSERT_EQ(fr1->front_servers.size(), 1u);
    EXPECT_EQ(fr1->front_servers[0].admin_url, "http://127.0.0.1:9180");
    EXPECT_EQ(fr1->front_servers[0].admin, (endpoint{"127.0.0.1", 9180, true}));
    EXPECT_EQ(fr1->front_servers[0].token_file, dir_.path() / "admin.token");
    EXPECT_EQ(fr1->front_servers[0].token, "0123456789abcdef0123456789abcdef");
    EXPECT_FALSE(fr1->postgresql_url);
    EXPECT_FALSE(fr1->addons);
    EXPECT_TRUE(fr1->offers("postgresql", "anything", "99"));

    const region_config* secnum = c.find_region("osc-secnum-fr1");
    ASSERT_NE(secnum, nullptr);
    EXPECT_EQ(secnum->ingress, (endpoint{"127.0.0.1", 9443, true}));
    EXPECT_TRUE(secnum->front_servers.empty());
    EXPECT_EQ(secnum->postgresql_url, "postgresql://stork:secret@127.0.0.1:5433/postgres");
    EXPECT_EQ(c.find_region("osc-fr2"), nullptr);
    EXPECT_TRUE(c.dns.system_resolvers);
    EXPECT_TRUE(c.dns.resolvers.empty());
}

TEST_F(control_config_test, defaults_and_relative_paths)
{
    const control_config c = parse("state: var/control.db\n"
                                   "regions:\n  r1:\n    domain: r1.example.net\n    driver: local\n");
    EXPECT_EQ(c.state, dir_.path() / "var/control.db");
    const region_config& r = c.regions.at("r1");
    EXPECT_FALSE(r.ingress);
    EXPECT_TRUE(r.front_servers.empty());
    EXPECT_TRUE(c.dns.system_resolvers);
    EXPECT_EQ(parse("regions:\n  r1:\n    domain: r1.example.net\n    driver: local\n").state,
              "/var/lib/stork/control.db");
}

TEST_F(control_config_test, addon_offers_restrict_plans_and_versions)
{
    const control_config c = parse("regions:\n"
                                   "  r1:\n"
                                   "    domain: r1.example.net\n"
                                   "    driver: local\n"
                                   "    ingress: router.r1.internal:443\n"
                                   "    addons:\n"
                                   "      - {provider: postgresql, plans: [starter-512], versions: [\"15\", \"16\"]}\n"
                                   "      - {provider: redis}\n"
                                   "dns:\n"
                                   "  resolvers: [\"9.9.9.9\", system]\n");
    const region_config& r = c.regions.at("r1");
    EXPECT_EQ(r.ingress, (endpoint{"router.r1.internal", 443, false}));
    ASSERT_TRUE(r.addons);
    ASSERT_EQ(r.addons->size(), 2u);
    EXPECT_EQ((*r.addons)[0], (addon_offer{"postgresql", {"starter-512"}, {"15", "16"}}));
    EXPECT_TRUE(r.offers("postgresql", "starter-512", "15"));
    EXPECT_TRUE(r.offers("postgresql", "starter-512", ""));
    EXPECT_FALSE(r.offers("postgresql", "starter-512", "14"));
    EXPECT_FALSE(r.offers("postgresql", "business-1024", "15"));
    EXPECT_TRUE(r.offers("redis", "sandbox", "7.2"));
    EXPECT_FALSE(r.offers("mongodb", "sandbox", "7"));
    EXPECT_TRUE(c.dns.system_resolvers);
    EXPECT_EQ(c.dns.resolvers, (std::vector<endpoint>{{"9.9.9.9", 53, true}}));
}

TEST_F(control_config_test, parsing_twice_gives_equal_configurations)
{
    EXPECT_EQ(parse(design_example), parse(design_example));
}

using test::error_case;

const std::string head = "regions:\n  osc-fr1:\n    domain: osc-fr1.example.net\n    driver: local\n"; // lines 1-4

TEST_F(control_config_test, every_error_class_is_located_and_named)
{
    const error_case cases[] = {
        {"unknown top-level key", head + "stat: x.db\n", 5, 1, "stat", "did you mean \"state\""},
        {"unknown region key", head + "    ingres: \"1.2.3.4:443\"\n", 5, 5, "regions.osc-fr1.ingres",
         "did you mean \"ingress\""},
        {"duplicate region", head + "  osc-fr1:\n    domain: b.example.net\n    driver: local\n", 5, 3,
         "regions.osc-fr1", "duplicate key"},
        {"region name with capitals", "regions:\n  OSC-fr1:\n    domain: a.example.net\n    driver: local\n", 2, 3,
         "regions.OSC-fr1", "lowercase letters, digits and '-'"},
        {"region name with a trailing hyphen", "regions:\n  fr1-:\n    domain: a.example.net\n    driver: local\n", 2,
         3, "regions.fr1-", "does not start or end with '-'"},
        {"regions is a list", "regions: [osc-fr1]\n", 1, 10, "regions", "must be a mapping of keys, not a list"},
        {"no regions", "regions: {}\n", 1, 10, "regions", "at least one region"},
        {"regions missing", "state: x.db\n", 1, 1, "regions", "is required"},
        {"domain missing", "regions:\n  osc-fr1:\n    driver: local\n", 3, 5, "regions.osc-fr1.domain", "is required"},
        {"driver missing", "regions:\n  osc-fr1:\n    domain: a.example.net\n", 3, 5, "regions.osc-fr1.driver",
         "is required"},
        {"unknown driver", "regions:\n  osc-fr1:\n    domain: a.example.net\n    driver: scalingo\n", 4, 13,
         "regions.osc-fr1.driver", "driver is \"local\""},
        {"bad domain", "regions:\n  osc-fr1:\n    domain: osc_fr1.example.net\n    driver: local\n", 3, 13,
         "regions.osc-fr1.domain", "is not a host name"},
        {"same domain twice", head + "  r2:\n    domain: osc-fr1.example.net\n    driver: local\n", 6, 13,
         "regions.r2.domain", "already the domain of region osc-fr1"},
        {"ingress without port", head + "    ingress: 203.0.113.10\n", 5, 14, "regions.osc-fr1.ingress",
         "has no port"},
        {"ingress bad port", head + "    ingress: \"203.0.113.10:0\"\n", 5, 14, "regions.osc-fr1.ingress", "port"},
        {"front servers not a list", head + "    front_servers: {admin: x}\n", 5, 20, "regions.osc-fr1.front_servers",
         "must be a list"},
        {"front server https URL", head + "    front_servers:\n      - admin: \"https://127.0.0.1:9180\"\n        token_file: admin.token\n",
         6, 16, "regions.osc-fr1.front_servers[0].admin", "write http://HOST:PORT"},
        {"front server URL with a path", head + "    front_servers:\n      - admin: \"http://127.0.0.1:9180/v1\"\n        token_file: admin.token\n",
         6, 16, "regions.osc-fr1.front_servers[0].admin", "has a path"},
        {"front server without token", head + "    front_servers:\n      - admin: \"http://127.0.0.1:9180\"\n", 6, 9,
         "regions.osc-fr1.front_servers[0].token_file", "is required"},
        {"front server token unreadable", head + "    front_servers:\n      - admin: \"http://127.0.0.1:9180\"\n        token_file: nope.token\n",
         7, 21, "regions.osc-fr1.front_servers[0].token_file", "No such file or directory"},
        {"front server listed twice",
         head + "    front_servers:\n      - {admin: \"http://127.0.0.1:9180\", token_file: admin.token}\n"
                "      - {admin: \"http://127.0.0.1:9180/\", token_file: admin.token}\n",
         7, 17, "regions.osc-fr1.front_servers[1].admin", "listed twice"},
        {"unknown front server key", head + "    front_servers:\n      - {admin: \"http://127.0.0.1:9180\", token_file: admin.token, tls: true}\n",
         6, 67, "regions.osc-fr1.front_servers[0].tls", "unknown key"},
        {"database URL of another scheme", head + "    databases:\n      postgresql: \"mysql://u:p@127.0.0.1/db\"\n", 6,
         19, "regions.osc-fr1.databases.postgresql", "must be a URL of the form postgresql://"},
        {"database URL without host", head + "    databases:\n      postgresql: \"postgresql://u:p@/db\"\n", 6, 19,
         "regions.osc-fr1.databases.postgresql", "has no host"},
        {"unknown database", head + "    databases:\n      mysql: \"mysql://x\"\n", 6, 7,
         "regions.osc-fr1.databases.mysql", "unknown key"},
        {"addon offer without provider", head + "    addons:\n      - plans: [a]\n", 6, 9,
         "regions.osc-fr1.addons[0].provider", "is required"},
        {"addon plan listed twice", head + "    addons:\n      - {provider: redis, plans: [a, a]}\n", 6, 38,
         "regions.osc-fr1.addons[0].plans[1]", "listed twice"},
        {"addon version not a word", head + "    addons:\n      - {provider: redis, versions: [\"7 2\"]}\n", 6, 38,
         "regions.osc-fr1.addons[0].versions[0]", "only letters, digits"},
        {"addon provider twice", head + "    addons:\n      - {provider: redis}\n      - {provider: redis}\n", 7, 20,
         "regions.osc-fr1.addons[1].provider", "offered twice"},
        {"bad resolver", head + "dns:\n  resolvers: [dns.google]\n", 6, 15, "dns.resolvers[0]", "needs an IP address"},
        {"empty state", head + "state: \"\"\n", 5, 8, "state", "empty path"},
        {"syntax error", head + "state: [unclosed\n", 6, 1, "", "YAML syntax"},
        {"two documents", head + "---\nstate: x\n", 5, 1, "", "a second YAML document"},
        {"not a mapping", "- a\n", 1, 1, "", "must be a mapping of keys, not a list"},
        {"empty document", "# nothing\n", 1, 1, "", "the configuration is empty"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        test::expect_one_error_at(errors_of(c.yaml), dir_.path() / "control.yaml", c);
    }
}

TEST_F(control_config_test, database_url_errors_do_not_echo_the_password)
{
    const auto errors = errors_of(head + "    databases:\n      postgresql: \"mysql://u:hunter2@127.0.0.1/db\"\n");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_THAT(errors[0].to_string(), ::testing::Not(HasSubstr("hunter2")));
}

TEST_F(control_config_test, reports_every_error_in_file_order)
{
    const auto errors = errors_of("regions:\n"
                                  "  osc-fr1:\n"
                                  "    domain: bad_domain\n"
                                  "    driver: k8s\n"
                                  "  Bad:\n"
                                  "    domain: b.example.net\n"
                                  "    driver: local\n"
                                  "colour: blue\n");
    ASSERT_EQ(errors.size(), 4u);
    EXPECT_EQ(errors[0].key_path, "regions.osc-fr1.domain");
    EXPECT_EQ(errors[1].key_path, "regions.osc-fr1.driver");
    EXPECT_EQ(errors[2].key_path, "regions.Bad");
    EXPECT_EQ(errors[3].to_string(),
              (dir_.path() / "control.yaml").string() + ":8:1: colour: unknown key; known keys here: state regions dns");
}

TEST_F(control_config_test, unreadable_file_is_an_error_naming_it)
{
    try {
        load_control_config(dir_.path() / "missing.yaml");
        FAIL() << "a missing file was accepted";
    } catch (const config_error& e) {
        ASSERT_EQ(e.diagnostics().size(), 1u);
        EXPECT_THAT(e.diagnostics()[0].to_string(), HasSubstr("missing.yaml: cannot read"));
    }
}

TEST_F(control_config_test, token_files_are_not_read_when_files_are_not_checked)
{
    const auto file = dir_.write("other/control.yaml", head + "    front_servers:\n      - admin: \"http://[::1]:9180\"\n"
                                                              "        token_file: missing.token\n");
    const control_config c = load_control_config(file, control_load_options{.check_files = false});
    const front_server& f = c.regions.at("osc-fr1").front_servers.at(0);
    EXPECT_EQ(f.admin, (endpoint{"::1", 9180, true}));
    EXPECT_EQ(f.token_file, dir_.path() / "other/missing.token");
    EXPECT_TRUE(f.token.empty());
}

TEST_F(control_config_test, example_configuration_is_valid)
{
    // The example names a token file the start script generates; the schema is what is checked.
    const auto example = std::filesystem::path{STORK_SOURCE_DIR} / "config/examples/control.yaml";
    const control_config c = load_control_config(example, control_load_options{.check_files = false});
    ASSERT_EQ(c.regions.size(), 2u);
    const region_config& fr1 = c.regions.at("osc-fr1");
    const region_config& secnum = c.regions.at("osc-secnum-fr1");
    EXPECT_EQ(fr1.front_servers.size(), 1u);
    EXPECT_TRUE(fr1.postgresql_url);
    EXPECT_TRUE(secnum.postgresql_url);
    EXPECT_TRUE(secnum.offers("postgresql", "starter-512", "15"));
    EXPECT_FALSE(secnum.offers("postgresql", "starter-512", "13"));
    EXPECT_TRUE(secnum.offers("redis", "sandbox", "7"));
    EXPECT_FALSE(secnum.offers("mongodb", "sandbox", "7"));
}

} // namespace
} // namespace stork::config
