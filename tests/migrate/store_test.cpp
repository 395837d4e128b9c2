// The migration store: every operation, compare-and-swap, the one-live-migration
// index, set-once fields, the ledger's order, and a reopen that keeps everything.
#include "migrate/store.hpp"

#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sqlite3.h>

namespace stork::migrate {
namespace {

using namespace std::chrono_literals;

// An injected clock: every read advances it by one second.
struct fake_clock {
    std::shared_ptr<time_point> now = std::make_shared<time_point>(std::chrono::sys_days{std::chrono::year{2026} / 3 / 27});
    time_point operator()() const
    {
        *now += 1s;
        return *now;
    }
};

const new_migration my_app{"osc-fr1", "my-app", "osc-secnum-fr1", "my-app"};

class store_test : public ::testing::Test {
protected:
    test::temp_dir dir_;
    std::filesystem::path path_ = dir_.path() / "control.db";
    fake_clock clock_;
    store store_{path_, clock_};
};

// --- enums ---------------------------------------------------------------------------

TEST(migrate_enums, round_trip_through_the_wire_strings)
{
    const std::vector<std::pair<migration_status, std::string_view>> statuses{
        {migration_status::created, "created"},           {migration_status::preflight_success, "preflight-success"},
        {migration_status::preflight_error, "preflight-error"}, {migration_status::running, "running"},
        {migration_status::prepared, "prepared"},         {migration_status::data_migrated, "data-migrated"},
        {migration_status::aborting, "aborting"},         {migration_status::aborted, "aborted"},
        {migration_status::error, "error"},               {migration_status::done, "done"},
    };
    for (const auto& [status, text] : statuses) {
        EXPECT_EQ(to_string(status), text);
        EXPECT_EQ(migration_status_from_string(text), status) << text;
    }
    EXPECT_EQ(migration_status_from_string("preflight_success"), std::nullopt);
    EXPECT_EQ(migration_status_from_string(""), std::nullopt);

    for (auto kind : {step_kind::none, step_kind::preflight, step_kind::prepare, step_kind::data, step_kind::finalize,
                      step_kind::abort}) {
        EXPECT_EQ(step_kind_from_string(to_string(kind)), kind);
    }
    EXPECT_EQ(to_string(step_kind::finalize), "finalize");
    for (auto s : {step_status::running, step_status::done, step_status::error}) {
        EXPECT_EQ(step_status_from_string(to_string(s)), s);
    }
    for (auto s : {ledger_state::creating, ledger_state::created, ledger_state::deleted}) {
        EXPECT_EQ(ledger_state_from_string(to_string(s)), s);
    }
    EXPECT_EQ(step_kind_from_string("Prepare"), std::nullopt);
}

TEST(migrate_enums, terminal_statuses)
{
    for (const auto& [status, terminal] : std::vector<std::pair<migration_status, bool>>{
             {migration_status::created, false}, {migration_status::preflight_success, false},
             {migration_status::preflight_error, true}, {migration_status::running, false},
             {migration_status::prepared, false}, {migration_status::data_migrated, false},
             {migration_status::aborting, false}, {migration_status::aborted, true},
             {migration_status::error, false}, {migration_status::done, true}}) {
        EXPECT_EQ(is_terminal(status), terminal) << to_string(status);
    }
}

// --- schema ----------------------------------------------------------------------------

TEST_F(store_test, schema_is_at_version_one_in_wal_mode)
{
    auto& db = store_.database_for_test();
    EXPECT_EQ(db.query_text("SELECT version FROM schema_version"), "1");
    EXPECT_EQ(db.query_text("SELECT count(*) FROM schema_version"), "1");
    EXPECT_EQ(db.query_text("PRAGMA journal_mode"), "wal");
    EXPECT_EQ(db.query_text("PRAGMA synchronous"), "2");
    EXPECT_EQ(db.query_text("PRAGMA foreign_keys"), "1");
    // Opening again does not re-run the upgrade.
    store again{path_};
    EXPECT_EQ(again.database_for_test().query_text("SELECT count(*) FROM schema_version"), "1");
}

TEST_F(store_test, refuses_a_file_from_a_newer_schema)
{
    store_.database_for_test().exec("UPDATE schema_version SET version = 2");
    EXPECT_THROW(store{path_}, std::runtime_error);
}

// --- migrations ------------------------------------------------------------------------

TEST_F(store_test, create_and_get)
{
    const migration m = store_.create_migration(my_app);
    EXPECT_EQ(m.id.size(), 36U);
    EXPECT_EQ(m.source_region, "osc-fr1");
    EXPECT_EQ(m.source_app, "my-app");
    EXPECT_EQ(m.destination_region, "osc-secnum-fr1");
    EXPECT_EQ(m.destination_app, "my-app");
    EXPECT_EQ(m.status, migration_status::created);
    EXPECT_EQ(m.current_step, step_kind::preflight);
    EXPECT_EQ(m.failed_step, std::nullopt);
    EXPECT_FALSE(m.abort_requested);
    EXPECT_EQ(m.started_at, *clock_.now);
    EXPECT_EQ(m.finished_at, std::nullopt);
    EXPECT_EQ(m.version, 1);
    EXPECT_EQ(m.new_app_id, std::nullopt);
    EXPECT_EQ(m.source_formation_snapshot, std::nullopt);
    EXPECT_EQ(m.source_stopped_by_migration, std::nullopt);
    EXPECT_EQ(m.redirect_id, std::nullopt);

    const auto read = store_.get_migration(m.id);
    ASSERT_TRUE(read);
    EXPECT_EQ(read->id, m.id);
    EXPECT_EQ(read->started_at, m.started_at);
    EXPECT_EQ(store_.get_migration("00000000-0000-4000-8000-000000000000"), std::nullopt);
    EXPECT_EQ(store_.active_migration("osc-fr1", "my-app")->id, m.id);
    EXPECT_EQ(store_.active_migration("osc-fr1", "other-app"), std::nullopt);
}

TEST_F(store_test, create_needs_another_region_or_name)
{
    EXPECT_THROW(store_.create_migration({"osc-fr1", "a", "osc-fr1", "a"}), std::invalid_argument);
    const auto renamed = store_.create_migration({"osc-fr1", "a", "osc-fr1", "b"});
    EXPECT_EQ(renamed.destination_app, "b");
}

TEST_F(store_test, list_in_creation_order)
{
    const auto a = store_.create_migration({"osc-fr1", "a", "osc-secnum-fr1", "a"});
    const auto b = store_.create_migration({"osc-fr1", "b", "osc-secnum-fr1", "b"});
    const auto all = store_.list_migrations();
    ASSERT_EQ(all.size(), 2U);
    EXPECT_EQ(all[0].id, a.id);
    EXPECT_EQ(all[1].id, b.id);
}

TEST_F(store_test, update_with_the_current_version)
{
    const migration m = store_.create_migration(my_app);
    auto changes = changes_of(m);
    changes.status = migration_status::error;
    changes.current_step = step_kind::none;
    changes.failed_step = step_kind::prepare;
    changes.abort_requested = true;
    const time_point finished = *clock_.now + 1h;
    changes.finished_at = finished;
    const auto updated = store_.update_migration(m.id, m.version, changes);
    ASSERT_TRUE(updated);
    EXPECT_EQ(updated->version, 2);
    EXPECT_EQ(updated->status, migration_status::error);
    EXPECT_EQ(updated->current_step, step_kind::none);
    EXPECT_EQ(updated->failed_step, step_kind::prepare);
    EXPECT_TRUE(updated->abort_requested);
    EXPECT_EQ(updated->finished_at, finished);
    EXPECT_EQ(store_.get_migration(m.id)->version, 2);

    changes.failed_step.reset();
    changes.finished_at.reset();
    const auto cleared = store_.update_migration(m.id, 2, changes);
    ASSERT_TRUE(cleared);
    EXPECT_EQ(cleared->failed_step, std::nullopt);
    EXPECT_EQ(cleared->finished_at, std::nullopt);
}

TEST_F(store_test, update_with_a_stale_version_changes_nothing)
{
    const migration m = store_.create_migration(my_app);
    store other{path_};   // a second process, say
    auto theirs = changes_of(m);
    theirs.status = migration_status::running;
    ASSERT_TRUE(other.update_migration(m.id, 1, theirs));

    auto ours = changes_of(m);
    ours.status = migration_status::aborting;
    EXPECT_EQ(store_.update_migration(m.id, 1, ours), std::nullopt);
    const auto now = store_.get_migration(m.id);
    EXPECT_EQ(now->status, migration_status::running);
    EXPECT_EQ(now->version, 2);
    // Re-read and retry: it applies.
    EXPECT_EQ(store_.update_migration(m.id, now->version, ours)->status, migration_status::aborting);
}

TEST_F(store_test, update_of_an_unknown_migration_throws)
{
    EXPECT_THROW(store_.update_migration("nope", 1, migration_changes{}), not_found);
}

TEST_F(store_test, one_live_migration_per_source_app)
{
    const migration first = store_.create_migration(my_app);
    try {
        store_.create_migration({"osc-fr1", "my-app", "osc-fr1", "my-app-2"});
        FAIL() << "a second live migration of the same app";
    } catch (const migration_exists& e) {
        EXPECT_EQ(e.existing_id(), first.id);
        EXPECT_NE(std::string{e.what()}.find(first.id), std::string::npos);
    }
    // The same app name in another region is another app.
    EXPECT_NO_THROW(store_.create_migration({"osc-secnum-fr1", "my-app", "osc-fr1", "my-app"}));

    // `error` still holds the app (it needs a retry or an abort) ...
    auto changes = changes_of(first);
    changes.status = migration_status::error;
    changes.failed_step = step_kind::prepare;
    auto held = store_.update_migration(first.id, first.version, changes);
    ASSERT_TRUE(held);
    EXPECT_THROW(store_.create_migration(my_app), migration_exists);
    // ... a terminal status releases it.
    changes.status = migration_status::aborted;
    ASSERT_TRUE(store_.update_migration(first.id, held->version, changes));
    const migration second = store_.create_migration(my_app);
    EXPECT_NE(second.id, first.id);
    EXPECT_EQ(store_.active_migration("osc-fr1", "my-app")->id, second.id);
}

TEST_F(store_test, the_database_itself_holds_one_live_migration_per_app)
{
    const migration first = store_.create_migration(my_app);
    auto& db = store_.database_for_test();
    statement insert{db,
                     "INSERT INTO migrations (id, source_region, source_app, destination_region, destination_app, "
                     "status, current_step, started_at, version) VALUES (?, 'osc-fr1', 'my-app', 'x', 'y', ?, "
                     "'none', 0, 1)"};
    insert.bind(1, "bypass-1").bind(2, "prepared");
    try {
        insert.run();
        FAIL() << "the partial unique index let a second live migration in";
    } catch (const sqlite_error& e) {
        EXPECT_EQ(e.code(), SQLITE_CONSTRAINT_UNIQUE);
    }
    // Terminal rows are outside the index: any number of them.
    for (const char* id : {"bypass-2", "bypass-3"}) {
        insert.reset();
        insert.bind(1, id).bind(2, "done");
        EXPECT_NO_THROW(insert.run());
    }
    EXPECT_EQ(store_.list_migrations().size(), 3U);
    EXPECT_EQ(store_.active_migration("osc-fr1", "my-app")->id, first.id);
}

// --- set-once fields ---------------------------------------------------------------------

TEST_F(store_test, set_once_new_app_id)
{
    const migration m = store_.create_migration(my_app);
    EXPECT_EQ(store_.set_once_new_app_id(m.id, "app-1"), "app-1");
    EXPECT_EQ(store_.get_migration(m.id)->version, 2);
    EXPECT_EQ(store_.set_once_new_app_id(m.id, "app-1"), "app-1");
    EXPECT_EQ(store_.set_once_new_app_id(m.id, "app-2"), "app-1");   // refused: the first stays
    EXPECT_EQ(store_.get_migration(m.id)->new_app_id, "app-1");
    EXPECT_EQ(store_.get_migration(m.id)->version, 2);               // refusals change nothing
    EXPECT_THROW(store_.set_once_new_app_id("nope", "x"), not_found);
}

TEST_F(store_test, set_once_formation_snapshot_is_never_overwritten_with_zeros)
{
    const migration m = store_.create_migration(my_app);
    const std::string before = R"([{"name":"web","amount":2,"size":"M"}])";
    const std::string rerun = R"([{"name":"web","amount":0,"size":"M"}])";
    EXPECT_EQ(store_.set_once_source_formation_snapshot(m.id, before), before);
    EXPECT_EQ(store_.set_once_source_formation_snapshot(m.id, rerun), before);
    EXPECT_EQ(store_.get_migration(m.id)->source_formation_snapshot, before);
}

TEST_F(store_test, set_once_source_stopped_and_redirect)
{
    const migration m = store_.create_migration(my_app);
    EXPECT_TRUE(store_.set_once_source_stopped_by_migration(m.id, true));
    EXPECT_TRUE(store_.set_once_source_stopped_by_migration(m.id, false));
    EXPECT_EQ(store_.get_migration(m.id)->source_stopped_by_migration, true);

    const time_point expires = *clock_.now + std::chrono::days{30};
    const store::redirect_info first{"rule-1", expires};
    EXPECT_EQ(store_.set_once_redirect(m.id, first), first);
    EXPECT_EQ(store_.set_once_redirect(m.id, {"rule-2", expires + 1h}), first);
    const auto read = store_.get_migration(m.id);
    EXPECT_EQ(read->redirect_id, "rule-1");
    EXPECT_EQ(read->redirect_expires_at, expires);
    EXPECT_EQ(read->version, 3);
}

TEST_F(store_test, update_migration_does_not_touch_set_once_fields)
{
    const migration m = store_.create_migration(my_app);
    store_.set_once_new_app_id(m.id, "app-1");
    const auto current = store_.get_migration(m.id);
    auto changes = changes_of(*current);
    changes.status = migration_status::prepared;
    const auto updated = store_.update_migration(m.id, current->version, changes);
    EXPECT_EQ(updated->new_app_id, "app-1");
}

// --- steps and sub-steps -------------------------------------------------------------------

TEST_F(store_test, steps_get_a_fresh_id_per_execution)
{
    const migration m = store_.create_migration(my_app);
    const step first = store_.begin_step(m.id, step_kind::prepare);
    EXPECT_EQ(first.migration_id, m.id);
    EXPECT_EQ(first.kind, step_kind::prepare);
    EXPECT_EQ(first.status, step_status::running);
    EXPECT_EQ(first.finished_at, std::nullopt);
    const step finished = store_.finish_step(first.id, step_status::error);
    EXPECT_EQ(finished.status, step_status::error);
    EXPECT_EQ(finished.finished_at, *clock_.now);

    const step retry = store_.begin_step(m.id, step_kind::prepare);   // a retry
    EXPECT_NE(retry.id, first.id);
    store_.finish_step(retry.id, step_status::done);
    const auto steps = store_.list_steps(m.id);
    ASSERT_EQ(steps.size(), 2U);
    EXPECT_EQ(steps[0].id, first.id);
    EXPECT_EQ(steps[0].status, step_status::error);
    EXPECT_EQ(steps[1].id, retry.id);
    EXPECT_EQ(steps[1].status, step_status::done);

    EXPECT_THROW(store_.begin_step("nope", step_kind::data), not_found);
    EXPECT_THROW(store_.begin_step(m.id, step_kind::none), std::invalid_argument);
    EXPECT_THROW(store_.finish_step("nope", step_status::done), not_found);
    EXPECT_THROW(store_.finish_step(retry.id, step_status::running), std::invalid_argument);
}

TEST_F(store_test, sub_steps_keep_their_order_and_logs)
{
    const migration m = store_.create_migration(my_app);
    const step s = store_.begin_step(m.id, step_kind::preflight);
    const sub_step a = store_.add_sub_step(s.id, "Check destination region");
    const sub_step b = store_.add_sub_step(s.id, "Check deployment");
    EXPECT_EQ(a.step_id, s.id);
    EXPECT_EQ(a.status, step_status::running);
    EXPECT_EQ(a.logs, "");
    EXPECT_NE(a.id, b.id);
    EXPECT_EQ(store_.update_sub_step(a.id, step_status::done, "").status, step_status::done);
    const sub_step failed = store_.update_sub_step(b.id, step_status::error, "deployment d-42 is not success");
    EXPECT_EQ(failed.logs, "deployment d-42 is not success");

    const auto all = store_.list_sub_steps(s.id);
    ASSERT_EQ(all.size(), 2U);
    EXPECT_EQ(all[0].name, "Check destination region");
    EXPECT_EQ(all[0].status, step_status::done);
    EXPECT_EQ(all[1].name, "Check deployment");
    EXPECT_EQ(all[1].status, step_status::error);
    EXPECT_TRUE(store_.list_sub_steps("nope").empty());
    EXPECT_THROW(store_.add_sub_step("nope", "x"), not_found);
    EXPECT_THROW(store_.update_sub_step("nope", step_status::done, ""), not_found);
}

// --- the ledger ------------------------------------------------------------------------------

TEST_F(store_test, ledger_begin_then_created)
{
    const migration m = store_.create_migration(my_app);
    const ledger_entry begun = store_.ledger_begin(m.id, "domain", "www.example.com");
    EXPECT_EQ(begun.migration_id, m.id);
    EXPECT_EQ(begun.kind, "domain");
    EXPECT_EQ(begun.natural_key, "www.example.com");
    EXPECT_EQ(begun.state, ledger_state::creating);
    EXPECT_EQ(begun.target_id, std::nullopt);
    EXPECT_EQ(begun.updated_at, *clock_.now);

    const ledger_entry created = store_.ledger_created(m.id, "domain", "www.example.com", "dom-1");
    EXPECT_EQ(created.state, ledger_state::created);
    EXPECT_EQ(created.target_id, "dom-1");
    EXPECT_EQ(store_.ledger_get(m.id, "domain", "www.example.com")->target_id, "dom-1");
    EXPECT_EQ(store_.ledger_get(m.id, "domain", "other.example.com"), std::nullopt);
}

TEST_F(store_test, ledger_begin_returns_the_existing_row)
{
    const migration m = store_.create_migration(my_app);
    store_.ledger_begin(m.id, "app", "my-app");
    // A resumed run begins again: same row, still creating (look it up by natural key).
    const ledger_entry again = store_.ledger_begin(m.id, "app", "my-app");
    EXPECT_EQ(again.state, ledger_state::creating);
    store_.ledger_created(m.id, "app", "my-app", "app-1");
    const ledger_entry after = store_.ledger_begin(m.id, "app", "my-app");
    EXPECT_EQ(after.state, ledger_state::created);
    EXPECT_EQ(after.target_id, "app-1");
    EXPECT_EQ(store_.ledger_list(m.id).size(), 1U);
}

TEST_F(store_test, ledger_created_is_idempotent_but_set_once)
{
    const migration m = store_.create_migration(my_app);
    EXPECT_THROW(store_.ledger_created(m.id, "addon", "postgresql", "ad-1"), ledger_error);   // not begun
    store_.ledger_begin(m.id, "addon", "postgresql");
    store_.ledger_created(m.id, "addon", "postgresql", "ad-1");
    EXPECT_EQ(store_.ledger_created(m.id, "addon", "postgresql", "ad-1").target_id, "ad-1");
    EXPECT_THROW(store_.ledger_created(m.id, "addon", "postgresql", "ad-2"), ledger_error);
    EXPECT_EQ(store_.ledger_get(m.id, "addon", "postgresql")->target_id, "ad-1");
}

TEST_F(store_test, ledger_deleted_keeps_history_and_begin_reopens_it)
{
    const migration m = store_.create_migration(my_app);
    EXPECT_EQ(store_.ledger_deleted(m.id, "addon", "postgresql"), std::nullopt);   // never begun
    store_.ledger_begin(m.id, "addon", "postgresql");
    store_.ledger_created(m.id, "addon", "postgresql", "ad-1");
    const auto deleted = store_.ledger_deleted(m.id, "addon", "postgresql");
    ASSERT_TRUE(deleted);
    EXPECT_EQ(deleted->state, ledger_state::deleted);
    EXPECT_EQ(deleted->target_id, "ad-1");
    EXPECT_EQ(store_.ledger_deleted(m.id, "addon", "postgresql")->state, ledger_state::deleted);
    EXPECT_THROW(store_.ledger_created(m.id, "addon", "postgresql", "ad-2"), ledger_error);

    // Provisioning failed, the addon was deleted, provision again.
    const ledger_entry reopened = store_.ledger_begin(m.id, "addon", "postgresql");
    EXPECT_EQ(reopened.state, ledger_state::creating);
    EXPECT_EQ(reopened.target_id, std::nullopt);
    EXPECT_EQ(store_.ledger_created(m.id, "addon", "postgresql", "ad-2").target_id, "ad-2");
}

TEST_F(store_test, ledger_list_is_per_migration_in_begin_order)
{
    const migration m = store_.create_migration(my_app);
    const migration other = store_.create_migration({"osc-fr1", "b", "osc-secnum-fr1", "b"});
    store_.ledger_begin(m.id, "app", "my-app");
    store_.ledger_begin(other.id, "app", "b");
    store_.ledger_begin(m.id, "domain", "www.example.com");
    store_.ledger_begin(m.id, "domain", "api.example.com");
    const auto entries = store_.ledger_list(m.id);
    ASSERT_EQ(entries.size(), 3U);
    EXPECT_EQ(entries[0].natural_key, "my-app");
    EXPECT_EQ(entries[1].natural_key, "www.example.com");
    EXPECT_EQ(entries[2].natural_key, "api.example.com");
    EXPECT_THROW(store_.ledger_begin("nope", "app", "x"), not_found);
}

// --- durability ----------------------------------------------------------------------------

TEST_F(store_test, reopen_keeps_everything)
{
    std::string id;
    std::string step_id;
    {
        store first{dir_.path() / "reopen.db", clock_};
        const migration m = first.create_migration(my_app);
        id = m.id;
        auto changes = changes_of(m);
        changes.status = migration_status::running;
        changes.current_step = step_kind::data;
        first.update_migration(m.id, m.version, changes);
        first.set_once_new_app_id(id, "app-1");
        first.set_once_source_formation_snapshot(id, "[]");
        first.set_once_source_stopped_by_migration(id, true);
        first.set_once_redirect(id, {"rule-1", *clock_.now});
        const step s = first.begin_step(id, step_kind::data);
        step_id = s.id;
        const sub_step sub = first.add_sub_step(s.id, "Stop old app");
        first.update_sub_step(sub.id, step_status::done, "stopped");
        first.ledger_begin(id, "addon", "postgresql");
        first.ledger_created(id, "addon", "postgresql", "ad-1");
        first.ledger_begin(id, "backup", "postgresql");
    }
    store second{dir_.path() / "reopen.db", clock_};
    const auto m = second.get_migration(id);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->status, migration_status::running);
    EXPECT_EQ(m->current_step, step_kind::data);
    EXPECT_EQ(m->version, 6);
    EXPECT_EQ(m->new_app_id, "app-1");
    EXPECT_EQ(m->source_formation_snapshot, "[]");
    EXPECT_EQ(m->source_stopped_by_migration, true);
    EXPECT_EQ(m->redirect_id, "rule-1");
    const auto steps = second.list_steps(id);
    ASSERT_EQ(steps.size(), 1U);
    EXPECT_EQ(steps[0].id, step_id);
    const auto subs = second.list_sub_steps(step_id);
    ASSERT_EQ(subs.size(), 1U);
    EXPECT_EQ(subs[0].logs, "stopped");
    const auto ledger = second.ledger_list(id);
    ASSERT_EQ(ledger.size(), 2U);
    EXPECT_EQ(ledger[0].state, ledger_state::created);
    EXPECT_EQ(ledger[0].target_id, "ad-1");
    EXPECT_EQ(ledger[1].state, ledger_state::creating);
    EXPECT_EQ(second.database_for_test().query_text("PRAGMA integrity_check"), "ok");
}

} // namespace
} // namespace stork::migrate
