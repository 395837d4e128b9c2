// The engine with a plan of its own: statuses, sub-step records, retry, abort while
// running, and a process killed at every ledger point then resumed.
#include "migrate/engine.hpp"

#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace stork::migrate {
namespace {

namespace fs = std::filesystem;

// A "platform" that lives in files, so that it survives the process: creating KEY
// writes objects/KEY (its id inside) and appends KEY to effects.log.
class file_platform {
public:
    explicit file_platform(fs::path dir) : dir_{std::move(dir)} { fs::create_directories(dir_ / "objects"); }

    std::optional<std::string> find(const std::string& key) const
    {
        std::ifstream in{dir_ / "objects" / key};
        std::string id;
        if (in && std::getline(in, id)) {
            return id;
        }
        return std::nullopt;
    }
    std::string create(const std::string& key)
    {
        const std::string id = "id-" + key;
        std::ofstream{dir_ / "objects" / key} << id << "\n";
        std::ofstream{dir_ / "effects.log", std::ios::app} << "create " << key << "\n";
        return id;
    }
    void remove(const std::string& key)
    {
        fs::remove(dir_ / "objects" / key);
        std::ofstream{dir_ / "effects.log", std::ios::app} << "remove " << key << "\n";
    }
    bool exists(const std::string& key) const { return fs::exists(dir_ / "objects" / key); }
    std::map<std::string, int> effects() const
    {
        std::map<std::string, int> n;
        std::ifstream in{dir_ / "effects.log"};
        std::string line;
        while (std::getline(in, line)) {
            ++n[line];
        }
        return n;
    }

private:
    fs::path dir_;
};

struct engine_fixture : ::testing::Test {
    stork::test::temp_dir dir;
    fs::path db = dir.path() / "control.db";
    store s{db};
    file_platform platform{dir.path() / "platform"};
    int fail_data_times = 0;   // the data step's second sub-step fails this many times
    std::vector<std::string> seen;

    sub_step_plan creates(std::string name, std::string key)
    {
        return {std::move(name), [this, key](step_context& ctx) {
                    ctx.create_once("object", key, [this, key] { return platform.find(key); },
                                    [this, key] { return platform.create(key); });
                }};
    }

    step_plan plan()
    {
        return [this](step_kind kind, const migration&) -> std::vector<sub_step_plan> {
            switch (kind) {
            case step_kind::preflight: return {{"Check destination region", [](step_context&) {}}};
            case step_kind::prepare:
                return {creates("Create new app", "app"), creates("Import domains", "domain"),
                        creates("Import formation", "formation")};
            case step_kind::data:
                return {creates("Provision addon", "addon"), {"Restore backup", [this](step_context&) {
                                                                  if (fail_data_times > 0) {
                                                                      --fail_data_times;
                                                                      throw std::runtime_error{"pg_restore: exit 1"};
                                                                  }
                                                              }}};
            case step_kind::finalize: return {{"Start the new app", [](step_context&) {}}};
            case step_kind::abort: {
                std::vector<sub_step_plan> undo;
                for (const char* key : {"addon", "formation", "domain", "app"}) {
                    undo.push_back({std::string{"Abort: remove "} + key, [this, key](step_context& ctx) {
                                        ctx.remove_recorded("object", key,
                                                            [this, key](const std::string&) { platform.remove(key); });
                                    }});
                }
                return undo;
            }
            case step_kind::none: break;
            }
            return {};
        };
    }

    engine make(step_context::ledger_hook hook = {})
    {
        return engine{s, plan(),
                      engine::options{.runner_folder = runner_folder(db),
                                      .ledger_hook = std::move(hook),
                                      .on_sub_step = [this](const step&, const sub_step& ss) {
                                          seen.push_back(ss.name + ":" + std::string{to_string(ss.status)});
                                      }}};
    }

    migration create()
    {
        return s.create_migration({.source_region = "osc-fr1", .source_app = "my-app",
                                   .destination_region = "osc-secnum-fr1", .destination_app = "my-app"});
    }
};

TEST_F(engine_fixture, the_whole_flow_records_every_step_and_sub_step)
{
    auto e = make();
    const auto m = create();
    EXPECT_EQ(e.run(m.id, step_kind::preflight).after.status, migration_status::preflight_success);
    EXPECT_EQ(e.run(m.id, step_kind::prepare).after.status, migration_status::prepared);
    EXPECT_EQ(e.run(m.id, step_kind::data).after.status, migration_status::data_migrated);
    const auto done = e.run(m.id, step_kind::finalize);
    EXPECT_EQ(done.after.status, migration_status::done);
    EXPECT_TRUE(done.after.finished_at);
    EXPECT_EQ(done.after.current_step, step_kind::none);

    const auto steps = s.list_steps(m.id);
    ASSERT_EQ(steps.size(), 4U);
    EXPECT_EQ(steps[1].kind, step_kind::prepare);
    const auto subs = s.list_sub_steps(steps[1].id);
    ASSERT_EQ(subs.size(), 3U);
    EXPECT_EQ(subs[0].name, "Create new app");
    EXPECT_EQ(subs[0].status, step_status::done);
    EXPECT_EQ(seen.front(), "Check destination region:running");
    EXPECT_EQ(seen[1], "Check destination region:done");
    EXPECT_EQ((platform.effects()), (std::map<std::string, int>{
                                        {"create addon", 1}, {"create app", 1}, {"create domain", 1}, {"create formation", 1}}));
}

TEST_F(engine_fixture, out_of_order_is_refused_and_repeats_are_no_ops)
{
    auto e = make();
    const auto m = create();
    const auto early = e.run(m.id, step_kind::data);
    EXPECT_EQ(early.outcome, run_outcome::refuse);
    EXPECT_NE(early.reason.find("preflight"), std::string::npos) << early.reason;
    EXPECT_TRUE(s.list_steps(m.id).empty()) << "a refused run records nothing";
    e.run(m.id, step_kind::preflight);
    e.run(m.id, step_kind::prepare);
    const auto again = e.run(m.id, step_kind::prepare);
    EXPECT_EQ(again.outcome, run_outcome::no_op);
    EXPECT_EQ(s.list_steps(m.id).size(), 2U);
}

TEST_F(engine_fixture, a_failed_step_is_retried_without_redoing_what_it_created)
{
    auto e = make();
    const auto m = create();
    e.run(m.id, step_kind::preflight);
    e.run(m.id, step_kind::prepare);
    fail_data_times = 1;
    const auto failed = e.run(m.id, step_kind::data);
    EXPECT_TRUE(failed.failed);
    EXPECT_EQ(failed.after.status, migration_status::error);
    EXPECT_EQ(failed.after.failed_step, step_kind::data);
    const auto steps = s.list_steps(m.id);
    const auto subs = s.list_sub_steps(steps.back().id);
    ASSERT_EQ(subs.size(), 2U);
    EXPECT_EQ(subs[1].status, step_status::error);
    EXPECT_EQ(subs[1].logs, "pg_restore: exit 1");

    EXPECT_EQ(e.run(m.id, step_kind::finalize).outcome, run_outcome::refuse) << "only the failed step, or abort";
    const auto retried = e.run(m.id, step_kind::data);
    EXPECT_FALSE(retried.failed);
    EXPECT_EQ(retried.after.status, migration_status::data_migrated);
    EXPECT_EQ(platform.effects()["create addon"], 1) << "the addon from the failed run was reused";
    EXPECT_NE(s.list_steps(m.id).back().id, steps.back().id) << "a retry is a new step with a fresh id";
}

TEST_F(engine_fixture, abort_undoes_in_reverse_what_was_recorded)
{
    auto e = make();
    const auto m = create();
    e.run(m.id, step_kind::preflight);
    e.run(m.id, step_kind::prepare);
    const auto aborted = e.run(m.id, step_kind::abort);
    EXPECT_EQ(aborted.after.status, migration_status::aborted);
    EXPECT_FALSE(platform.exists("app"));
    EXPECT_FALSE(platform.exists("domain"));
    EXPECT_EQ(platform.effects().count("remove addon"), 0U) << "nothing recorded, nothing removed";
    EXPECT_EQ(e.run(m.id, step_kind::abort).outcome, run_outcome::no_op);
    EXPECT_EQ(e.run(m.id, step_kind::prepare).outcome, run_outcome::refuse);
}

TEST_F(engine_fixture, an_abort_requested_while_running_stops_at_the_next_sub_step)
{
    const auto m = create();
    auto plain = make();
    plain.run(m.id, step_kind::preflight);
    // The second sub-step of prepare asks for an abort the way another `stork` process
    // would: through the engine, while this one holds the runner lock.
    store other{db};
    engine second{other, plan(), engine::options{.runner_folder = runner_folder(db)}};
    run_result requested;
    auto e = engine{s,
                    [&](step_kind kind, const migration& mig) {
                        auto p = plan()(kind, mig);
                        if (kind == step_kind::prepare) {
                            p.insert(p.begin() + 1, sub_step_plan{"Ask for an abort", [&](step_context&) {
                                                                      requested = second.run(m.id, step_kind::abort);
                                                                  }});
                        }
                        return p;
                    },
                    engine::options{.runner_folder = runner_folder(db)}};
    const auto r = e.run(m.id, step_kind::prepare);
    EXPECT_EQ(requested.outcome, run_outcome::request_abort);
    EXPECT_EQ(r.after.status, migration_status::aborted);
    EXPECT_FALSE(platform.exists("app")) << "created before the abort, removed by it";
    EXPECT_EQ(platform.effects().count("create domain"), 0U) << "stopped before the next sub-step";
}

// A child runs prepare and dies at ledger point N; the parent runs prepare again.
struct engine_crash_process : engine_fixture {};

TEST_F(engine_crash_process, killed_at_every_ledger_point_then_resumed_creates_nothing_twice)
{
    for (int n = 0;; ++n) {
        SCOPED_TRACE("killed at ledger point " + std::to_string(n));
        stork::test::temp_dir round;
        const fs::path round_db = round.path() / "control.db";
        file_platform objects{round.path() / "platform"};
        std::string id;
        {
            store st{round_db};
            id = st.create_migration({.source_region = "a", .source_app = "x", .destination_region = "b",
                                      .destination_app = "x"})
                     .id;
        }
        auto make_plan = [&objects](step_kind kind, const migration&) -> std::vector<sub_step_plan> {
            if (kind != step_kind::prepare) {
                return {};
            }
            std::vector<sub_step_plan> p;
            for (const char* key : {"app", "domain", "formation"}) {
                p.push_back({key, [&objects, key](step_context& ctx) {
                                 ctx.create_once("object", key, [&objects, key] { return objects.find(key); },
                                                 [&objects, key] { return objects.create(key); });
                             }});
            }
            return p;
        };
        {
            store st{round_db};
            engine e{st, make_plan, engine::options{.runner_folder = runner_folder(round_db)}};
            e.run(id, step_kind::preflight);
        }
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            int seen_points = 0;
            store st{round_db};
            engine e{st, make_plan,
                     engine::options{.runner_folder = runner_folder(round_db),
                                     .ledger_hook = [&](std::string_view) {
                                         if (seen_points++ == n) {
                                             ::_exit(3);   // killed here: no destructor, no commit after this point
                                         }
                                     }}};
            e.run(id, step_kind::prepare);
            ::_exit(0);
        }
        int status = 0;
        ASSERT_EQ(::waitpid(child, &status, 0), child);
        ASSERT_TRUE(WIFEXITED(status));
        const bool finished = WEXITSTATUS(status) == 0;

        store st{round_db};
        engine e{st, make_plan, engine::options{.runner_folder = runner_folder(round_db)}};
        const auto r = e.run(id, step_kind::prepare);
        if (finished) {
            EXPECT_EQ(r.outcome, run_outcome::no_op);
        } else {
            EXPECT_EQ(r.outcome, run_outcome::start) << r.reason << " (resumed after the crash)";
        }
        EXPECT_EQ(r.after.status, migration_status::prepared);
        for (const char* key : {"app", "domain", "formation"}) {
            EXPECT_EQ(objects.effects()[std::string{"create "} + key], 1) << key;
        }
        for (const auto& entry : st.ledger_list(id)) {
            EXPECT_EQ(entry.state, ledger_state::created) << entry.natural_key;
        }
        if (finished) {
            EXPECT_GE(n, 9) << "three creations, three ledger points each";
            break;
        }
    }
}

} // namespace
} // namespace stork::migrate
