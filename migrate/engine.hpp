#pragma once

#include "migrate/runner_lock.hpp"
#include "migrate/store.hpp"
#include "migrate/transitions.hpp"

#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

// Runs a migration's steps (docs/migration-design.md). A step is a list of named
// sub-steps; the engine records each one in the store (running, then done or error with
// the failure as its logs), moves the migration through the state machine
// (transitions.hpp) with one compare-and-swap per change, and between two sub-steps
// looks whether an abort was requested (then it stops and runs the abort step itself).
//
// What a step does is not the engine's business: a plan gives the sub-steps of a step
// for a migration (the platform steps of issue 7 are one such plan; the tests have
// their own). Sub-steps make their side effects through step_context::create_once /
// remove_recorded, which bracket them with the write-ahead ledger, so a process killed
// anywhere resumes by running the same step again and creates nothing twice.
namespace stork::migrate {

class step_context;

struct sub_step_plan {
    std::string name{};                                 // as the CLI shows it: "Create new app"
    std::function<void(step_context&)> run{};           // throws on failure; what() becomes the logs
    // A failure does not stop the step: the next sub-steps run, and the step fails at the
    // end. For checks (preflight reports every problem at once, not one per run).
    bool keep_going = false;
};

using step_plan = std::function<std::vector<sub_step_plan>(step_kind, const migration&)>;

// What a sub-step may do besides its own work.
class step_context {
public:
    // A test hook called at every ledger point ("begin app my-app", "effect app my-app",
    // "created app my-app", "deleted ..."): the crash tests end the process there.
    using ledger_hook = std::function<void(std::string_view point)>;

    step_context(store& s, const migration& m, ledger_hook hook) : store_{s}, migration_{m}, hook_{std::move(hook)} {}

    const migration& current() const noexcept { return migration_; }
    store& state() noexcept { return store_; }

    // create_once and remove_recorded may be called from several threads at once (the
    // data step works on every addon concurrently): the store calls are serialised here.
    // Other uses of state() stay on the sub-step's own thread.

    // The ledger protocol around one creation (migration-flow.md §5.4, §5.7):
    //   ledger "creating" (committed) → find() or create() → ledger "created" + id.
    // Already created: returns the recorded id without calling either. A "creating" row
    // left by a crash: find() first (adopt what the interrupted run made), create()
    // only when it finds nothing. Returns the target's id.
    std::string create_once(std::string_view kind, std::string_view natural_key,
                            const std::function<std::optional<std::string>()>& find,
                            const std::function<std::string()>& create);

    // The undo of a recorded creation: remove(id) (which must treat "already gone" as
    // done), then the ledger row becomes "deleted". The id is empty for a `creating` row
    // (a crash around the creation): remove() then looks the thing up by its natural key.
    // Nothing recorded, or already deleted: nothing is called. Returns whether remove()
    // was called.
    bool remove_recorded(std::string_view kind, std::string_view natural_key,
                         const std::function<void(const std::string& target_id)>& remove);

private:
    void point(std::string_view what, std::string_view kind, std::string_view key);

    store& store_;
    const migration& migration_;
    ledger_hook hook_;
    std::mutex store_mutex_;
};

// The migration changed under the engine (another stork process moved it between this
// one's read and its write): nothing was lost, the command can be run again.
class conflict_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct run_result {
    run_outcome outcome = run_outcome::refuse;   // what decide_run said
    std::string reason;                          // refuse / no_op: why
    migration after;                             // the migration as the run left it
    bool failed = false;                         // started, and a sub-step failed
};

class engine {
public:
    struct options {
        std::filesystem::path runner_folder;         // runner locks (runner_folder(state db))
        step_context::ledger_hook ledger_hook{};     // tests only
        // Called when a sub-step starts and when it ends (the CLI's ✔ / ✘ lines).
        std::function<void(const step&, const sub_step&)> on_sub_step{};
    };

    engine(store& s, step_plan plan, options o);

    // Runs `requested` on the migration if the state machine allows it now; a running
    // step (in another live process) only gets its abort requested. Throws not_found for
    // an unknown id.
    run_result run(std::string_view migration_id, step_kind requested);

private:
    run_result execute(migration m, step_kind kind, const runner_lock& held);
    migration change(const migration& m, const std::function<void(migration_changes&)>& edit);

    store& store_;
    step_plan plan_;
    options options_;
};

} // namespace stork::migrate
