#include "config/inventory.hpp"

#include "config/diagnostic.hpp"
#include "tests/support/temp_dir.hpp"

#include <gmock/gmock.h>
#include "tests/config/located_error.hpp"

#include <gtest/gtest.h>

namespace stork::config {
namespace {

using ::testing::HasSubstr;

class inventory_test : public ::testing::Test {
protected:
    inventory parse(const std::string& yaml, const inventory_options& options = {}) const
    {
        return parse_inventory(yaml, dir_.path() / "inventory.yaml", options);
    }

    std::vector<diagnostic> errors_of(const std::string& yaml, const inventory_options& options = {}) const
    {
        try {
            parse(yaml, options);
        } catch (const config_error& e) {
            return e.diagnostics();
        }
        ADD_FAILURE() << "accepted:\n" << yaml;
        return {};
    }

    test::temp_dir dir_;
};

// design.md §5.
constexpr const char* design_example = R"(apps:
  - name: my-app
    region: osc-fr1
    deployment: {id: d-42, status: success, image: "registry.local/my-app:3f2a9c"}
    domains: [my-app.example.com]
    env: {RAILS_ENV: production}
    formation: [{name: web, amount: 2, size: M}]
    collaborators: [{email: a@example.com, status: accepted}]
    addons:
      - {provider: postgresql, plan: starter-512, version: "15", url: "postgresql://u:p@127.0.0.1:5432/app"}
)";

TEST_F(inventory_test, design_example_parses)
{
    const inventory inv = parse(design_example);
    EXPECT_EQ(inv.source, dir_.path() / "inventory.yaml");
    ASSERT_EQ(inv.apps.size(), 1u);
    const inventory_app& app = inv.apps[0];
    EXPECT_EQ(app.name, "my-app");
    EXPECT_EQ(app.region, "osc-fr1");
    EXPECT_EQ(app.deployment, (app_deployment{"d-42", "success", "registry.local/my-app:3f2a9c"}));
    EXPECT_EQ(app.domains, (std::vector<app_domain>{{"my-app.example.com", std::nullopt, false}}));
    EXPECT_EQ(app.env, (std::map<std::string, std::string>{{"RAILS_ENV", "production"}}));
    EXPECT_EQ(app.formation, (std::vector<container_formation>{{"web", 2, "M"}}));
    EXPECT_EQ(app.collaborators,
              (std::vector<app_collaborator>{{"a@example.com", app_collaborator::state::accepted, false}}));
    EXPECT_EQ(app.addons, (std::vector<app_addon>{{"postgresql", "starter-512", "15", "postgresql://u:p@127.0.0.1:5432/app"}}));
    EXPECT_EQ(app.settings, app_settings{});
    EXPECT_FALSE(app.scm);
    EXPECT_TRUE(app.notifiers.empty());
}

TEST_F(inventory_test, reads_every_key)
{
    const inventory inv = parse(R"(apps:
  - name: shop
    region: osc-secnum-fr1
    domains:
      - Shop.Example.com
      - name: www.shop.example.com
        canonical: true
        certificate: {subject: "CN=www.shop.example.com", not_after: "2027-01-02T03:04:05Z"}
      - name: api.shop.example.com
        certificate: {not_after: "2027-01-02T05:04:05+02:00"}
    env: {PORT: 3000, EMPTY: "", DATABASE_URL: $SCALINGO_POSTGRESQL_URL}
    formation:
      - {name: web, amount: 0}
      - {name: worker, amount: 3, size: 2XL}
    collaborators: [{email: b@example.com, status: pending, is_limited: true}, {email: c@example.com}]
    addons: [{provider: redis, plan: sandbox}, {provider: mongodb, plan: m1, url: "mongodb://x@db:27017/app"}]
    settings: {force_https: true, sticky_session: true, router_logs: false}
    scm: {type: gitlab, repo: group/sub/shop, auto_deploy: true}
    notifiers:
      - {name: team chat, platform: slack, events: [app_crashed]}
      - {name: quiet, platform: email, active: false}
    alerts:
      - {container_type: web, metric: memory, limit: 512.5, send_when_below: true, notifiers: [team chat, quiet]}
    autoscalers:
      - {container_type: worker, min: 1, max: 4, metric: cpu, target: 0.75, disabled: true}
    log_drains: [{url: "syslog://:token@logs.example.com:514"}, {url: "https://logs.example.com/in"}]
)");
    ASSERT_EQ(inv.apps.size(), 1u);
    const inventory_app& app = inv.apps[0];
    ASSERT_EQ(app.domains.size(), 3u);
    EXPECT_EQ(app.domains[0].name, "shop.example.com"); // host names are kept in lowercase
    EXPECT_TRUE(app.domains[1].canonical);
    ASSERT_TRUE(app.domains[1].certificate);
    EXPECT_EQ(app.domains[1].certificate->subject, "CN=www.shop.example.com");
    EXPECT_EQ(app.domains[1].certificate->not_after, app.domains[2].certificate->not_after); // offset applied
    EXPECT_EQ(app.env.at("PORT"), "3000");
    EXPECT_EQ(app.env.at("EMPTY"), "");
    EXPECT_EQ(app.env.at("DATABASE_URL"), "$SCALINGO_POSTGRESQL_URL");
    EXPECT_EQ(app.formation, (std::vector<container_formation>{{"web", 0, "M"}, {"worker", 3, "2XL"}}));
    EXPECT_EQ(app.collaborators[0], (app_collaborator{"b@example.com", app_collaborator::state::pending, true}));
    EXPECT_EQ(app.collaborators[1].status, app_collaborator::state::accepted);
    EXPECT_EQ(app.addons[0], (app_addon{"redis", "sandbox", "", ""}));
    EXPECT_EQ(app.addons[1].url, "mongodb://x@db:27017/app");
    EXPECT_EQ(app.settings, (app_settings{true, true, false}));
    EXPECT_EQ(app.scm, (scm_link{"gitlab", "group/sub/shop", "", true}));
    EXPECT_EQ(app.notifiers[0], (app_notifier{"team chat", "slack", true, {"app_crashed"}}));
    EXPECT_FALSE(app.notifiers[1].active);
    EXPECT_EQ(app.alerts, (std::vector<app_alert>{{"web", "memory", 512.5, true, {"team chat", "quiet"}}}));
    EXPECT_EQ(app.autoscalers, (std::vector<app_autoscaler>{{"worker", 1, 4, "cpu", 0.75, true}}));
    EXPECT_EQ(app.log_drains.size(), 2u);
}

TEST_F(inventory_test, same_app_name_in_two_regions_is_allowed)
{
    const inventory inv = parse("apps:\n  - {name: my-app, region: osc-fr1}\n  - {name: my-app, region: osc-secnum-fr1}\n");
    EXPECT_EQ(inv.apps.size(), 2u);
    EXPECT_EQ(parse("apps: []\n").apps.size(), 0u);
}

using test::error_case;

const std::string head = "apps:\n  - name: my-app\n    region: osc-fr1\n"; // lines 1-3

TEST_F(inventory_test, every_error_class_is_located_and_named)
{
    const error_case cases[] = {
        {"unknown top-level key", "apps: []\napp: []\n", 2, 1, "app", "did you mean \"apps\""},
        {"apps missing", "{}\n", 1, 1, "apps", "is required"},
        {"apps empty", "apps:\n", 1, 1, "apps", "must be a list, not empty"},
        {"apps not a list", "apps: {name: my-app}\n", 1, 7, "apps", "must be a list"},
        {"unknown app key", head + "    domain: [a.example.com]\n", 4, 5, "apps[0].domain", "did you mean \"domains\""},
        {"app name missing", "apps:\n  - region: osc-fr1\n", 2, 5, "apps[0].name", "is required"},
        {"region missing", "apps:\n  - name: my-app\n", 2, 5, "apps[0].region", "is required"},
        {"app name with capitals", "apps:\n  - name: My-App\n    region: osc-fr1\n", 2, 11, "apps[0].name",
         "only lowercase letters"},
        {"app name too short", "apps:\n  - name: ab\n    region: osc-fr1\n", 2, 11, "apps[0].name", "3 to 48"},
        {"app name with a double hyphen", "apps:\n  - name: my--app\n    region: osc-fr1\n", 2, 11, "apps[0].name",
         "no \"--\""},
        {"bad region name", "apps:\n  - name: my-app\n    region: osc_fr1\n", 3, 13, "apps[0].region",
         "lowercase letters, digits and '-'"},
        {"duplicate app in a region", head + "  - name: my-app\n    region: osc-fr1\n", 4, 11, "apps[1].name",
         "already in region osc-fr1 (apps[0])"},
        {"unknown region", head, 3, 13, "apps[0].region", "no region \"osc-fr1\""}, // with known_regions below
        {"deployment without status", head + "    deployment: {id: d-1}\n", 4, 17, "apps[0].deployment.status",
         "is required"},
        {"bad deployment status", head + "    deployment: {id: d-1, status: done}\n", 4, 35,
         "apps[0].deployment.status", "a deployment status is one of"},
        {"bad domain", head + "    domains: [my_app.example.com]\n", 4, 15, "apps[0].domains[0]", "not a host name"},
        {"domain twice in an app", head + "    domains: [a.example.com, A.example.com]\n", 4, 30, "apps[0].domains[1]",
         "listed twice"},
        {"domain of another app", head + "    domains: [a.example.com]\n  - name: other\n    region: osc-fr1\n    domains: [a.example.com]\n",
         7, 15, "apps[1].domains[0]", "already a domain of apps[0] (my-app)"},
        {"domain as a list", head + "    domains: [[a.example.com]]\n", 4, 15, "apps[0].domains[0]",
         "a host name or a mapping"},
        {"certificate without not_after", head + "    domains:\n      - name: a.example.com\n        certificate: {subject: CN=a}\n",
         6, 22, "apps[0].domains[0].certificate.not_after", "is required"},
        {"certificate bad date", head + "    domains:\n      - name: a.example.com\n        certificate: {not_after: 2027-13-01}\n",
         6, 34, "apps[0].domains[0].certificate.not_after", ""},
        {"two canonical domains", head + "    domains:\n      - {name: a.example.com, canonical: true}\n      - {name: b.example.com, canonical: true}\n",
         5, 7, "apps[0].domains", "only one domain can be canonical"},
        {"env not a mapping", head + "    env: [A=1]\n", 4, 10, "apps[0].env", "must be a mapping of keys"},
        {"env bad name", head + "    env: {1PORT: x}\n", 4, 11, "apps[0].env.1PORT", "a variable name"},
        {"env value a list", head + "    env: {A: [1]}\n", 4, 14, "apps[0].env.A", "must be a single value, not a list"},
        {"env duplicate", head + "    env:\n      A: 1\n      A: 2\n", 6, 7, "apps[0].env.A", "duplicate key"},
        {"negative amount", head + "    formation: [{name: web, amount: -1}]\n", 4, 37, "apps[0].formation[0].amount",
         "whole number from 0"},
        {"container listed twice", head + "    formation: [{name: web, amount: 1}, {name: web, amount: 2}]\n", 4, 48,
         "apps[0].formation[1].name", "listed twice"},
        {"collaborator bad status", head + "    collaborators: [{email: a@example.com, status: invited}]\n", 4, 52,
         "apps[0].collaborators[0].status", "\"accepted\" or \"pending\""},
        {"collaborator bad email", head + "    collaborators: [{email: nobody}]\n", 4, 29,
         "apps[0].collaborators[0].email", "not an email address"},
        {"postgresql addon without url", head + "    addons: [{provider: postgresql, plan: starter-512}]\n", 4, 14,
         "apps[0].addons[0].url", "is required"},
        {"postgresql addon bad url", head + "    addons: [{provider: postgresql, plan: s, url: \"http://db\"}]\n", 4,
         51, "apps[0].addons[0].url", "postgresql://"},
        {"addon without plan", head + "    addons: [{provider: redis}]\n", 4, 14, "apps[0].addons[0].plan",
         "is required"},
        {"two addons of a provider", head + "    addons: [{provider: redis, plan: a}, {provider: redis, plan: b}]\n", 4,
         53, "apps[0].addons[1].provider", "one addon of each provider"},
        {"setting not a bool", head + "    settings: {force_https: yes}\n", 4, 29, "apps[0].settings.force_https",
         "must be true or false"},
        {"unknown setting", head + "    settings: {force_http: true}\n", 4, 16, "apps[0].settings.force_http",
         "did you mean \"force_https\""},
        {"scm repo without owner", head + "    scm: {type: github, repo: my-app}\n", 4, 31, "apps[0].scm.repo",
         "\"owner/name\""},
        {"alert naming an unknown notifier",
         head + "    formation: [{name: web, amount: 1}]\n    alerts: [{container_type: web, metric: cpu, limit: 1, notifiers: [ops]}]\n",
         5, 71, "apps[0].alerts[0].notifiers[0]", "no notifier \"ops\""},
        {"alert on an unknown container type",
         head + "    alerts: [{container_type: web, metric: cpu, limit: 1}]\n", 4, 31,
         "apps[0].alerts[0].container_type", "no container type \"web\""},
        {"alert limit not a number",
         head + "    formation: [{name: web, amount: 1}]\n    alerts: [{container_type: web, metric: cpu, limit: high}]\n",
         5, 56, "apps[0].alerts[0].limit", "must be a number"},
        {"notifier twice", head + "    notifiers: [{name: a, platform: email}, {name: a, platform: slack}]\n", 4, 52,
         "apps[0].notifiers[1].name", "listed twice"},
        {"autoscaler max below min",
         head + "    formation: [{name: web, amount: 1}]\n    autoscalers: [{container_type: web, min: 3, max: 2, metric: cpu, target: 1}]\n",
         5, 54, "apps[0].autoscalers[0].max", "below min (3)"},
        {"autoscaler without target",
         head + "    formation: [{name: web, amount: 1}]\n    autoscalers: [{container_type: web, min: 1, max: 2, metric: cpu}]\n",
         5, 19, "apps[0].autoscalers[0].target", "is required"},
        {"log drain not a URL", head + "    log_drains: [{url: logs.example.com}]\n", 4, 24, "apps[0].log_drains[0].url",
         "must be a URL"},
        {"log drain twice", head + "    log_drains: [{url: \"syslog://h:1\"}, {url: \"syslog://h:1\"}]\n", 4, 47,
         "apps[0].log_drains[1].url", "listed twice"},
        {"syntax error", head + "    env: {A: [unclosed}\n", 4, 23, "", "YAML syntax"},
        {"not a mapping", "- name: my-app\n", 1, 1, "", "must be a mapping of keys, not a list"},
        {"empty document", "# nothing\n", 1, 1, "", "the inventory is empty"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const inventory_options options =
            std::string_view{c.name} == "unknown region" ? inventory_options{{"osc-secnum-fr1"}} : inventory_options{};
        test::expect_one_error_at(errors_of(c.yaml, options), dir_.path() / "inventory.yaml", c);
    }
}

TEST_F(inventory_test, reports_every_error_in_file_order)
{
    const auto errors = errors_of("apps:\n"
                                  "  - name: A\n"
                                  "    region: osc-fr1\n"
                                  "    formation: [{name: web, amount: many}]\n"
                                  "  - name: ok-app\n"
                                  "    region: osc-fr1\n"
                                  "    colour: blue\n");
    ASSERT_EQ(errors.size(), 3u);
    EXPECT_EQ(errors[0].key_path, "apps[0].name");
    EXPECT_EQ(errors[1].key_path, "apps[0].formation[0].amount");
    EXPECT_EQ(errors[2].key_path, "apps[1].colour");
    EXPECT_EQ(errors[2].line, 7);
}

TEST_F(inventory_test, addon_url_errors_do_not_echo_the_password)
{
    const auto errors = errors_of(head + "    addons: [{provider: postgresql, plan: s, url: \"mysql://u:hunter2@db/x\"}]\n"
                                         "    log_drains: [{url: \"syslog:hunter2@logs\"}]\n");
    ASSERT_EQ(errors.size(), 2u);
    for (const auto& e : errors) {
        EXPECT_THAT(e.to_string(), ::testing::Not(HasSubstr("hunter2")));
    }
}

TEST_F(inventory_test, unreadable_file_is_an_error_naming_it)
{
    try {
        load_inventory(dir_.path() / "missing.yaml");
        FAIL() << "a missing file was accepted";
    } catch (const config_error& e) {
        ASSERT_EQ(e.diagnostics().size(), 1u);
        EXPECT_THAT(e.diagnostics()[0].to_string(), HasSubstr("missing.yaml: cannot read"));
    }
}

TEST_F(inventory_test, example_inventory_is_valid)
{
    const auto example = std::filesystem::path{STORK_SOURCE_DIR} / "config/examples/inventory.yaml";
    const inventory inv = load_inventory(example, inventory_options{{"osc-fr1", "osc-secnum-fr1"}});
    ASSERT_EQ(inv.apps.size(), 2u);
    const inventory_app& app = inv.apps[0];
    EXPECT_EQ(app.name, "my-app");
    ASSERT_EQ(app.addons.size(), 1u);
    EXPECT_EQ(app.addons[0].provider, "postgresql");
    EXPECT_EQ(app.alerts.at(0).notifiers, std::vector<std::string>{"ops-mail"});
    EXPECT_EQ(inv.apps[1].region, "osc-secnum-fr1");
    EXPECT_EQ(load_inventory(example), inv);
}

} // namespace
} // namespace stork::config
