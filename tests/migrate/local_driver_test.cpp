// The `local` platform driver without PostgreSQL: the inventory in the state database,
// the import and its refusals, every put_* through find_app, create_app's tag rules,
// scale, addons that are records only, malformed rows.
#include "migrate/local_driver.hpp"

#include "migrate/pg_copy.hpp"
#include "migrate/sqlite.hpp"
#include "migrate/store.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <set>

namespace stork::migrate {
namespace {

const char* const inventory_yaml = R"yaml(
apps:
  - name: my-app
    region: osc-fr1
    deployment: {id: d-42, status: success, image: "registry.local/my-app:3f2a9c"}
    domains:
      - my-app.example.com
      - name: www.my-app.example.com
        canonical: true
        certificate: {subject: "CN=www.my-app.example.com", not_after: "2027-06-30T02:00:00+02:00"}
    env:
      RAILS_ENV: production
      DATABASE_URL: $SCALINGO_POSTGRESQL_URL
    formation:
      - {name: web, amount: 2, size: M}
      - {name: worker, amount: 1, size: S}
    collaborators:
      - {email: alice@example.com, status: accepted}
      - {email: bob@example.com, status: pending}
    addons:
      - {provider: postgresql, plan: starter-512, version: "15", url: "postgresql://app:secret@127.0.0.1:5432/my_app"}
      - {provider: redis, plan: sandbox}
    settings: {force_https: true, sticky_session: false, router_logs: true}
    scm: {type: github, repo: example/my-app, branch: main, auto_deploy: true}
    notifiers:
      - {name: ops-mail, platform: email, active: true, events: [app_crashed, app_deployed]}
    alerts:
      - {container_type: web, metric: cpu, limit: 0.8, send_when_below: false, notifiers: [ops-mail]}
    autoscalers:
      - {container_type: web, min: 2, max: 6, metric: rpm_per_container, target: 300, disabled: false}
    log_drains:
      - {url: "syslog://logs.example.com:514"}

  - name: static-site
    region: osc-secnum-fr1
)yaml";

config::inventory parse(const std::string& yaml)
{
    return config::parse_inventory(yaml, "inventory.yaml");
}

class local_driver : public ::testing::Test {
protected:
    local_driver()
    {
        for (const auto* name : {"osc-fr1", "osc-secnum-fr1"}) {
            regions_.regions.emplace(name, config::region_config{.name = name,
                                                                 .domain = std::string{name} + ".example.net",
                                                                 .driver = config::region_driver::local,
                                                                 .ingress = std::nullopt,
                                                                 .front_servers = {},
                                                                 .postgresql_url = std::nullopt,
                                                                 .addons = std::nullopt});
        }
    }

    std::unique_ptr<platform> open(const std::string& region)
    {
        return open_local_platform(db_, regions_.regions.at(region), default_backup_folder(db_));
    }

    import_summary import(const std::string& yaml) { return import_inventory(db_, parse(yaml), regions_); }

    stork::test::temp_dir dir_;
    std::filesystem::path db_ = dir_.path() / "control.db";
    config::control_config regions_;
};

TEST_F(local_driver, import_converts_the_inventory)
{
    const auto summary = import(inventory_yaml);
    EXPECT_EQ(summary.added, 2u);
    EXPECT_EQ(summary.replaced, 0u);

    const auto fr1 = open("osc-fr1");
    const auto a = fr1->find_app("my-app");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->id.rfind("app-", 0), 0u) << a->id;
    EXPECT_EQ(a->name, "my-app");
    EXPECT_EQ(a->region, "osc-fr1");
    EXPECT_FALSE(a->migration);
    EXPECT_FALSE(a->frozen);
    EXPECT_TRUE(a->running);
    EXPECT_EQ(a->settings, (app_settings{.force_https = true, .sticky_session = false, .router_logs = true}));
    EXPECT_EQ(a->last_deployment,
              (deployment{.id = "d-42", .status = "success", .image = "registry.local/my-app:3f2a9c"}));
    EXPECT_EQ(a->env.at("RAILS_ENV"), "production");
    EXPECT_EQ(a->env.size(), 2u);
    EXPECT_EQ(a->scm, (scm_link{.type = "github", .repo = "example/my-app", .auto_deploy = true}));
    EXPECT_EQ(a->collaborators, (std::vector<collaborator>{{.email = "alice@example.com", .status = "accepted"},
                                                            {.email = "bob@example.com", .status = "pending"}}));
    EXPECT_EQ(a->domains,
              (std::vector<domain>{{.name = "my-app.example.com", .certificate_not_after = std::nullopt},
                                   {.name = "www.my-app.example.com",
                                    .certificate_not_after = "2027-06-30T00:00:00Z"}}));   // UTC
    EXPECT_EQ(a->formation, (std::vector<formation_type>{{.name = "web", .amount = 2, .size = "M"},
                                                         {.name = "worker", .amount = 1, .size = "S"}}));
    ASSERT_EQ(a->notifiers.size(), 1u);
    EXPECT_EQ(a->notifiers[0].events, (std::vector<std::string>{"app_crashed", "app_deployed"}));
    ASSERT_EQ(a->alerts.size(), 1u);
    EXPECT_EQ(a->alerts[0].limit, 0.8);
    EXPECT_EQ(a->alerts[0].notifiers, (std::vector<std::string>{"ops-mail"}));
    ASSERT_EQ(a->autoscalers.size(), 1u);
    EXPECT_EQ(a->autoscalers[0], (autoscaler{.container_type = "web", .min = 2, .max = 6,
                                             .metric = "rpm_per_container", .target = 300, .disabled = false}));
    EXPECT_EQ(a->log_drains, (std::vector<std::string>{"syslog://logs.example.com:514"}));
    ASSERT_EQ(a->addons.size(), 2u);
    EXPECT_EQ(a->addons[0].id.rfind("ad-", 0), 0u) << a->addons[0].id;
    EXPECT_EQ(a->addons[0].provider, "postgresql");
    EXPECT_EQ(a->addons[0].url, "postgresql://app:secret@127.0.0.1:5432/my_app");
    EXPECT_EQ(a->addons[1].provider, "redis");
    EXPECT_NE(a->addons[0].id, a->addons[1].id);

    // Each region sees its own apps only.
    EXPECT_FALSE(fr1->find_app("static-site"));
    const auto secnum = open("osc-secnum-fr1")->find_app("static-site");
    ASSERT_TRUE(secnum);
    EXPECT_FALSE(secnum->running);
    EXPECT_TRUE(secnum->addons.empty());
}

TEST_F(local_driver, a_reimport_replaces_and_keeps_the_ids)
{
    import(inventory_yaml);
    const auto before = *open("osc-fr1")->find_app("my-app");

    std::string changed = inventory_yaml;
    changed.replace(changed.find("RAILS_ENV: production"), 21, "RAILS_ENV: staging");
    changed.replace(changed.find("plan: sandbox"), 13, "plan: premium");
    const auto summary = import(changed + R"yaml(
  - name: new-app
    region: osc-fr1
)yaml");
    EXPECT_EQ(summary.added, 1u);
    EXPECT_EQ(summary.replaced, 2u);

    const auto fr1 = open("osc-fr1");
    const auto after = *fr1->find_app("my-app");
    EXPECT_EQ(after.id, before.id);
    EXPECT_EQ(after.env.at("RAILS_ENV"), "staging");
    ASSERT_EQ(after.addons.size(), 2u);
    EXPECT_EQ(after.addons[0].id, before.addons[0].id);
    EXPECT_EQ(after.addons[1].id, before.addons[1].id);
    EXPECT_EQ(after.addons[1].plan, "premium");
    EXPECT_TRUE(fr1->find_app("new-app"));

    // An addon the file drops is dropped; a new provider gets a new id.
    std::string other = inventory_yaml;
    other.replace(other.find("{provider: redis, plan: sandbox}"), 32, "{provider: mongodb, plan: sandbox}");
    import(other);
    const auto third = *fr1->find_app("my-app");
    ASSERT_EQ(third.addons.size(), 2u);
    EXPECT_EQ(third.addons[0].id, before.addons[0].id);
    EXPECT_EQ(third.addons[1].provider, "mongodb");
    EXPECT_NE(third.addons[1].id, before.addons[1].id);
    EXPECT_TRUE(fr1->find_app("new-app"));   // apps not in the file are kept
}

TEST_F(local_driver, an_unknown_region_refuses_the_whole_import)
{
    regions_.regions.erase("osc-secnum-fr1");
    try {
        import(inventory_yaml);
        ADD_FAILURE() << "no error";
    } catch (const platform_error& e) {
        EXPECT_NE(std::string{e.what()}.find("static-site: the region osc-secnum-fr1 is not in the control configuration"),
                  std::string::npos)
            << e.what();
        EXPECT_NE(std::string{e.what()}.find("nothing changed"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(open("osc-fr1")->find_app("my-app"));
}

TEST_F(local_driver, a_frozen_app_or_one_a_migration_made_refuses_the_import)
{
    import(inventory_yaml);
    auto fr1 = open("osc-fr1");
    fr1->set_frozen("my-app", true);
    fr1->create_app("made-by-mig", "mig-1");

    std::string changed = inventory_yaml;
    changed.replace(changed.find("RAILS_ENV: production"), 21, "RAILS_ENV: staging");
    try {
        import(changed + R"yaml(
  - name: made-by-mig
    region: osc-fr1
  - name: brand-new
    region: osc-fr1
)yaml");
        ADD_FAILURE() << "no error";
    } catch (const platform_error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("my-app in osc-fr1 is frozen by a migration"), std::string::npos) << what;
        EXPECT_NE(what.find("made-by-mig in osc-fr1 was created by migration mig-1"), std::string::npos) << what;
    }
    const auto a = fr1->find_app("my-app");
    EXPECT_EQ(a->env.at("RAILS_ENV"), "production");
    EXPECT_TRUE(a->frozen);
    EXPECT_FALSE(fr1->find_app("brand-new"));

    fr1->set_frozen("my-app", false);
    EXPECT_EQ(import(changed).replaced, 2u);
    EXPECT_EQ(fr1->find_app("my-app")->env.at("RAILS_ENV"), "staging");
}

TEST_F(local_driver, every_put_round_trips_through_find_app)
{
    auto p = open("osc-secnum-fr1");
    app expected = p->create_app("target-app", "mig-7");
    EXPECT_EQ(expected.migration, "mig-7");
    EXPECT_FALSE(expected.running);
    EXPECT_EQ(p->find_app("target-app"), expected);

    expected.settings = {.force_https = true, .sticky_session = true, .router_logs = false};
    p->put_settings("target-app", expected.settings);
    expected.last_deployment = deployment{.id = "d-1", .status = "success", .image = "img:1"};
    p->put_deployment("target-app", *expected.last_deployment);
    expected.env = {{"A", "1"}, {"QUOTED", "\"x\"\n\\y ✓"}};
    p->put_env("target-app", expected.env);
    expected.scm = scm_link{.type = "gitlab", .repo = "o/r", .auto_deploy = false};
    p->put_scm("target-app", expected.scm);
    expected.collaborators = {{.email = "a@example.com", .status = "accepted"}};
    p->put_collaborators("target-app", expected.collaborators);
    expected.domains = {{.name = "x.example.com", .certificate_not_after = "2027-01-01T00:00:00Z"},
                        {.name = "y.example.com", .certificate_not_after = std::nullopt}};
    p->put_domains("target-app", expected.domains);
    expected.formation = {{.name = "web", .amount = 0, .size = "L"}, {.name = "clock", .amount = 0, .size = "S"}};
    p->put_formation("target-app", expected.formation);
    expected.notifiers = {{.name = "n", .platform = "slack", .active = false, .events = {"a", "b"}}};
    p->put_notifiers("target-app", expected.notifiers);
    expected.alerts = {{.container_type = "web", .metric = "memory", .limit = 0.123456789012345,
                        .send_when_below = true, .notifiers = {"n"}}};
    p->put_alerts("target-app", expected.alerts);
    expected.autoscalers = {{.container_type = "web", .min = 1, .max = 9, .metric = "cpu", .target = 0.5,
                             .disabled = true}};
    p->put_autoscalers("target-app", expected.autoscalers);
    expected.log_drains = {"syslog://a:1", "https://b/c"};
    p->put_log_drains("target-app", expected.log_drains);
    EXPECT_EQ(p->find_app("target-app"), expected);

    // Final values: a second PUT replaces, an empty one clears.
    expected.scm = std::nullopt;
    p->put_scm("target-app", std::nullopt);
    expected.env = {};
    p->put_env("target-app", {});
    EXPECT_EQ(p->find_app("target-app"), expected);

    // Another connection (another process) sees the same.
    EXPECT_EQ(open("osc-secnum-fr1")->find_app("target-app"), expected);

    try {
        p->put_env("missing-app", {});
        ADD_FAILURE() << "no error";
    } catch (const platform_error& e) {
        EXPECT_NE(std::string{e.what()}.find("no app missing-app in osc-secnum-fr1"), std::string::npos) << e.what();
    }
    EXPECT_THROW(p->set_frozen("missing-app", true), platform_error);
}

TEST_F(local_driver, create_app_adopts_its_own_and_refuses_taken_names)
{
    import(inventory_yaml);
    auto fr1 = open("osc-fr1");
    const auto made = fr1->create_app("new-one", "mig-1");
    EXPECT_EQ(fr1->create_app("new-one", "mig-1"), made);   // a resumed step

    const auto refused = [&](const std::string& name, const std::string& migration) {
        try {
            fr1->create_app(name, migration);
            ADD_FAILURE() << name << " created";
        } catch (const platform_error& e) {
            EXPECT_EQ(std::string{e.what()}, "the name " + name + " is taken in osc-fr1");
        }
    };
    refused("new-one", "mig-2");   // another migration's
    refused("my-app", "mig-1");    // an imported app
    EXPECT_THROW(fr1->create_app("Bad Name", "mig-1"), platform_error);

    // The same name in another region is another app.
    const auto elsewhere = open("osc-secnum-fr1")->create_app("my-app", "mig-1");
    EXPECT_NE(elsewhere.id, fr1->find_app("my-app")->id);
}

TEST_F(local_driver, scale_sets_final_amounts_and_running_follows)
{
    import(inventory_yaml);
    auto fr1 = open("osc-fr1");
    fr1->set_frozen("my-app", true);   // the data step stops a frozen source

    fr1->scale("my-app", {{.name = "web", .amount = 0, .size = ""}, {.name = "worker", .amount = 0, .size = ""}});
    auto a = *fr1->find_app("my-app");
    EXPECT_FALSE(a.running);
    EXPECT_EQ(a.formation[0], (formation_type{.name = "web", .amount = 0, .size = "M"}));   // size kept

    fr1->scale("my-app", {{.name = "web", .amount = 3, .size = ""}});
    fr1->scale("my-app", {{.name = "web", .amount = 3, .size = ""}});   // the same final value twice
    a = *fr1->find_app("my-app");
    EXPECT_TRUE(a.running);
    EXPECT_EQ(a.formation[0].amount, 3);
    EXPECT_EQ(a.formation[1].amount, 0);   // not named: 0

    fr1->scale("my-app", {});
    EXPECT_FALSE(fr1->find_app("my-app")->running);

    try {
        fr1->scale("my-app", {{.name = "clock", .amount = 1, .size = ""}});
        ADD_FAILURE() << "no error";
    } catch (const platform_error& e) {
        EXPECT_NE(std::string{e.what()}.find("has no container type clock"), std::string::npos) << e.what();
    }
    EXPECT_THROW(fr1->scale("my-app", {{.name = "web", .amount = -1, .size = ""}}), platform_error);
    EXPECT_THROW(fr1->scale("missing-app", {}), platform_error);
}

TEST_F(local_driver, addons_of_other_providers_are_records)
{
    auto p = open("osc-fr1");
    p->create_app("target-app", "mig-1");
    EXPECT_FALSE(p->find_addon("target-app", "ad-source-1"));
    const addon like{.id = "ad-source-1", .provider = "redis", .plan = "sandbox", .version = "7", .url = "redis://src"};
    const auto made = p->provision_addon("target-app", like, "ad-source-1");
    EXPECT_EQ(made.id.rfind("ad-", 0), 0u);
    EXPECT_NE(made.id, "ad-source-1");
    EXPECT_EQ(made.provider, "redis");
    EXPECT_EQ(made.plan, "sandbox");
    EXPECT_EQ(made.version, "7");
    EXPECT_EQ(made.url, "redis://osc-fr1.local/" + made.id);
    EXPECT_FALSE(p->has_backups(made));

    EXPECT_EQ(p->provision_addon("target-app", like, "ad-source-1"), made);   // adopted
    EXPECT_EQ(p->find_addon("target-app", "ad-source-1"), made);
    EXPECT_EQ(p->find_app("target-app")->addons, std::vector<addon>{made});
    EXPECT_THROW(p->provision_addon("missing-app", like, "ad-source-1"), platform_error);

    try {
        p->create_backup("target-app", made.id, "mig-1");
        ADD_FAILURE() << "no error";
    } catch (const platform_error& e) {
        EXPECT_NE(std::string{e.what()}.find("redis addons have no backups"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(p->find_backup("target-app", made.id, "mig-1"));

    p->delete_addon("target-app", made.id);
    EXPECT_FALSE(p->find_addon("target-app", "ad-source-1"));
    EXPECT_NO_THROW(p->delete_addon("target-app", made.id));   // gone already
    EXPECT_NO_THROW(p->delete_addon("missing-app", made.id));
}

TEST_F(local_driver, a_postgresql_addon_needs_the_regions_server)
{
    auto p = open("osc-fr1");
    p->create_app("target-app", "mig-1");
    try {
        p->provision_addon("target-app", {.id = "a", .provider = "postgresql", .plan = "p", .version = "15", .url = ""},
                           "ad-source-1");
        ADD_FAILURE() << "no error";
    } catch (const platform_error& e) {
        EXPECT_NE(std::string{e.what()}.find("the region osc-fr1 has no `databases.postgresql` server"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_FALSE(p->find_addon("target-app", "ad-source-1"));
}

TEST_F(local_driver, delete_app_removes_it_and_its_addons)
{
    import(inventory_yaml);
    auto fr1 = open("osc-fr1");
    const auto a = *fr1->find_app("my-app");
    // Imported addons point at the user's databases: deleting the app removes the
    // records, never the databases (no server is even configured here).
    fr1->delete_app("my-app");
    EXPECT_FALSE(fr1->find_app("my-app"));
    EXPECT_NO_THROW(fr1->delete_app("my-app"));
    database db{db_};
    EXPECT_EQ(db.query_text("SELECT count(*) FROM local_addons"), "0");
    EXPECT_TRUE(open("osc-secnum-fr1")->find_app("static-site"));
}

TEST_F(local_driver, a_malformed_document_is_a_clear_error)
{
    import(inventory_yaml);
    auto fr1 = open("osc-fr1");
    database db{db_};
    const auto expect_malformed = [&](const std::string& document, const std::string& why) {
        statement st{db, "UPDATE local_apps SET document = ? WHERE name = 'my-app'"};
        st.bind(1, document).run();
        try {
            fr1->find_app("my-app");
            ADD_FAILURE() << document << ": no error";
        } catch (const platform_error& e) {
            const std::string what = e.what();
            EXPECT_NE(what.find("record of app my-app in osc-fr1"), std::string::npos) << what;
            EXPECT_NE(what.find("is malformed: " + why), std::string::npos) << what;
        }
        EXPECT_THROW(fr1->put_env("my-app", {}), platform_error);
    };
    expect_malformed("{not json", "not JSON");
    expect_malformed("[]", "the document is not an object");
    expect_malformed("{}", "no \"settings\"");
    expect_malformed(R"({"settings": 3})", "\"settings\" is not an object");

    db.exec("UPDATE local_apps SET document = '{}' WHERE name = 'my-app'");
    // Another app is unaffected.
    EXPECT_TRUE(open("osc-secnum-fr1")->find_app("static-site"));
}

TEST_F(local_driver, a_newer_schema_is_refused)
{
    open("osc-fr1");
    {
        database db{db_};
        db.exec("UPDATE local_schema_version SET version = 99");
    }
    try {
        open("osc-fr1");
        ADD_FAILURE() << "no error";
    } catch (const platform_error& e) {
        EXPECT_NE(std::string{e.what()}.find("schema version 99, newer than this program's 1"), std::string::npos)
            << e.what();
    }
    EXPECT_THROW(import(inventory_yaml), platform_error);
}

TEST_F(local_driver, shares_the_file_with_the_store)
{
    store s{db_};
    import(inventory_yaml);
    auto fr1 = open("osc-fr1");
    store again{db_};
    EXPECT_TRUE(fr1->find_app("my-app"));
}

TEST(local_database_name, is_deterministic_valid_and_distinct)
{
    const auto name = local_database_name("osc-fr1", "my-app", "ad-1");
    EXPECT_EQ(name, local_database_name("osc-fr1", "my-app", "ad-1"));
    EXPECT_EQ(name.rfind("stork_my_app_", 0), 0u) << name;
    EXPECT_TRUE(valid_database_name(name)) << name;

    std::set<std::string> names{name,
                                local_database_name("osc-fr1", "my-app", "ad-2"),
                                local_database_name("osc-secnum-fr1", "my-app", "ad-1"),
                                local_database_name("osc-fr1", "my-app2", "ad-1")};
    EXPECT_EQ(names.size(), 4u);

    const std::string long_name(48, 'a');
    const auto a = local_database_name("osc-fr1", long_name, "ad-1");
    const auto b = local_database_name("osc-fr1", long_name.substr(0, 47) + "b", "ad-1");
    EXPECT_LE(a.size(), 63u);
    EXPECT_TRUE(valid_database_name(a)) << a;
    EXPECT_NE(a, b);
    EXPECT_TRUE(valid_database_name(local_database_name("r", "9lives", "x"))) << "a digit first";
}

TEST(local_driver_folders, backups_go_next_to_the_database)
{
    EXPECT_EQ(default_backup_folder("/var/lib/stork/control.db"), "/var/lib/stork/control.db.backups");
}

} // namespace
} // namespace stork::migrate
