// preflight, prepare and the abort of prepare against two in-memory regions.
#include "migrate/steps.hpp"

#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace stork::migrate {
namespace {

// A region in memory, keeping the platform port's rules (find by name, tags, final
// values, deletes of what is gone succeed).
class memory_platform final : public platform {
public:
    explicit memory_platform(std::string region) : region_{std::move(region)} {}

    std::map<std::string, app> apps;
    int creates = 0;

    std::string region() const override { return region_; }
    std::optional<app> find_app(std::string_view name) override
    {
        const auto it = apps.find(std::string{name});
        return it == apps.end() ? std::nullopt : std::optional<app>{it->second};
    }
    app create_app(std::string_view name, std::string_view migration) override
    {
        if (auto it = apps.find(std::string{name}); it != apps.end()) {
            if (it->second.migration != migration) {
                throw platform_error{"the name is taken"};
            }
            return it->second;
        }
        ++creates;
        app a;
        a.id = region_ + "-" + std::string{name};
        a.name = name;
        a.region = region_;
        a.migration = std::string{migration};
        return apps[a.name] = a;
    }
    void delete_app(std::string_view name) override { apps.erase(std::string{name}); }
    void set_frozen(std::string_view name, bool frozen) override { at(name).frozen = frozen; }
    void put_settings(std::string_view a, const app_settings& s) override { at(a).settings = s; }
    void put_deployment(std::string_view a, const deployment& d) override { at(a).last_deployment = d; }
    void put_env(std::string_view a, const std::map<std::string, std::string>& e) override { at(a).env = e; }
    void put_scm(std::string_view a, const std::optional<scm_link>& s) override { at(a).scm = s; }
    void put_collaborators(std::string_view a, const std::vector<collaborator>& c) override { at(a).collaborators = c; }
    void put_domains(std::string_view a, const std::vector<domain>& d) override { at(a).domains = d; }
    void put_formation(std::string_view a, const std::vector<formation_type>& f) override { at(a).formation = f; }
    void put_notifiers(std::string_view a, const std::vector<notifier>& n) override { at(a).notifiers = n; }
    void put_alerts(std::string_view a, const std::vector<alert>& x) override { at(a).alerts = x; }
    void put_autoscalers(std::string_view a, const std::vector<autoscaler>& x) override { at(a).autoscalers = x; }
    void put_log_drains(std::string_view a, const std::vector<std::string>& u) override { at(a).log_drains = u; }
    void scale(std::string_view a, const std::vector<formation_type>& f) override { at(a).formation = f; }
    std::optional<addon> find_addon(std::string_view, std::string_view) override { return std::nullopt; }
    addon provision_addon(std::string_view, const addon& like, std::string_view) override { return like; }
    void delete_addon(std::string_view, std::string_view) override {}
    bool has_backups(const addon& a) const override { return a.provider == "postgresql"; }
    std::optional<backup> find_backup(std::string_view, std::string_view, std::string_view) override
    {
        return std::nullopt;
    }
    backup create_backup(std::string_view, std::string_view addon_id, std::string_view) override
    {
        return backup{.id = "bk-" + std::string{addon_id}, .addon_id = std::string{addon_id}};
    }
    void restore_backup(std::string_view, std::string_view, const backup&) override {}

private:
    app& at(std::string_view name)
    {
        const auto it = apps.find(std::string{name});
        if (it == apps.end()) {
            throw platform_error{"no app " + std::string{name}};
        }
        return it->second;
    }
    std::string region_;
};

// Front servers in memory: the rules by host.
class memory_fronts final : public front_servers {
public:
    std::map<std::string, redirect_rule> rules;
    std::size_t servers = 1;

    std::size_t size() const override { return servers; }
    void install(const redirect_rule& r) override { rules[r.host] = r; }
    void remove(std::string_view host, std::string_view migration) override
    {
        if (const auto it = rules.find(std::string{host}); it != rules.end() && it->second.migration == migration) {
            rules.erase(it);
        }
    }
};

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
    memory_platform from{"osc-fr1"};
    memory_platform to{"osc-secnum-fr1"};
    config::region_config from_region{.name = "osc-fr1", .domain = "osc-fr1.scalingo.io"};
    config::region_config to_region{.name = "osc-secnum-fr1", .domain = "osc-secnum-fr1.scalingo.io"};
    memory_fronts fronts;
    engine e{s,
             make_plan(flow_platforms{.source = from,
                                      .destination = to,
                                      .source_region = from_region,
                                      .destination_region = to_region,
                                      .fronts = fronts,
                                      .now = [] { return std::chrono::sys_days{std::chrono::year{2026} / 11 / 21}; },
                                      .window = std::chrono::hours{24 * 7}},
                       s),
             engine::options{.runner_folder = runner_folder(db)}};

    steps_fixture() { from.apps["my-app"] = source_app(); }

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
    EXPECT_EQ(subs[0].name, "Abort: delete the new app");
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

TEST_F(steps_fixture, a_step_not_built_yet_fails_instead_of_pretending)
{
    const auto m = create();
    e.run(m.id, step_kind::preflight);
    e.run(m.id, step_kind::prepare);
    const auto r = e.run(m.id, step_kind::data);
    EXPECT_EQ(r.after.status, migration_status::error);
    EXPECT_NE(last_logs(m).find("not built yet"), std::string::npos);
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
