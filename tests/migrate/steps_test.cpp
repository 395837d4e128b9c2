// Every step and the abort from each state, against two in-memory regions.
#include "migrate/steps.hpp"

#include "tests/migrate/memory_platform.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace stork::migrate {
namespace {

using test::memory_fronts;
using test::memory_platform;

app source_app()
{
    app a;
    a.id = "osc-fr1-my-app";
    a.name = "my-app";
    a.region = "osc-fr1";
    a.running = true;
    a.settings = {.force_https = true, .sticky_session = false, .router_logs = true};
    a.last_deployment = deployment{"d-42", "success", "registry.local/my-app:3f2a9c"};
    a.addons = {{"ad-1", "postgresql", "starter-512", "15", "postgresql://u:s3cretpassw0rd@10.0.0.5:5432/app"}};
    a.env = {{"RAILS_ENV", "production"}, {"DATABASE_URL", "postgresql://u:s3cretpassw0rd@10.0.0.5:5432/app"}};
    a.scm = scm_link{"github", "acme/my-app", true};
    a.collaborators = {{"a@example.com", "accepted"}, {"b@example.com", "pending"}};
    a.domains = {{"my-app.example.com", "2027-06-01T00:00:00Z"}, {"www.example.com", std::nullopt}};
    a.formation = {{"web", 2, "M"}, {"worker", 1, "S"}};
    a.notifiers = {{"ops", "slack", true, {"deployment"}}};
    a.alerts = {{"web", "cpu", 0.8, false, {"ops"}}};
    a.autoscalers = {{"web", 2, 6, "cpu", 0.7, false}};
    a.log_drains = {"syslog+tls://logs.example.com:6514"};
    return a;
}

struct steps_fixture : ::testing::Test {
    stork::test::temp_dir dir;
    std::filesystem::path db = dir.path() / "control.db";
    store s{db};
    std::vector<std::string> events;
    memory_platform from{"osc-fr1", &events};
    memory_platform to{"osc-secnum-fr1", &events};
    config::region_config from_region{.name = "osc-fr1", .domain = "osc-fr1.scalingo.io"};
    config::region_config to_region{.name = "osc-secnum-fr1",
                                    .domain = "osc-secnum-fr1.scalingo.io",
                                    .ingress = config::endpoint{.host = "127.0.0.1", .port = 9443, .is_ip = true}};
    memory_fronts fronts{&events};
    engine e = engine_with(fronts);

    // An engine on these regions, with other front servers or a ledger hook.
    engine engine_with(front_servers& f, step_context::ledger_hook hook = {})
    {
        return engine{s,
                      make_plan(flow_platforms{.source = from,
                                               .destination = to,
                                               .source_region = from_region,
                                               .destination_region = to_region,
                                               .fronts = f,
                                               .now = [] { return std::chrono::sys_days{std::chrono::year{2026} / 11 / 21}; },
                                               .window = std::chrono::hours{24 * 7}},
                                s),
                      engine::options{.runner_folder = runner_folder(db), .ledger_hook = std::move(hook)}};
    }

    steps_fixture()
    {
        from.apps["my-app"] = source_app();
        from.data["ad-1"] = "orders: 3 rows";
    }

    migration create()
    {
        return s.create_migration({.source_region = "osc-fr1", .source_app = "my-app",
                                   .destination_region = "osc-secnum-fr1", .destination_app = "my-app"});
    }
    std::string last_logs(const migration& m)
    {
        const auto steps = s.list_steps(m.id);
        for (const auto& ss : s.list_sub_steps(steps.back().id)) {
            if (ss.status == step_status::error) {
                return ss.logs;
            }
        }
        return {};
    }
};

TEST_F(steps_fixture, preflight_passes_for_a_deployed_app_with_a_free_name)
{
    const auto m = create();
    const auto r = e.run(m.id, step_kind::preflight);
    EXPECT_EQ(r.after.status, migration_status::preflight_success);
    EXPECT_TRUE(to.apps.empty()) << "preflight changes nothing";
    EXPECT_FALSE(from.apps["my-app"].frozen);
}

TEST_F(steps_fixture, preflight_failures_say_what_to_fix)
{
    struct bad {
        std::function<void(memory_platform&, memory_platform&)> make_it_so;
        std::string says;
    };
    const std::vector<bad> cases = {
        {[](memory_platform&, memory_platform& d) { d.apps["my-app"] = app{.id = "x", .name = "my-app"}; },
         "the name my-app is taken in osc-secnum-fr1"},
        {[](memory_platform& f, memory_platform&) { f.apps["my-app"].last_deployment.reset(); }, "never been deployed"},
        {[](memory_platform& f, memory_platform&) { f.apps["my-app"].last_deployment->status = "error"; },
         "(d-42) is error"},
        {[](memory_platform& f, memory_platform&) {
             f.apps["my-app"].domains[0].certificate_not_after = "2026-12-01T00:00:00Z";
         },
         "my-app.example.com (until 2026-12-01T00:00:00Z)"},
        {[](memory_platform& f, memory_platform&) {
             f.apps["my-app"].env["REPLICA"] = "host=10.0.0.5:5432 user=u";
             f.apps["my-app"].env["SECRET"] = "s3cretpassw0rd";
         },
         "REPLICA, SECRET"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.says);
        from.apps["my-app"] = source_app();
        to.apps.clear();
        c.make_it_so(from, to);
        const auto m = create();
        const auto r = e.run(m.id, step_kind::preflight);
        EXPECT_EQ(r.after.status, migration_status::preflight_error);
        EXPECT_NE(last_logs(m).find(c.says), std::string::npos) << last_logs(m);
    }
}

TEST_F(steps_fixture, prepare_builds_the_canvas_and_changes_nothing_but_the_sources_freeze)
{
    const auto m = create();
    e.run(m.id, step_kind::preflight);
    const auto r = e.run(m.id, step_kind::prepare);
    ASSERT_EQ(r.after.status, migration_status::prepared) << last_logs(m);
    ASSERT_TRUE(to.apps.count("my-app"));
    const app& n = to.apps["my-app"];
    const app src = source_app();
    EXPECT_EQ(r.after.new_app_id, n.id);
    EXPECT_EQ(n.migration, m.id);
    EXPECT_EQ(n.settings, src.settings);
    EXPECT_EQ(n.last_deployment, src.last_deployment);
    EXPECT_EQ(n.env, (std::map<std::string, std::string>{{"RAILS_ENV", "production"}}))
        << "DATABASE_URL is the addon's: the new addon brings its own";
    ASSERT_TRUE(n.scm);
    EXPECT_FALSE(n.scm->auto_deploy) << "switched on at finalize";
    EXPECT_EQ(n.collaborators, (std::vector<collaborator>{{"a@example.com", "accepted"}}));
    EXPECT_EQ(n.domains, src.domains);
    EXPECT_EQ(n.formation, (std::vector<formation_type>{{"web", 0, "M"}, {"worker", 0, "S"}}));
    EXPECT_FALSE(n.notifiers.at(0).active);
    EXPECT_EQ(n.alerts, src.alerts);
    EXPECT_TRUE(n.autoscalers.at(0).disabled);
    EXPECT_EQ(n.log_drains, src.log_drains);

    app frozen_source = from.apps["my-app"];
    EXPECT_TRUE(frozen_source.frozen);
    frozen_source.frozen = false;
    EXPECT_EQ(frozen_source.formation, src.formation) << "the source keeps running until data or finalize";
    EXPECT_EQ(to.creates, 1);
}

TEST_F(steps_fixture, abort_after_prepare_deletes_the_new_app_and_unfreezes_last)
{
    const auto m = create();
    e.run(m.id, step_kind::preflight);
    e.run(m.id, step_kind::prepare);
    const auto r = e.run(m.id, step_kind::abort);
    EXPECT_EQ(r.after.status, migration_status::aborted);
    EXPECT_FALSE(to.apps.count("my-app"));
    EXPECT_FALSE(from.apps["my-app"].frozen);
    const auto subs = s.list_sub_steps(s.list_steps(m.id).back().id);
    ASSERT_EQ(subs.size(), 2U);
    EXPECT_EQ(subs[0].name, "Abort: Delete new app");
    EXPECT_EQ(subs[1].name, "Restore app status");
}

TEST_F(steps_fixture, abort_before_prepare_has_nothing_to_undo)
{
    const auto m = create();
    e.run(m.id, step_kind::preflight);
    const auto r = e.run(m.id, step_kind::abort);
    EXPECT_EQ(r.after.status, migration_status::aborted);
    EXPECT_TRUE(s.list_sub_steps(s.list_steps(m.id).back().id).empty()) << "no sub-step with nothing to do";
}

// The names of the last execution's sub-steps, in order.
std::vector<std::string> sub_step_names(store& s, const migration& m)
{
    std::vector<std::string> names;
    for (const auto& ss : s.list_sub_steps(s.list_steps(m.id).back().id)) {
        names.push_back(ss.name);
    }
    return names;
}

TEST_F(steps_fixture, preflight_reports_every_problem_in_one_run)
{
    from.apps["my-app"].last_deployment->status = "error";
    from.apps["my-app"].addons.push_back({"ad-2", "influxdb", "small", "1.8", ""});
    from.apps["my-app"].formation[0].amount = 11;
    to_region.addons = std::vector<config::addon_offer>{{.provider = "postgresql", .plans = {}, .versions = {"16"}}};
    fronts.servers = 0;
    const auto m = create();
    const auto r = e.run(m.id, step_kind::preflight);
    EXPECT_EQ(r.after.status, migration_status::preflight_error);
    std::vector<std::string> failed;
    std::string logs;
    for (const auto& ss : s.list_sub_steps(s.list_steps(m.id).back().id)) {
        if (ss.status == step_status::error) {
            failed.push_back(ss.name);
            logs += ss.logs + "\n";
        }
    }
    EXPECT_EQ(failed, (std::vector<std::string>{"Check deployment", "Check addon versions",
                                                "Check addons compatibility", "Check app state"}));
    EXPECT_NE(logs.find("postgresql 15"), std::string::npos) << logs;
    EXPECT_NE(logs.find("influxdb (plan small)"), std::string::npos) << logs;
    EXPECT_NE(logs.find("11 web containers (at most 10 per type)"), std::string::npos) << logs;
    EXPECT_NE(logs.find("no front servers"), std::string::npos) << logs;
}

struct flow_fixture : steps_fixture {
    migration prepared()
    {
        from.apps["my-app"].addons.push_back({"ad-2", "redis", "starter", "7", "redis://10.0.0.6:6379"});
        auto m = create();
        EXPECT_EQ(e.run(m.id, step_kind::preflight).after.status, migration_status::preflight_success) << last_logs(m);
        EXPECT_EQ(e.run(m.id, step_kind::prepare).after.status, migration_status::prepared) << last_logs(m);
        return m;
    }
};

TEST_F(flow_fixture, data_stops_the_source_once_and_copies_each_database)
{
    const auto m = prepared();
    const auto r = e.run(m.id, step_kind::data);
    ASSERT_EQ(r.after.status, migration_status::data_migrated) << last_logs(m);
    EXPECT_EQ(sub_step_names(s, m), (std::vector<std::string>{"Stop your old app",
                                                              "Create addons on the 'osc-secnum-fr1' region",
                                                              "Import addons data"}));
    EXPECT_FALSE(from.apps["my-app"].running);
    EXPECT_EQ(r.after.source_formation_snapshot,
              R"([{"name":"web","amount":2,"size":"M"},{"name":"worker","amount":1,"size":"S"}])");
    EXPECT_EQ(r.after.source_stopped_by_migration, true);
    const auto& added = to.apps["my-app"].addons;
    ASSERT_EQ(added.size(), 2U) << "every addon provisioned, the redis one without data";
    const auto pg = to.find_addon("my-app", "ad-1");
    ASSERT_TRUE(pg);
    EXPECT_EQ(to.data[pg->id], "orders: 3 rows");
    EXPECT_EQ(from.backup_creates, 1) << "only the database is backed up";
    EXPECT_EQ(std::count(events.begin(), events.end(), "stop osc-fr1/my-app"), 1);
    EXPECT_LT(std::find(events.begin(), events.end(), "stop osc-fr1/my-app") - events.begin(),
              std::find(events.begin(), events.end(), "backup ad-1") - events.begin())
        << "the backup is taken of a stopped app";
}

TEST_F(flow_fixture, a_failed_restore_is_retried_from_the_same_backup)
{
    const auto m = prepared();
    to.fail_restores = 1;
    const auto failed = e.run(m.id, step_kind::data);
    EXPECT_EQ(failed.after.status, migration_status::error);
    EXPECT_EQ(failed.after.failed_step, step_kind::data);
    EXPECT_NE(last_logs(m).find("postgresql (ad-1): pg_restore: could not connect"), std::string::npos)
        << last_logs(m);
    const auto retried = e.run(m.id, step_kind::data);
    ASSERT_EQ(retried.after.status, migration_status::data_migrated) << last_logs(m);
    EXPECT_EQ(from.backup_creates, 1) << "the backup is set once";
    EXPECT_EQ(to.addon_creates, 2) << "nothing provisioned twice";
    EXPECT_EQ(to.data[to.find_addon("my-app", "ad-1")->id], "orders: 3 rows");
    EXPECT_EQ(retried.after.source_formation_snapshot, failed.after.source_formation_snapshot)
        << "the stopped source's zeros never replace the recorded formation";
}

TEST_F(flow_fixture, finalize_starts_the_new_app_and_installs_the_redirects)
{
    const auto m = prepared();
    e.run(m.id, step_kind::data);
    const auto r = e.run(m.id, step_kind::finalize);
    ASSERT_EQ(r.after.status, migration_status::done) << last_logs(m);
    EXPECT_EQ(sub_step_names(s, m),
              (std::vector<std::string>{"Start the new app", "Enable integrations", "Redirect traffic"}))
        << "the source was stopped by data";
    const app& n = to.apps["my-app"];
    EXPECT_EQ(n.formation, source_app().formation);
    EXPECT_TRUE(n.running);
    EXPECT_FALSE(from.apps["my-app"].running);
    EXPECT_TRUE(n.notifiers.at(0).active);
    EXPECT_FALSE(n.autoscalers.at(0).disabled);
    EXPECT_TRUE(n.scm->auto_deploy);
    EXPECT_FALSE(from.apps["my-app"].scm->auto_deploy) << "a push deploys the new app only";

    const auto expires = std::chrono::sys_days{std::chrono::year{2026} / 12 / 21};
    ASSERT_EQ(fronts.rules.size(), 3U);
    const auto& def = fronts.rules.at("my-app.osc-fr1.scalingo.io");
    EXPECT_EQ(def.mode, "redirect");
    EXPECT_EQ(def.target, "my-app.osc-secnum-fr1.scalingo.io");
    EXPECT_FALSE(def.upstream);
    EXPECT_EQ(def.expires_at, expires);
    for (const auto* host : {"my-app.example.com", "www.example.com"}) {
        const auto& rule = fronts.rules.at(host);
        EXPECT_EQ(rule.mode, "proxy");
        EXPECT_TRUE(rule.preserve_host);
        EXPECT_EQ(rule.target, "my-app.osc-secnum-fr1.scalingo.io");
        EXPECT_EQ(rule.upstream, "127.0.0.1:9443");
        EXPECT_EQ(rule.expires_at, expires);
        EXPECT_EQ(rule.app, "my-app");
        EXPECT_EQ(rule.migration, m.id);
    }
    ASSERT_TRUE(r.after.redirect_expires_at);
    EXPECT_EQ(*r.after.redirect_expires_at, expires);

    const auto refused = e.run(m.id, step_kind::abort);
    EXPECT_EQ(refused.outcome, run_outcome::refuse);
    EXPECT_NE(refused.reason.find("done"), std::string::npos) << refused.reason;
}

TEST_F(flow_fixture, finalize_without_data_stops_the_source_first)
{
    const auto m = prepared();
    const auto r = e.run(m.id, step_kind::finalize);
    ASSERT_EQ(r.after.status, migration_status::done) << last_logs(m);
    EXPECT_EQ(sub_step_names(s, m).front(), "Stop your old app");
    const auto stop = std::find(events.begin(), events.end(), "stop osc-fr1/my-app");
    const auto start = std::find(events.begin(), events.end(), "start osc-secnum-fr1/my-app");
    ASSERT_NE(stop, events.end());
    EXPECT_LT(stop, start) << "never both apps running";
    EXPECT_TRUE(to.apps["my-app"].addons.empty()) << "the owner moves the data";
}

TEST_F(flow_fixture, abort_after_data_deletes_addons_restarts_the_source_and_unfreezes_last)
{
    const auto m = prepared();
    e.run(m.id, step_kind::data);
    events.clear();
    const auto r = e.run(m.id, step_kind::abort);
    ASSERT_EQ(r.after.status, migration_status::aborted) << last_logs(m);
    EXPECT_EQ(sub_step_names(s, m), (std::vector<std::string>{"Abort: Start the old app", "Abort: Delete addons",
                                                              "Abort: Delete new app", "Restore app status"}));
    const app& src = from.apps["my-app"];
    EXPECT_EQ(src.formation, source_app().formation);
    EXPECT_TRUE(src.running);
    EXPECT_FALSE(src.frozen);
    EXPECT_FALSE(to.apps.count("my-app"));
    EXPECT_TRUE(to.data.empty()) << "the copied data is gone with its addon";
}

TEST_F(flow_fixture, abort_of_a_failed_finalize_stops_the_new_app_before_the_old_one_starts)
{
    const auto m = prepared();
    e.run(m.id, step_kind::data);
    // Fail the second install only: the first rule is then on the front servers.
    int installs = 0;
    struct failing_second final : front_servers {
        memory_fronts& inner;
        int& count;
        failing_second(memory_fronts& f, int& c) : inner{f}, count{c} {}
        std::size_t size() const override { return 1; }
        void install(const redirect_rule& r) override
        {
            if (++count == 2) {
                throw front_error{"front 127.0.0.1:9180 answered 503"};
            }
            inner.install(r);
        }
        void remove(std::string_view h, std::string_view mig) override { inner.remove(h, mig); }
    } flaky{fronts, installs};
    engine flaky_engine = engine_with(flaky);
    const auto failed = flaky_engine.run(m.id, step_kind::finalize);
    ASSERT_EQ(failed.after.status, migration_status::error);
    EXPECT_NE(last_logs(m).find("answered 503"), std::string::npos);
    ASSERT_EQ(fronts.rules.size(), 1U);
    events.clear();
    const auto r = flaky_engine.run(m.id, step_kind::abort);
    ASSERT_EQ(r.after.status, migration_status::aborted) << last_logs(m);
    EXPECT_EQ(sub_step_names(s, m),
              (std::vector<std::string>{"Abort: Stop the new app", "Abort: Start the old app",
                                        "Abort: Remove traffic redirection", "Abort: Enable auto-deploy of the old app",
                                        "Abort: Delete addons", "Abort: Delete new app", "Restore app status"}));
    const std::vector<std::string> first_three(events.begin(), events.begin() + 3);
    EXPECT_EQ(first_three, (std::vector<std::string>{"stop osc-secnum-fr1/my-app", "start osc-fr1/my-app",
                                                    "remove my-app.osc-fr1.scalingo.io"}));
    EXPECT_TRUE(fronts.rules.empty());
    EXPECT_TRUE(from.apps["my-app"].scm->auto_deploy);
    EXPECT_FALSE(from.apps["my-app"].frozen);
}

TEST_F(flow_fixture, a_source_that_was_not_running_is_neither_stopped_nor_started_by_the_migration)
{
    for (auto& f : from.apps["my-app"].formation) {
        f.amount = 0;
    }
    from.apps["my-app"].running = false;
    const auto m = prepared();
    ASSERT_EQ(e.run(m.id, step_kind::data).after.source_stopped_by_migration, false);
    events.clear();
    ASSERT_EQ(e.run(m.id, step_kind::abort).after.status, migration_status::aborted);
    EXPECT_EQ(std::count_if(events.begin(), events.end(), [](const std::string& ev) { return ev.starts_with("start"); }),
              0);
}

// A failure at every ledger point of data and finalize (the hook throws once there), then
// the step run again: the same end state, nothing made twice. The process-kill version of
// this runs against the local driver (flow_crash_process_test).
TEST_F(flow_fixture, a_step_interrupted_at_any_ledger_point_resumes_to_the_same_result)
{
    for (int point = 1;; ++point) {
        SCOPED_TRACE("ledger point " + std::to_string(point));
        events.clear();
        from.apps["my-app"] = source_app();
        from.backups.clear();
        from.backup_creates = 0;
        to.apps.clear();
        to.data.clear();
        to.addon_creates = 0;
        to.creates = 0;
        fronts.rules.clear();
        const auto m = prepared();
        int seen = 0;
        bool interrupted = false;
        engine interrupting = engine_with(fronts, [&](std::string_view) {
            if (++seen == point) {
                interrupted = true;
                throw std::runtime_error{"interrupted"};
            }
        });
        for (const auto step : {step_kind::data, step_kind::finalize}) {
            auto r = interrupting.run(m.id, step);
            if (r.failed) {
                r = e.run(m.id, step);   // the retry, without the hook
            }
            ASSERT_FALSE(r.failed) << last_logs(m);
        }
        EXPECT_EQ(s.get_migration(m.id)->status, migration_status::done);
        EXPECT_EQ(to.addon_creates, 2);
        EXPECT_EQ(from.backup_creates, 1);
        EXPECT_EQ(to.creates, 1);
        EXPECT_TRUE(to.apps["my-app"].running);
        EXPECT_FALSE(from.apps["my-app"].running);
        EXPECT_TRUE(to.apps["my-app"].scm->auto_deploy) << "the source's value, not the off it was switched to";
        EXPECT_EQ(fronts.rules.size(), 3U);
        EXPECT_EQ(to.data[to.find_addon("my-app", "ad-1")->id], "orders: 3 rows");
        // A new migration of the same app needs the old one finished: reset for the next point.
        s.database_for_test().exec("DELETE FROM ledger");
        s.database_for_test().exec("DELETE FROM sub_steps");
        s.database_for_test().exec("DELETE FROM steps");
        s.database_for_test().exec("DELETE FROM migrations");
        if (!interrupted) {
            EXPECT_GT(point, 10) << "the steps have ledger points to interrupt";
            break;
        }
    }
}

// An abort after a step was interrupted at any ledger point (including between a
// creation and its `created` record) leaves the source as it was and nothing behind.
TEST_F(flow_fixture, abort_after_an_interruption_at_any_ledger_point_restores_the_source)
{
    for (int point = 1;; ++point) {
        SCOPED_TRACE("ledger point " + std::to_string(point));
        from.apps["my-app"] = source_app();
        from.apps["my-app"].addons.push_back({"ad-2", "redis", "starter", "7", "redis://10.0.0.6:6379"});
        to.apps.clear();
        to.data.clear();
        fronts.rules.clear();
        auto m = create();
        e.run(m.id, step_kind::preflight);
        int seen = 0;
        bool interrupted = false;
        engine interrupting = engine_with(fronts, [&](std::string_view) {
            if (++seen == point) {
                interrupted = true;
                throw std::runtime_error{"interrupted"};
            }
        });
        for (const auto step : {step_kind::prepare, step_kind::data, step_kind::finalize}) {
            if (interrupting.run(m.id, step).failed) {
                break;
            }
        }
        if (!interrupted) {
            EXPECT_GT(point, 10);
            break;
        }
        const auto r = e.run(m.id, step_kind::abort);
        ASSERT_EQ(r.after.status, migration_status::aborted) << last_logs(m);
        app expected = source_app();
        expected.addons.push_back({"ad-2", "redis", "starter", "7", "redis://10.0.0.6:6379"});
        EXPECT_EQ(from.apps["my-app"].formation, expected.formation);
        EXPECT_TRUE(from.apps["my-app"].running);
        EXPECT_FALSE(from.apps["my-app"].frozen);
        EXPECT_EQ(from.apps["my-app"].scm, expected.scm);
        EXPECT_FALSE(to.apps.count("my-app"));
        EXPECT_TRUE(fronts.rules.empty());
    }
}

TEST(embeds_addon, finds_urls_hosts_and_passwords_not_short_coincidences)
{
    const std::vector<addon> addons{{"a", "postgresql", "p", "15", "postgresql://u:s3cretpassw0rd@db.internal:5432/app"}};
    EXPECT_TRUE(embeds_addon("postgresql://u:s3cretpassw0rd@db.internal:5432/app?sslmode=require", addons));
    EXPECT_TRUE(embeds_addon("db.internal:5432", addons));
    EXPECT_TRUE(embeds_addon("PGPASSWORD=s3cretpassw0rd", addons));
    EXPECT_FALSE(embeds_addon("production", addons));
    EXPECT_FALSE(embeds_addon("u", addons));
    const std::vector<addon> short_password{{"a", "postgresql", "p", "15", "postgresql://u:pw@h:1/d"}};
    EXPECT_FALSE(embeds_addon("pw", short_password));
}

} // namespace
} // namespace stork::migrate
