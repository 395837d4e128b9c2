#include "migrate/engine.hpp"

#include <exception>
#include <stdexcept>

namespace stork::migrate {

void step_context::point(std::string_view what, std::string_view kind, std::string_view key)
{
    if (hook_) {
        hook_(std::string{what} + " " + std::string{kind} + " " + std::string{key});
    }
}

std::string step_context::create_once(std::string_view kind, std::string_view natural_key,
                                      const std::function<std::optional<std::string>()>& find,
                                      const std::function<std::string()>& create)
{
    {
        const std::lock_guard lock{store_mutex_};
        const auto entry = store_.ledger_begin(migration_.id, kind, natural_key);
        if (entry.state == ledger_state::created && entry.target_id) {
            return *entry.target_id;
        }
        point("begin", kind, natural_key);
    }
    std::string target;
    if (auto found = find ? find() : std::nullopt) {
        target = std::move(*found);
    } else {
        target = create();
    }
    const std::lock_guard lock{store_mutex_};
    point("effect", kind, natural_key);
    store_.ledger_created(migration_.id, kind, natural_key, target);
    point("created", kind, natural_key);
    return target;
}

bool step_context::remove_recorded(std::string_view kind, std::string_view natural_key,
                                   const std::function<void(const std::string& target_id)>& remove)
{
    std::optional<ledger_entry> entry;
    {
        const std::lock_guard lock{store_mutex_};
        entry = store_.ledger_get(migration_.id, kind, natural_key);
    }
    if (!entry || entry->state == ledger_state::deleted) {
        return false;
    }
    // A `creating` row has no id: the process died around the creation, which may or may
    // not have happened. remove() finds it by its natural key (or finds nothing).
    remove(entry->target_id.value_or(std::string{}));
    const std::lock_guard lock{store_mutex_};
    point("removed", kind, natural_key);
    store_.ledger_deleted(migration_.id, kind, natural_key);
    point("deleted", kind, natural_key);
    return true;
}

engine::engine(store& s, step_plan plan, options o) : store_{s}, plan_{std::move(plan)}, options_{std::move(o)} {}

migration engine::change(const migration& m, const std::function<void(migration_changes&)>& edit)
{
    auto c = changes_of(m);
    edit(c);
    auto updated = store_.update_migration(m.id, m.version, c);
    if (!updated) {
        throw conflict_error{"migration " + m.id +
                             " was changed by another stork process meanwhile; run the command again"};
    }
    return *updated;
}

run_result engine::run(std::string_view migration_id, step_kind requested)
{
    auto m = store_.get_migration(migration_id);
    if (!m) {
        throw not_found{"no migration " + std::string{migration_id}};
    }
    auto lock = runner_lock::try_take(options_.runner_folder, m->id);
    const migration_state state{.at = m->status,
                                .current = m->current_step,
                                .failed = m->failed_step.value_or(step_kind::none),
                                .abort_requested = m->abort_requested,
                                .runner_alive = !lock.has_value()};
    const auto decision = decide_run(state, requested);
    switch (decision.outcome) {
    case run_outcome::refuse:
    case run_outcome::no_op: return run_result{decision.outcome, decision.reason, *m, false};
    case run_outcome::request_abort: {
        auto after = change(*m, [](migration_changes& c) { c.abort_requested = true; });
        return run_result{decision.outcome, {}, std::move(after), false};
    }
    case run_outcome::start: break;
    }
    if (!lock) {
        // decide_run saw a live runner, yet said start: only for states where nothing
        // runs, so another process started this very moment.
        return run_result{run_outcome::refuse, "another stork process is running a step of this migration", *m, false};
    }
    return execute(*std::move(m), requested, *lock);
}

run_result engine::execute(migration m, step_kind kind, const runner_lock& held)
{
    m = change(m, [kind](migration_changes& c) {
        c.status = kind == step_kind::abort ? migration_status::aborting : migration_status::running;
        c.current_step = kind;
        c.failed_step.reset();
        if (kind == step_kind::abort) {
            c.abort_requested = false;
        }
    });
    const step s = store_.begin_step(m.id, kind);
    const auto finish = [&](bool failed) {
        store_.finish_step(s.id, failed ? step_status::error : step_status::done);
        auto latest = store_.get_migration(m.id).value_or(m);
        auto after = change(latest, [kind, failed](migration_changes& c) {
            c.status = failed ? after_failure(kind) : after_success(kind);
            c.current_step = step_kind::none;
            c.failed_step = failed && kind != step_kind::preflight ? std::optional{kind} : std::nullopt;
            if (is_terminal(c.status)) {
                c.finished_at = std::chrono::system_clock::now();
            }
        });
        return run_result{run_outcome::start, {}, std::move(after), failed};
    };
    const auto plan = plan_(kind, m);
    bool failed_checks = false;   // a keep_going sub-step failed: the step fails at the end
    for (const auto& sub : plan) {
        if (kind != step_kind::abort) {
            if (auto now = store_.get_migration(m.id); now && now->abort_requested) {
                // An abort arrived from another process: stop here, between sub-steps.
                store_.finish_step(s.id, step_status::error);
                return execute(*std::move(now), step_kind::abort, held);
            }
        }
        auto record = store_.add_sub_step(s.id, sub.name);
        if (options_.on_sub_step) {
            options_.on_sub_step(s, record);
        }
        std::string failure;
        try {
            const auto current = store_.get_migration(m.id).value_or(m);
            step_context ctx{store_, current, options_.ledger_hook};
            sub.run(ctx);
        } catch (const std::exception& e) {
            failure = e.what();
            if (failure.empty()) {
                failure = "failed";
            }
        }
        record = store_.update_sub_step(record.id, failure.empty() ? step_status::done : step_status::error, failure);
        if (options_.on_sub_step) {
            options_.on_sub_step(s, record);
        }
        if (!failure.empty()) {
            if (!sub.keep_going) {
                return finish(true);
            }
            failed_checks = true;
        }
    }
    return finish(failed_checks);
}

} // namespace stork::migrate
