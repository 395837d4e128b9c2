// The migration commands against two in-memory regions, a real state database and a
// string for stdin (control/migration_commands.hpp).
#include "control/migration_commands.hpp"

#include "config/diagnostic.hpp"
#include "config/timestamp.hpp"
#include "migrate/runner_lock.hpp"
#include "migrate/store.hpp"
#include "tests/migrate/memory_platform.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json/parse.hpp>

#include <gtest/gtest.h>

#include <sstream>

namespace stork::control {
namespace {

using namespace migrate;

using migrate::test::memory_fronts;
using migrate::test::memory_platform;

app source_app()
{
    app a;
    a.id = "osc-fr1-my-app";
    a.name = "my-app";
    a.region = "osc-fr1";
    a.running = true;
    a.last_deployment = deployment{"d-42", "success", "registry.local/my-app:3f2a9c"};
    a.env = {{"RAILS_ENV", "production"}};
    a.domains = {{"my-app.example.com", std::nullopt}};
    a.formation = {{"web", 2, "M"}};
    return a;
}

constexpr std::string_view control_yaml = R"(state: state/control.db
regions:
  osc-fr1:
    domain: osc-fr1.scalingo.io
    driver: local
    front_servers: []
  osc-secnum-fr1:
    domain: osc-secnum-fr1.scalingo.io
    driver: local
    front_servers: []
dns:
  resolvers: [system]
)";

const auto fixed_now = std::chrono::sys_days{std::chrono::year{2026} / 11 / 21} + std::chrono::hours{10};

struct commands : ::testing::Test {
    stork::test::temp_dir dir;
    std::filesystem::path config_file = dir.write("control.yaml", control_yaml);
    std::filesystem::path db = dir.path() / "state" / "control.db";
    std::shared_ptr<memory_platform> from = std::make_shared<memory_platform>("osc-fr1");
    std::shared_ptr<memory_platform> to = std::make_shared<memory_platform>("osc-secnum-fr1");
    std::shared_ptr<memory_fronts> fronts = std::make_shared<memory_fronts>();
    std::ostringstream out;
    std::ostringstream err;
    std::istringstream in;
    bool interactive = false;
    bool colour = false;
    bool live = false;
    std::function<void(std::chrono::milliseconds)> sleep;
    std::vector<dns_changes_request> dns_requests;

    commands() { from->apps["my-app"] = source_app(); }

    migration_scope scope() const
    {
        return migration_scope{.config_file = config_file.string(), .region = "osc-fr1", .app = "my-app"};
    }
    std::string prefix() const { return "stork --config " + config_file.string() + " --region osc-fr1 --app my-app"; }

    int run(const migration_command& cmd, std::string input = "")
    {
        out.str("");
        err.str("");
        in.clear();
        in.str(std::move(input));
        const migration_io io{
            .out = out,
            .err = err,
            .in = in,
            .interactive = interactive,
            .colour = colour,
            .live = live,
            .env = [](std::string_view) { return std::optional<std::string>{}; },
            .now = [] { return fixed_now; },
            .open_regions =
                [this](const config::control_config&, const config::region_config& s, const config::region_config& d) {
                    EXPECT_EQ(s.name, "osc-fr1");
                    EXPECT_EQ(d.name, "osc-secnum-fr1");
                    return opened_regions{.source = from, .destination = to, .fronts = fronts};
                },
            .print_dns = [this](std::ostream& o,
                                const dns_changes_request& r) { dns_requests.push_back(r), o << "(dns changes)\n"; },
            .import_inventory = {},
            .poll_interval = std::chrono::milliseconds{1},
            .sleep = sleep};
        return run_migration_command(cmd, io);
    }

    std::string create_ok()
    {
        EXPECT_EQ(run(migration_create_command{.scope = scope(), .to = "osc-secnum-fr1"}), 0) << err.str();
        store s{db};
        return s.list_migrations().back().id;
    }
    migration_status status_of(const std::string& id)
    {
        store s{db};
        return s.get_migration(id)->status;
    }
};

TEST_F(commands, create_runs_the_preflight_and_prints_the_next_commands)
{
    ASSERT_EQ(run(migration_create_command{.scope = scope(), .to = "osc-secnum-fr1"}), 0) << err.str();
    store s{db};
    const auto id = s.list_migrations().at(0).id;
    EXPECT_EQ(out.str(), "Migration ID: " + id +
                             "\n"
                             "Migrating app: my-app\n"
                             "Destination: osc-secnum-fr1\n"
                             "New app ID: N/A\n"
                             "Status: created\n"
                             "\n"
                             "✔ Check destination region Done!\n"
                             "✔ Check deployment Done!\n"
                             "✔ Check certificate validity Done!\n"
                             "✔ Check environment Done!\n"
                             "✔ Check addon versions Done!\n"
                             "✔ Check addons compatibility Done!\n"
                             "✔ Check app state Done!\n"
                             "\n"
                             "Your app can be migrated to the osc-secnum-fr1 zone.\n"
                             "\n"
                             "- Start the migration with:\n" +
                             prefix() + " migration-run --prepare " + id +
                             "\n"
                             "- Abort the migration with:\n" +
                             prefix() + " migration-abort " + id + "\n");
    EXPECT_EQ(err.str(), "");
    EXPECT_EQ(s.get_migration(id)->status, migration_status::preflight_success);
    EXPECT_TRUE(std::filesystem::exists(db)) << "the state folder is created";
}

TEST_F(commands, on_a_terminal_the_running_sub_step_shows_until_it_ends_and_marks_are_coloured)
{
    colour = true;
    live = true;
    ASSERT_EQ(run(migration_create_command{.scope = scope(), .to = "osc-secnum-fr1"}), 0) << err.str();
    EXPECT_NE(out.str().find("Status: created\n\n"
                             "  Check destination region...\r\033[K\033[32m✔\033[0m Check destination region Done!\n"
                             "  Check deployment...\r\033[K"),
              std::string::npos)
        << out.str();
}

TEST_F(commands, a_failed_preflight_is_final_and_suggests_a_new_migration_not_an_abort)
{
    from->apps["my-app"].last_deployment.reset();
    ASSERT_EQ(run(migration_create_command{.scope = scope(), .to = "osc-secnum-fr1", .new_name = "my-app-2"}), 1);
    store s{db};
    const auto id = s.list_migrations().at(0).id;
    const std::string text = out.str();
    EXPECT_NE(text.find("✔ Check destination region Done!\n"
                        "✘ Check deployment FAILED!\n"
                        "       my-app has never been deployed: there is nothing to migrate\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\nThe migration failed because of the following errors:\n"
                        "- Step Check deployment failed: my-app has never been deployed: there is nothing to migrate\n"
                        "Fix what the preflight checks reported, then create a new migration with:\n" +
                        prefix() + " migration-create --to osc-secnum-fr1 --new-name my-app-2\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("migration-abort"), std::string::npos) << "preflight-error is terminal (CLI #534)";
    EXPECT_EQ(s.get_migration(id)->status, migration_status::preflight_error);
}

TEST_F(commands, a_second_create_names_the_migration_in_progress)
{
    const auto id = create_ok();
    EXPECT_EQ(run(migration_create_command{.scope = scope(), .to = "osc-secnum-fr1"}), 1);
    EXPECT_EQ(err.str(), "stork: my-app in osc-fr1 already has a migration in progress: " + id +
                             "\nFollow it with:\n" + prefix() + " migration-follow " + id + "\n");
    EXPECT_EQ(out.str(), "");
}

TEST_F(commands, an_app_the_region_does_not_have_is_refused_before_anything_is_recorded)
{
    auto other = scope();
    other.app = "nope";
    EXPECT_EQ(run(migration_create_command{.scope = other, .to = "osc-secnum-fr1"}), 2);
    EXPECT_EQ(err.str(), "stork: there is no app nope in osc-fr1 (the local driver's apps are loaded with: stork "
                         "platform import FILE)\n");
    EXPECT_EQ(out.str(), "");
    EXPECT_TRUE(store{db}.list_migrations().empty());
}

TEST_F(commands, regions_must_be_configured)
{
    EXPECT_EQ(run(migration_create_command{.scope = scope(), .to = "osc-nowhere"}), 2);
    EXPECT_EQ(err.str(), "stork: --to osc-nowhere is not a region of " + config_file.string() + "\n");
    auto other = scope();
    other.region = "osc-elsewhere";
    EXPECT_EQ(run(migrations_list_command{.scope = other}), 2);
    EXPECT_EQ(err.str(), "stork: --region osc-elsewhere is not a region of " + config_file.string() +
                             " (it has: osc-fr1, osc-secnum-fr1)\n");
    auto missing = scope();
    missing.config_file = (dir.path() / "nope.yaml").string();
    EXPECT_EQ(run(migrations_list_command{.scope = missing}), 2);
    EXPECT_NE(err.str().find("nope.yaml"), std::string::npos) << err.str();
}

TEST_F(commands, a_migration_of_another_app_or_an_unknown_id_is_a_usage_error)
{
    const auto id = create_ok();
    auto other = scope();
    other.app = "other-app";
    EXPECT_EQ(run(migration_run_command{.scope = other, .step = migration_step::prepare, .id = id}), 2);
    EXPECT_EQ(err.str(), "stork: migration " + id + " is of app my-app in osc-fr1, not of other-app in osc-fr1\n");
    EXPECT_EQ(run(migration_follow_command{.scope = scope(), .id = "no-such-id"}), 2);
    EXPECT_EQ(err.str(), "stork: no migration no-such-id in " + db.string() + "\n");
}

TEST_F(commands, prepare_asks_on_a_terminal_and_runs_when_accepted)
{
    const auto id = create_ok();
    interactive = true;
    ASSERT_EQ(run(migration_run_command{.scope = scope(), .step = migration_step::prepare, .id = id}, "y\n"), 0)
        << err.str();
    const std::string text = out.str();
    EXPECT_EQ(text.rfind("Note: Prepare will create an empty canvas. This won't modify your production application\n"
                         "\n"
                         "The following operations will be achieved:\n"
                         " - Mark your app as migrating (preventing you from modifying it)\n"
                         " - Create the new app named my-app in the region 'osc-secnum-fr1'\n",
                         0),
              0u)
        << text;
    EXPECT_NE(text.find(" - Import alerts\n - Import log drains\nContinue? [y/N] Migration ID: " + id), std::string::npos)
        << text;
    EXPECT_NE(text.find("✔ Mark your app as migrating Done!\n✔ Create the new app Done!\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\nApplication on region 'osc-secnum-fr1' has been prepared, you can now:\n"
                        "- Let stork migrate your data to 'osc-secnum-fr1' newly created databases with:\n" +
                        prefix() + " migration-run --data " + id +
                        "\n"
                        "- Handle data migration manually, then finalize the migration with:\n" +
                        prefix() + " migration-run --finalize " + id + "\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(status_of(id), migration_status::prepared);
    EXPECT_TRUE(to->apps.contains("my-app"));
    EXPECT_TRUE(from->apps["my-app"].frozen);
}

TEST_F(commands, prepare_declined_changes_nothing_and_says_how_to_abort)
{
    const auto id = create_ok();
    interactive = true;
    for (const std::string answer : {"n\n", "\n", ""}) {
        ASSERT_EQ(run(migration_run_command{.scope = scope(), .step = migration_step::prepare, .id = id}, answer), 1)
            << answer;
        EXPECT_NE(out.str().find("Continue? [y/N] "), std::string::npos);
        EXPECT_NE(out.str().find("The current step has been canceled. You can restart it later.\n"
                                 "If you want to abort the migration, run:\n" +
                                 prefix() + " migration-abort " + id + "\n"),
                  std::string::npos)
            << out.str();
        EXPECT_EQ(status_of(id), migration_status::preflight_success);
        EXPECT_TRUE(to->apps.empty());
    }
}

TEST_F(commands, yes_or_no_terminal_skips_the_question)
{
    const auto id = create_ok();
    interactive = true;
    ASSERT_EQ(run(migration_run_command{.scope = scope(), .step = migration_step::prepare, .id = id, .yes = true}), 0);
    EXPECT_EQ(out.str().find("Continue?"), std::string::npos);
    EXPECT_EQ(status_of(id), migration_status::prepared);
}

TEST_F(commands, out_of_order_is_refused_and_a_step_already_done_is_a_no_op)
{
    const auto id = create_ok();
    EXPECT_EQ(run(migration_run_command{.scope = scope(), .step = migration_step::finalize, .id = id}), 1);
    EXPECT_EQ(err.str(), "stork: the migration is preflight-success: run --prepare first\n");
    EXPECT_EQ(status_of(id), migration_status::preflight_success);

    ASSERT_EQ(run(migration_run_command{.scope = scope(), .step = migration_step::prepare, .id = id}), 0);
    EXPECT_EQ(run(migration_run_command{.scope = scope(), .step = migration_step::prepare, .id = id}), 0);
    EXPECT_EQ(out.str(), "Nothing to do: the prepare step is already done (the migration is prepared)\n");
}

TEST_F(commands, a_failed_step_lists_its_failures_then_retry_and_abort)
{
    const auto id = create_ok();
    // Someone takes the name in the destination after the preflight.
    to->apps["my-app"] = app{.id = "squatter", .name = "my-app", .region = "osc-secnum-fr1"};
    EXPECT_EQ(run(migration_run_command{.scope = scope(), .step = migration_step::prepare, .id = id}), 1);
    const std::string text = out.str();
    EXPECT_NE(text.find("✘ Create the new app FAILED!\n       the name is taken\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\nThe migration failed because of the following errors:\n"
                        "- Step Create the new app failed: the name is taken\n"
                        "To retry the failed step, run:\n" +
                        prefix() + " migration-run --prepare " + id +
                        "\n"
                        "To rollback your application to a working state, run:\n" +
                        prefix() + " migration-abort " + id + "\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(status_of(id), migration_status::error);

    // Retry is allowed (Scalingo only let a failed migration be aborted).
    to->apps.erase("my-app");
    EXPECT_EQ(run(migration_run_command{.scope = scope(), .step = migration_step::prepare, .id = id}), 0) << out.str();
    EXPECT_EQ(status_of(id), migration_status::prepared);
}

TEST_F(commands, data_then_finalize_does_not_announce_stopping_the_old_app_twice)
{
    const auto id = create_ok();
    ASSERT_EQ(run(migration_run_command{.scope = scope(), .step = migration_step::prepare, .id = id}), 0);
    interactive = true;
    ASSERT_EQ(run(migration_run_command{.scope = scope(), .step = migration_step::data, .id = id}, "y\n"), 0)
        << out.str() << err.str();
    EXPECT_EQ(out.str().rfind("The following operations will be achieved:\n"
                              " - Stop your old app\n"
                              " - Create addons on the 'osc-secnum-fr1' region\n"
                              " - Import addons data\n"
                              "Continue? [y/N] ",
                              0),
              0u)
        << out.str();
    EXPECT_NE(out.str().find("\nData has been migrated to the 'osc-secnum-fr1' region\n"
                             "You can finalize the migration with:\n" +
                             prefix() + " migration-run --finalize " + id + "\n"),
              std::string::npos)
        << out.str();
    EXPECT_EQ(status_of(id), migration_status::data_migrated);

    // The old app is stopped already (§1.8: omitted when data-migrated).
    ASSERT_EQ(run(migration_run_command{.scope = scope(), .step = migration_step::finalize, .id = id}, "y\n"), 0)
        << out.str() << err.str();
    EXPECT_EQ(out.str().rfind("The following operations will be achieved:\n"
                              " - Start the new app\n",
                              0),
              0u)
        << out.str();
    EXPECT_EQ(status_of(id), migration_status::done);
}

TEST_F(commands, finalize_prints_the_new_address_and_the_dns_changes_of_the_custom_domains)
{
    const auto id = create_ok();
    ASSERT_EQ(run(migration_run_command{.scope = scope(), .step = migration_step::prepare, .id = id}), 0);
    interactive = true;
    ASSERT_EQ(run(migration_run_command{.scope = scope(), .step = migration_step::finalize, .id = id}, "y\n"), 0)
        << out.str() << err.str();
    const std::string text = out.str();
    EXPECT_NE(text.find("The following operations will be achieved:\n"
                        " - Stop your old app\n"
                        " - Start the new app\n"
                        " - Redirect the traffic coming to 'my-app' on the old region to 'my-app' on "
                        "'osc-secnum-fr1'\n"
                        "Continue? [y/N] "),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\nYour application is now available at: https://my-app.osc-secnum-fr1.scalingo.io\n\n"
                        "(dns changes)\n"),
              std::string::npos)
        << text;
    ASSERT_EQ(dns_requests.size(), 1u);
    EXPECT_EQ(dns_requests[0].domains, std::vector<std::string>{"my-app.example.com"});
    EXPECT_EQ(dns_requests[0].new_target, "my-app.osc-secnum-fr1.scalingo.io");
    EXPECT_EQ(dns_requests[0].old_target, "my-app.osc-fr1.scalingo.io");
    EXPECT_EQ(status_of(id), migration_status::done);

    EXPECT_EQ(run(migration_abort_command{.scope = scope(), .id = id, .yes = true}), 1);
    EXPECT_NE(err.str().find("stork: "), std::string::npos) << "a done migration is not aborted";
    EXPECT_EQ(status_of(id), migration_status::done);
}

TEST_F(commands, abort_undoes_prepare_and_offers_to_create_again)
{
    const auto id = create_ok();
    ASSERT_EQ(run(migration_run_command{.scope = scope(), .step = migration_step::prepare, .id = id}), 0);
    interactive = true;
    EXPECT_EQ(run(migration_abort_command{.scope = scope(), .id = id}, "no\n"), 1);
    EXPECT_NE(out.str().find("The abort has been canceled. Nothing was changed.\n"), std::string::npos) << out.str();
    EXPECT_EQ(status_of(id), migration_status::prepared);

    ASSERT_EQ(run(migration_abort_command{.scope = scope(), .id = id}, "yes\n"), 0) << err.str();
    const std::string text = out.str();
    EXPECT_NE(text.find(" - Delete the new app my-app in the region 'osc-secnum-fr1'"), std::string::npos) << text;
    EXPECT_NE(text.find("✔ Restore app status Done!\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\nThe migration '" + id +
                        "' has been aborted\n"
                        "You can retry it with:\n" +
                        prefix() + " migration-create --to osc-secnum-fr1\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(status_of(id), migration_status::aborted);
    EXPECT_TRUE(to->apps.empty());
    EXPECT_FALSE(from->apps["my-app"].frozen);

    EXPECT_EQ(run(migration_abort_command{.scope = scope(), .id = id}), 0) << "aborting twice is a no-op";
    EXPECT_EQ(out.str().rfind("Nothing to do: ", 0), 0u) << out.str();
}

TEST_F(commands, abort_while_another_process_runs_a_step_requests_it)
{
    const auto id = create_ok();
    {
        store s{db};
        auto m = *s.get_migration(id);
        auto c = changes_of(m);
        c.status = migration_status::running;
        c.current_step = step_kind::prepare;
        ASSERT_TRUE(s.update_migration(id, m.version, c));
    }
    // The runner: a lock held on another open file description counts as another process.
    auto lock = runner_lock::try_take(runner_folder(db), id);
    ASSERT_TRUE(lock);
    EXPECT_EQ(run(migration_abort_command{.scope = scope(), .id = id, .yes = true}), 0) << err.str();
    EXPECT_EQ(out.str(), "Abort requested: the running step stops at its next sub-step, then the abort runs; follow "
                         "it with:\n" +
                             prefix() + " migration-follow " + id + "\n");
    store s{db};
    EXPECT_TRUE(s.get_migration(id)->abort_requested);

    // Asked again: already requested, nothing to do.
    EXPECT_EQ(run(migration_abort_command{.scope = scope(), .id = id, .yes = true, .json = true}), 0) << err.str();
    const auto o = boost::json::parse(out.str()).as_object();
    EXPECT_EQ(o.at("outcome").as_string(), "no-op");
    EXPECT_NE(o.at("reason").as_string(), "");
    EXPECT_EQ(o.at("status").as_string(), "running");
    EXPECT_EQ(o.at("current_step").as_string(), "prepare");
    EXPECT_TRUE(o.at("abort_requested").as_bool());
}

TEST_F(commands, migrations_lists_this_apps_migrations_newest_first)
{
    EXPECT_EQ(run(migrations_list_command{.scope = scope()}), 0);
    EXPECT_EQ(out.str(), "-----> No migration found for this app\n");

    const auto first = create_ok();
    ASSERT_EQ(run(migration_abort_command{.scope = scope(), .id = first}), 0);
    const auto second = create_ok();
    EXPECT_EQ(run(migrations_list_command{.scope = scope()}), 0);
    store s{db};
    const auto finished = config::format_rfc3339(
        std::chrono::floor<std::chrono::seconds>(*s.get_migration(first)->finished_at));
    const std::string pad(36 - 2, ' ');   // UUIDs are 36 characters wide, "ID" 2
    EXPECT_EQ(out.str(), "ID" + pad + "  DESTINATION     STARTED AT            FINISHED AT           STATUS\n" + second +
                             "  osc-secnum-fr1  2026-11-21T10:00:00Z  Ongoing               preflight-success\n" +
                             first + "  osc-secnum-fr1  2026-11-21T10:00:00Z  " + finished + "  aborted\n");

    auto other = scope();
    other.app = "other-app";
    EXPECT_EQ(run(migrations_list_command{.scope = other}), 0);
    EXPECT_EQ(out.str(), "-----> No migration found for this app\n");
}

TEST_F(commands, follow_prints_new_sub_steps_and_stops_when_the_migration_waits_for_the_user)
{
    const auto id = create_ok();
    auto lock = runner_lock::try_take(runner_folder(db), id);
    std::string step_id;
    {
        store s{db};
        auto m = *s.get_migration(id);
        auto c = changes_of(m);
        c.status = migration_status::running;
        c.current_step = step_kind::prepare;
        ASSERT_TRUE(s.update_migration(id, m.version, c));
        step_id = s.begin_step(id, step_kind::prepare).id;
        s.update_sub_step(s.add_sub_step(step_id, "Mark your app as migrating").id, step_status::done, "");
    }
    int polls = 0;
    // Another process advances the migration while follow waits.
    sleep = [&](std::chrono::milliseconds) {
        store s{db};
        ++polls;
        if (polls == 1) {
            s.update_sub_step(s.add_sub_step(step_id, "Create the new app").id, step_status::done, "");
            s.add_sub_step(step_id, "Import the last deployment");   // still running: not shown
            return;
        }
        auto m = *s.get_migration(id);
        auto c = changes_of(m);
        c.status = migration_status::prepared;
        c.current_step = step_kind::none;
        ASSERT_TRUE(s.update_migration(id, m.version, c));
        lock.reset();
    };
    ASSERT_EQ(run(migration_follow_command{.scope = scope(), .id = id}), 0) << err.str();
    EXPECT_EQ(polls, 2);
    const std::string text = out.str();
    EXPECT_NE(text.find("Status: running\n\n"
                        "✔ Check destination region Done!\n"
                        "✔ Check deployment Done!\n"
                        "✔ Check certificate validity Done!\n"
                        "✔ Check environment Done!\n"
                        "✔ Check addon versions Done!\n"
                        "✔ Check addons compatibility Done!\n"
                        "✔ Check app state Done!\n"
                        "✔ Mark your app as migrating Done!\n"
                        "✔ Create the new app Done!\n"
                        "\nStatus: prepared\n"
                        "The migration has been prepared. Waiting on the user to start the 'data' or 'finalize' "
                        "step.\n\n"
                        "Application on region 'osc-secnum-fr1' has been prepared, you can now:\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("Import the last deployment"), std::string::npos) << text;
}

TEST_F(commands, follow_of_a_step_whose_runner_died_says_how_to_resume)
{
    const auto id = create_ok();
    {
        store s{db};
        auto m = *s.get_migration(id);
        auto c = changes_of(m);
        c.status = migration_status::running;
        c.current_step = step_kind::prepare;
        ASSERT_TRUE(s.update_migration(id, m.version, c));
    }
    EXPECT_EQ(run(migration_follow_command{.scope = scope(), .id = id}), 1);
    EXPECT_NE(out.str().find("\nNo stork process is running the prepare step of this migration: it was interrupted. "
                             "Resume it with:\n" +
                             prefix() + " migration-run --prepare " + id + "\n"),
              std::string::npos)
        << out.str();
}

TEST_F(commands, follow_stops_at_once_on_a_migration_at_rest)
{
    const auto id = create_ok();
    EXPECT_EQ(run(migration_follow_command{.scope = scope(), .id = id}), 0);
    EXPECT_NE(out.str().find("\nStatus: preflight-success\nThe preflight checks were successful."), std::string::npos)
        << out.str();
    EXPECT_EQ(run(migration_follow_command{.scope = scope(), .id = id, .json = true}), 0);
    EXPECT_EQ(boost::json::parse(out.str()).as_object().at("status").as_string(), "preflight-success");
}

TEST_F(commands, json_prints_one_object_with_the_wire_fields)
{
    ASSERT_EQ(run(migration_create_command{.scope = scope(), .to = "osc-secnum-fr1", .json = true}), 0) << err.str();
    const auto v = boost::json::parse(out.str());
    const auto& o = v.as_object();
    for (const auto* key : {"id", "source", "source_region", "src_app_name", "destination", "dst_app_name", "status",
                            "current_step", "failed_step", "new_app_id", "started_at", "finished_at", "steps", "next"}) {
        EXPECT_TRUE(o.contains(key)) << key;
    }
    const std::string id{o.at("id").as_string()};
    EXPECT_EQ(o.at("status").as_string(), "preflight-success");
    EXPECT_EQ(o.at("src_app_name").as_string(), "my-app");
    EXPECT_EQ(o.at("destination").as_string(), "osc-secnum-fr1");
    EXPECT_EQ(o.at("started_at").as_string(), "2026-11-21T10:00:00Z");
    EXPECT_TRUE(o.at("finished_at").is_null());
    EXPECT_TRUE(o.at("failed_step").is_null());
    const auto& steps = o.at("steps").as_array();
    ASSERT_EQ(steps.size(), 7u);
    EXPECT_EQ(steps[0].as_object().at("name").as_string(), "Check destination region");
    EXPECT_EQ(steps[0].as_object().at("status").as_string(), "done");
    EXPECT_EQ(steps[0].as_object().at("logs").as_string(), "");
    EXPECT_TRUE(steps[0].as_object().contains("id"));
    const auto& next = o.at("next").as_array();
    ASSERT_EQ(next.size(), 2u);
    EXPECT_EQ(next[0].as_string(), prefix() + " migration-run --prepare " + id);

    // No prompt with --json: on a terminal it needs --yes.
    interactive = true;
    EXPECT_EQ(run(migration_run_command{.scope = scope(), .step = migration_step::prepare, .id = id, .json = true}), 2);
    EXPECT_EQ(err.str(), "stork: --json does not ask for confirmation: add --yes to run this step\n");
    ASSERT_EQ(run(migration_run_command{
                  .scope = scope(), .step = migration_step::prepare, .id = id, .yes = true, .json = true}),
              0);
    EXPECT_EQ(boost::json::parse(out.str()).as_object().at("status").as_string(), "prepared");

    EXPECT_EQ(run(migrations_list_command{.scope = scope(), .json = true}), 0);
    const auto list = boost::json::parse(out.str());
    ASSERT_EQ(list.as_array().size(), 1u);
    EXPECT_EQ(list.as_array()[0].as_object().at("id").as_string(), id);

    EXPECT_EQ(run(migration_run_command{
                  .scope = scope(), .step = migration_step::finalize, .id = id, .yes = true, .json = true}),
              0);
    const auto done = boost::json::parse(out.str()).as_object();
    EXPECT_EQ(done.at("status").as_string(), "done");
    EXPECT_TRUE(done.at("finished_at").is_string());
    EXPECT_TRUE(done.at("next").as_array().empty());
}

TEST_F(commands, prepare_of_a_migration_whose_create_stopped_runs_the_preflight_first)
{
    std::string id;
    {
        std::filesystem::create_directories(db.parent_path());
        store s{db};
        id = s.create_migration({.source_region = "osc-fr1", .source_app = "my-app",
                                 .destination_region = "osc-secnum-fr1", .destination_app = "my-app"})
                 .id;
    }
    ASSERT_EQ(run(migration_run_command{.scope = scope(), .step = migration_step::prepare, .id = id}), 0) << err.str();
    EXPECT_NE(out.str().find("The preflight checks have not run yet: they run first.\n✔ Check destination region Done!"),
              std::string::npos)
        << out.str();
    EXPECT_EQ(status_of(id), migration_status::prepared);
}

TEST_F(commands, platform_import_reports_what_it_loaded)
{
    const auto inventory = dir.write("inventory.yaml", R"(apps:
  - name: my-app
    region: osc-fr1
  - name: other-app
    region: osc-secnum-fr1
)");
    std::optional<std::size_t> imported;
    auto io_with = [&](inventory_importer importer) {
        return migration_io{.out = out,
                            .err = err,
                            .in = in,
                            .env = [this](std::string_view name) {
                                return name == "STORK_CONFIG" ? std::optional<std::string>{config_file.string()}
                                                              : std::nullopt;
                            },
                            .import_inventory = std::move(importer)};
    };
    const auto ok = io_with([&](const std::filesystem::path& state, const config::inventory& inv,
                                const config::control_config& cfg) {
        EXPECT_EQ(state, db);
        EXPECT_EQ(cfg.regions.size(), 2u);
        imported = inv.apps.size();
        return import_summary{.added = 1, .replaced = 1};
    });
    EXPECT_EQ(run_platform_command(platform_import_command{.config_file = std::nullopt, .file = inventory.string()}, ok),
              0)
        << err.str();
    EXPECT_EQ(imported, 2u);
    EXPECT_EQ(out.str(), "Imported 2 apps (1 added, 1 replaced) into " + db.string() + "\n");

    out.str("");
    const auto bad = dir.write("bad.yaml", "apps:\n  - name: my-app\n    region: osc-mars\n");
    EXPECT_EQ(run_platform_command(platform_import_command{.config_file = std::nullopt, .file = bad.string()}, ok), 2);
    EXPECT_NE(err.str().find("bad.yaml:3:"), std::string::npos) << err.str();
    EXPECT_EQ(out.str(), "");

    err.str("");
    const auto refusing = io_with([](const std::filesystem::path&, const config::inventory&,
                                     const config::control_config&) -> import_summary {
        throw platform_error{"my-app is being migrated"};
    });
    EXPECT_EQ(run_platform_command(platform_import_command{.config_file = std::nullopt, .file = inventory.string()},
                                   refusing),
              1);
    EXPECT_EQ(err.str(), "stork: my-app is being migrated\n");
}

TEST(control_config_path, flag_then_environment_then_the_default)
{
    const env_lookup none = [](std::string_view) { return std::optional<std::string>{}; };
    const env_lookup set = [](std::string_view n) {
        return n == "STORK_CONFIG" ? std::optional<std::string>{"/env.yaml"} : std::nullopt;
    };
    EXPECT_EQ(control_config_path(std::string{"/flag.yaml"}, set), "/flag.yaml");
    EXPECT_EQ(control_config_path(std::nullopt, set), "/env.yaml");
    EXPECT_EQ(control_config_path(std::nullopt, none), "/etc/stork/control.yaml");
}

} // namespace
} // namespace stork::control

namespace stork::control {
namespace {

// The real binary with the local driver: import an inventory, create, prepare, list. The
// app has no PostgreSQL addon, so no database server is needed.
TEST(commands_process, import_create_prepare_and_list_with_the_local_driver)
{
    const stork::test::temp_dir dir;
    // Preflight wants a front server in the source region; prepare does not talk to it.
    dir.write("admin.token", "0123456789abcdef0123456789abcdef\n");
    const auto config = dir.write("control.yaml", R"(state: state/control.db
regions:
  osc-fr1:
    domain: osc-fr1.scalingo.io
    driver: local
    front_servers:
      - {admin: "http://127.0.0.1:9", token_file: admin.token}
  osc-secnum-fr1:
    domain: osc-secnum-fr1.scalingo.io
    driver: local
    front_servers: []
dns:
  resolvers: [system]
)");
    const auto inventory = dir.write("inventory.yaml", R"(apps:
  - name: my-app
    region: osc-fr1
    deployment: {id: d-42, status: success, image: "registry.local/my-app:3f2a9c"}
    domains: [my-app.example.com]
    env: {RAILS_ENV: production}
    formation: [{name: web, amount: 2, size: M}]
    collaborators: [{email: a@example.com, status: accepted}]
)");
    const auto db = dir.path() / "state" / "control.db";
    const auto stork = [&](std::vector<std::string> args) {
        args.insert(args.begin(), stork::test::binary("stork").string());
        // STORK_CONFIG, not --config: the environment is how scripts set it.
        return stork::test::run(std::move(args), std::chrono::seconds{30}, {{"STORK_CONFIG", config.string()}});
    };
    const std::vector<std::string> app{"--region", "osc-fr1", "--app", "my-app"};
    const auto with_app = [&](std::vector<std::string> rest) {
        rest.insert(rest.begin(), app.begin(), app.end());
        return rest;
    };

    auto r = stork({"platform", "import", inventory.string()});
    ASSERT_EQ(r.status.code, 0) << r.err;
    EXPECT_EQ(r.out, "Imported 1 app (1 added, 0 replaced) into " + db.string() + "\n");

    r = stork(with_app({"migration-create", "--to", "osc-secnum-fr1"}));
    ASSERT_EQ(r.status.code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("✔ Check deployment Done!\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Your app can be migrated to the osc-secnum-fr1 zone."), std::string::npos) << r.out;
    const auto at = r.out.find("Migration ID: ");
    ASSERT_EQ(at, 0u) << r.out;
    const std::string id = r.out.substr(14, 36);
    EXPECT_NE(r.out.find("stork --region osc-fr1 --app my-app migration-run --prepare " + id + "\n"),
              std::string::npos)
        << r.out;

    // stdin is not a terminal: no question, even without --yes; with it, the same.
    r = stork(with_app({"migration-run", "--prepare", id, "--yes"}));
    ASSERT_EQ(r.status.code, 0) << r.out << r.err;
    EXPECT_EQ(r.out.find("Continue?"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("✔ Create the new app Done!\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Application on region 'osc-secnum-fr1' has been prepared, you can now:\n"), std::string::npos)
        << r.out;

    r = stork(with_app({"migrations"}));
    ASSERT_EQ(r.status.code, 0) << r.err;
    EXPECT_NE(r.out.find(id + "  osc-secnum-fr1  "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("  Ongoing      prepared\n"), std::string::npos) << r.out;

    r = stork(with_app({"migrations", "--json"}));
    ASSERT_EQ(r.status.code, 0) << r.err;
    const auto list = boost::json::parse(r.out).as_array();
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].as_object().at("status").as_string(), "prepared");
    EXPECT_NE(list[0].as_object().at("new_app_id").as_string(), "");

    // The source is frozen now: importing it again is refused (exit 1), nothing changed.
    r = stork({"platform", "import", inventory.string()});
    EXPECT_EQ(r.status.code, 1) << r.out << r.err;

    r = stork(with_app({"migration-abort", id, "--yes"}));
    ASSERT_EQ(r.status.code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("The migration '" + id + "' has been aborted\n"), std::string::npos) << r.out;
}

} // namespace
} // namespace stork::control
