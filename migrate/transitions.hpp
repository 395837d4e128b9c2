#pragma once

#include <optional>
#include <string>
#include <string_view>

// The migration state machine (design.md §5, issue 7), as data and one pure function, so
// that every transition is tested without a platform or a database.
//
//                 create
//                   │
//                   ▼            preflight fails
//               created ─────────────────────────▶ preflight-error (terminal)
//                   │ preflight
//                   ▼
//          preflight-success
//                   │ prepare                 ┌──────── any step fails ───────┐
//                   ▼                         │                               ▼
//               prepared ──── finalize ───┐   │                            error ── retry the
//                   │ data                │   │                               │    failed step
//                   ▼                     ▼   │                               │
//             data-migrated ── finalize ─▶ done (terminal)                    │
//                                                                             │
//   abort from created, preflight-success, prepared, data-migrated, error ◀───┘
//   (and from running: at the next sub-step boundary) ─▶ aborting ─▶ aborted (terminal)
//
// While a step runs the status is `running` and `current` names the step. Scalingo only
// let a failed migration be aborted; here the failed step may also be run again
// (every sub-step is idempotent), except a failed abort, after which only abort runs.
namespace stork::migrate {

enum class migration_status {
    created,
    preflight_success,
    preflight_error,
    running,
    prepared,
    data_migrated,
    aborting,
    aborted,
    error,
    done,
};

enum class step_kind { none, preflight, prepare, data, finalize, abort };

// The wire strings: "preflight-success", "data-migrated", ...; "prepare", "finalize".
std::string_view to_string(migration_status s) noexcept;
std::string_view to_string(step_kind s) noexcept;
std::optional<migration_status> migration_status_from_string(std::string_view text) noexcept;
std::optional<step_kind> step_kind_from_string(std::string_view text) noexcept;

// preflight-error, aborted, done: nothing runs any more (abort of the first two is a
// no-op, of done a refusal).
bool is_terminal(migration_status s) noexcept;

// What the run of a step looks at.
struct migration_state {
    migration_status at = migration_status::created;
    step_kind current = step_kind::none;       // the step running (status running or aborting)
    step_kind failed = step_kind::none;        // status error: the step that failed
    bool abort_requested = false;    // an abort arrived while a step was running
    // Status running or aborting: is the process that runs it still there? A step runs in
    // the `stork` process that started it; one killed mid-step leaves the status behind,
    // and running the same step again resumes it (every sub-step is idempotent).
    bool runner_alive = true;
};

enum class run_outcome {
    start,          // run it now (or resume it, when its runner died)
    no_op,          // already done or already running: nothing to do, not an error
    request_abort,  // a step is running: it stops at its next sub-step boundary, then aborts
    refuse,         // out of order or after the end: 409, with the reason
};

struct run_decision {
    run_outcome outcome = run_outcome::refuse;
    // Why, in plain words, for no_op and refuse, naming the command to run instead when
    // there is one ("run --prepare first"). Empty for start.
    std::string reason;
};

// Whether `requested` may run now.
run_decision decide_run(const migration_state& m, step_kind requested);

// Where a step leads: preflight → preflight-success / preflight-error; prepare → prepared;
// data → data-migrated; finalize → done; abort → aborted; any other failure → error.
migration_status after_success(step_kind s) noexcept;
migration_status after_failure(step_kind s) noexcept;

} // namespace stork::migrate
