#include "migrate/transitions.hpp"

#include <array>
#include <utility>

namespace stork::migrate {
namespace {

constexpr std::array status_names{
    std::pair{status::created, std::string_view{"created"}},
    std::pair{status::preflight_success, std::string_view{"preflight-success"}},
    std::pair{status::preflight_error, std::string_view{"preflight-error"}},
    std::pair{status::running, std::string_view{"running"}},
    std::pair{status::prepared, std::string_view{"prepared"}},
    std::pair{status::data_migrated, std::string_view{"data-migrated"}},
    std::pair{status::aborting, std::string_view{"aborting"}},
    std::pair{status::aborted, std::string_view{"aborted"}},
    std::pair{status::error, std::string_view{"error"}},
    std::pair{status::done, std::string_view{"done"}},
};

constexpr std::array step_names{
    std::pair{step::none, std::string_view{"none"}},
    std::pair{step::preflight, std::string_view{"preflight"}},
    std::pair{step::prepare, std::string_view{"prepare"}},
    std::pair{step::data, std::string_view{"data"}},
    std::pair{step::finalize, std::string_view{"finalize"}},
    std::pair{step::abort, std::string_view{"abort"}},
};

run_decision start() { return {run_outcome::start, {}}; }
run_decision no_op(std::string why) { return {run_outcome::no_op, std::move(why)}; }
run_decision refuse(std::string why) { return {run_outcome::refuse, std::move(why)}; }

std::string flag(step s) { return "--" + std::string{to_string(s)}; }

// The step a migration at rest waits for, for "run X first".
std::string next_hint(status at)
{
    switch (at) {
    case status::created: return "its preflight has not run yet";
    case status::preflight_success: return "run " + flag(step::prepare) + " first";
    case status::prepared: return "run " + flag(step::data) + " or " + flag(step::finalize);
    case status::data_migrated: return "run " + flag(step::finalize);
    default: return {};
    }
}

// Has the migration already gone past `s` (so running it again changes nothing)?
bool already_past(status at, step s)
{
    switch (s) {
    case step::preflight:
        return at == status::preflight_success || at == status::prepared || at == status::data_migrated;
    case step::prepare: return at == status::prepared || at == status::data_migrated;
    case step::data: return at == status::data_migrated;
    default: return false;
    }
}

bool may_start(status at, step s)
{
    switch (s) {
    case step::preflight: return at == status::created;
    case step::prepare: return at == status::preflight_success;
    case step::data: return at == status::prepared;
    case step::finalize: return at == status::prepared || at == status::data_migrated;
    default: return false;
    }
}

run_decision decide_abort(const migration_state& m)
{
    switch (m.at) {
    case status::done:
        return refuse("the migration is done and its traffic goes to the new app: it cannot be aborted; to go back, "
                      "create a migration in the other direction");
    case status::aborted: return no_op("the migration is already aborted");
    case status::preflight_error: return no_op("the preflight failed: nothing was changed, nothing to undo");
    case status::aborting: return no_op("the migration is already aborting");
    case status::running:
        if (m.abort_requested) {
            return no_op("an abort is already requested; it starts when the running " +
                         std::string{to_string(m.current)} + " step reaches its next sub-step");
        }
        return {run_outcome::request_abort, {}};
    default: return start();   // created, preflight-success, prepared, data-migrated, error
    }
}

} // namespace

std::string_view to_string(status s) noexcept
{
    for (const auto& [value, name] : status_names) {
        if (value == s) {
            return name;
        }
    }
    return "error";
}

std::string_view to_string(step s) noexcept
{
    for (const auto& [value, name] : step_names) {
        if (value == s) {
            return name;
        }
    }
    return "none";
}

std::optional<status> parse_status(std::string_view text) noexcept
{
    for (const auto& [value, name] : status_names) {
        if (name == text) {
            return value;
        }
    }
    return std::nullopt;
}

std::optional<step> parse_step(std::string_view text) noexcept
{
    for (const auto& [value, name] : step_names) {
        if (name == text) {
            return value;
        }
    }
    return std::nullopt;
}

bool is_terminal(status s) noexcept
{
    return s == status::preflight_error || s == status::aborted || s == status::done;
}

run_decision decide_run(const migration_state& m, step requested)
{
    if (requested == step::none) {
        return refuse("no step named");
    }
    if (requested == step::abort) {
        return decide_abort(m);
    }
    const std::string what{to_string(requested)};
    switch (m.at) {
    case status::done: return refuse("the migration is done: there is nothing left to run");
    case status::aborted: return refuse("the migration was aborted: create a new one");
    case status::aborting: return refuse("the migration is aborting: only abort may run");
    case status::preflight_error:
        return refuse("the preflight failed: fix what it reported, then create a new migration");
    case status::running:
        if (m.abort_requested) {
            return refuse("an abort is requested: only abort may run");
        }
        if (m.current == requested) {
            return no_op("the " + what + " step is already running");
        }
        return refuse("the " + std::string{to_string(m.current)} +
                      " step is running: wait for it (migration-follow) or abort");
    case status::error:
        if (m.failed == step::abort) {
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

status after_success(step s) noexcept
{
    switch (s) {
    case step::preflight: return status::preflight_success;
    case step::prepare: return status::prepared;
    case step::data: return status::data_migrated;
    case step::finalize: return status::done;
    case step::abort: return status::aborted;
    case step::none: break;
    }
    return status::error;
}

status after_failure(step s) noexcept
{
    return s == step::preflight ? status::preflight_error : status::error;
}

} // namespace stork::migrate
