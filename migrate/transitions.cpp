#include "migrate/transitions.hpp"

#include <array>
#include <utility>

namespace stork::migrate {
namespace {

constexpr std::array status_names{
    std::pair{migration_status::created, std::string_view{"created"}},
    std::pair{migration_status::preflight_success, std::string_view{"preflight-success"}},
    std::pair{migration_status::preflight_error, std::string_view{"preflight-error"}},
    std::pair{migration_status::running, std::string_view{"running"}},
    std::pair{migration_status::prepared, std::string_view{"prepared"}},
    std::pair{migration_status::data_migrated, std::string_view{"data-migrated"}},
    std::pair{migration_status::aborting, std::string_view{"aborting"}},
    std::pair{migration_status::aborted, std::string_view{"aborted"}},
    std::pair{migration_status::error, std::string_view{"error"}},
    std::pair{migration_status::done, std::string_view{"done"}},
};

constexpr std::array step_names{
    std::pair{step_kind::none, std::string_view{"none"}},
    std::pair{step_kind::preflight, std::string_view{"preflight"}},
    std::pair{step_kind::prepare, std::string_view{"prepare"}},
    std::pair{step_kind::data, std::string_view{"data"}},
    std::pair{step_kind::finalize, std::string_view{"finalize"}},
    std::pair{step_kind::abort, std::string_view{"abort"}},
};

run_decision start() { return {run_outcome::start, {}}; }
run_decision no_op(std::string why) { return {run_outcome::no_op, std::move(why)}; }
run_decision refuse(std::string why) { return {run_outcome::refuse, std::move(why)}; }

std::string flag(step_kind s) { return "--" + std::string{to_string(s)}; }

// The step a migration at rest waits for, for "run X first".
std::string next_hint(migration_status at)
{
    switch (at) {
    case migration_status::created: return "its preflight has not run yet";
    case migration_status::preflight_success: return "run " + flag(step_kind::prepare) + " first";
    case migration_status::prepared: return "run " + flag(step_kind::data) + " or " + flag(step_kind::finalize);
    case migration_status::data_migrated: return "run " + flag(step_kind::finalize);
    default: return {};
    }
}

// Has the migration already gone past `s` (so running it again changes nothing)?
bool already_past(migration_status at, step_kind s)
{
    switch (s) {
    case step_kind::preflight:
        return at == migration_status::preflight_success || at == migration_status::prepared || at == migration_status::data_migrated;
    case step_kind::prepare: return at == migration_status::prepared || at == migration_status::data_migrated;
    case step_kind::data: return at == migration_status::data_migrated;
    default: return false;
    }
}

bool may_start(migration_status at, step_kind s)
{
    switch (s) {
    case step_kind::preflight: return at == migration_status::created;
    case step_kind::prepare: return at == migration_status::preflight_success;
    case step_kind::data: return at == migration_status::prepared;
    case step_kind::finalize: return at == migration_status::prepared || at == migration_status::data_migrated;
    default: return false;
    }
}

run_decision decide_abort(const migration_state& m)
{
    switch (m.at) {
    case migration_status::done:
        return refuse("the migration is done and its traffic goes to the new app: it cannot be aborted; to go back, "
                      "create a migration in the other direction");
    case migration_status::aborted: return no_op("the migration is already aborted");
    case migration_status::preflight_error: return no_op("the preflight failed: nothing was changed, nothing to undo");
    case migration_status::aborting:
        if (!m.runner_alive) {
            return start();   // an abort interrupted by a crash: resume it
        }
        return no_op("the migration is already aborting");
    case migration_status::running:
        if (!m.runner_alive) {
            return start();   // nothing runs: undo from where the interrupted step stopped
        }
        if (m.abort_requested) {
            return no_op("an abort is already requested; it starts when the running " +
                         std::string{to_string(m.current)} + " step reaches its next sub-step");
        }
        return {run_outcome::request_abort, {}};
    default: return start();   // created, preflight-success, prepared, data-migrated, error
    }
}

} // namespace

std::string_view to_string(migration_status s) noexcept
{
    for (const auto& [value, name] : status_names) {
        if (value == s) {
            return name;
        }
    }
    return "error";
}

std::string_view to_string(step_kind s) noexcept
{
    for (const auto& [value, name] : step_names) {
        if (value == s) {
            return name;
        }
    }
    return "none";
}

std::optional<migration_status> migration_status_from_string(std::string_view text) noexcept
{
    for (const auto& [value, name] : status_names) {
        if (name == text) {
            return value;
        }
    }
    return std::nullopt;
}

std::optional<step_kind> step_kind_from_string(std::string_view text) noexcept
{
    for (const auto& [value, name] : step_names) {
        if (name == text) {
            return value;
        }
    }
    return std::nullopt;
}

bool is_terminal(migration_status s) noexcept
{
    return s == migration_status::preflight_error || s == migration_status::aborted || s == migration_status::done;
}

run_decision decide_run(const migration_state& m, step_kind requested)
{
    if (requested == step_kind::none) {
        return refuse("no step named");
    }
    if (requested == step_kind::abort) {
        return decide_abort(m);
    }
    const std::string what{to_string(requested)};
    switch (m.at) {
    case migration_status::done: return refuse("the migration is done: there is nothing left to run");
    case migration_status::aborted: return refuse("the migration was aborted: create a new one");
    case migration_status::aborting:
        return refuse(std::string{"the migration is aborting"} + (m.runner_alive ? "" : " (interrupted)") +
                      ": only abort may run");
    case migration_status::preflight_error:
        return refuse("the preflight failed: fix what it reported, then create a new migration");
    case migration_status::running:
        if (m.abort_requested) {
            return refuse("an abort is requested: only abort may run");
        }
        if (m.current == requested) {
            if (!m.runner_alive) {
                return start();   // interrupted (the process died): resume it
            }
            return no_op("the " + what + " step is already running");
        }
        if (!m.runner_alive) {
            return refuse("the " + std::string{to_string(m.current)} + " step was interrupted: run " +
                          flag(m.current) + " to resume it, or abort");
        }
        return refuse("the " + std::string{to_string(m.current)} +
                      " step is running: wait for it (migration-follow) or abort");
    case migration_status::error:
        if (m.failed == step_kind::abort) {
            return refuse("the abort failed: only abort may run, until the migration is aborted");
        }
        if (m.failed == requested) {
            return start();   // retry: every sub-step is idempotent
        }
        return refuse("the " + std::string{to_string(m.failed)} + " step failed: run " + flag(m.failed) +
                      " again to retry it, or abort");
    default: break;
    }
    if (may_start(m.at, requested)) {
        return start();
    }
    if (already_past(m.at, requested)) {
        return no_op("the " + what + " step is already done (the migration is " + std::string{to_string(m.at)} + ")");
    }
    return refuse("the migration is " + std::string{to_string(m.at)} + ": " + next_hint(m.at));
}

migration_status after_success(step_kind s) noexcept
{
    switch (s) {
    case step_kind::preflight: return migration_status::preflight_success;
    case step_kind::prepare: return migration_status::prepared;
    case step_kind::data: return migration_status::data_migrated;
    case step_kind::finalize: return migration_status::done;
    case step_kind::abort: return migration_status::aborted;
    case step_kind::none: break;
    }
    return migration_status::error;
}

migration_status after_failure(step_kind s) noexcept
{
    return s == step_kind::preflight ? migration_status::preflight_error : migration_status::error;
}

} // namespace stork::migrate
