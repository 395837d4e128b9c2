// Every transition of the migration state machine (migrate/transitions.hpp), one row each.
#include "migrate/transitions.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace stork::migrate {
namespace {

using o = run_outcome;
using st = migration_status;
using sp = step_kind;

struct row {
    migration_state from;
    step_kind requested;
    run_outcome expected;
    std::string_view reason_has = {};
};

std::string describe(const row& r)
{
    return std::string{to_string(r.from.at)} + " (current " + std::string{to_string(r.from.current)} + ", failed " +
           std::string{to_string(r.from.failed)} + (r.from.abort_requested ? ", abort requested" : "") + ") + " +
           std::string{to_string(r.requested)};
}

std::vector<row> rows()
{
    const migration_state created{st::created};
    const migration_state ok{st::preflight_success};
    const migration_state prepared{st::prepared};
    const migration_state migrated{st::data_migrated};
    const migration_state failed_preflight{st::preflight_error};
    const migration_state aborting{st::aborting, sp::abort};
    const migration_state aborted{st::aborted};
    const migration_state finished{st::done};
    return {
        // created: only the preflight (and abort)
        {created, sp::preflight, o::start},
        {created, sp::prepare, o::refuse, "preflight has not run"},
        {created, sp::data, o::refuse, "preflight has not run"},
        {created, sp::finalize, o::refuse, "preflight has not run"},
        {created, sp::abort, o::start},
        // preflight-success
        {ok, sp::preflight, o::no_op, "already done"},
        {ok, sp::prepare, o::start},
        {ok, sp::data, o::refuse, "run --prepare first"},
        {ok, sp::finalize, o::refuse, "run --prepare first"},
        {ok, sp::abort, o::start},
        // prepared: data, or finalize straight away (data migrated by hand)
        {prepared, sp::preflight, o::no_op, "already done"},
        {prepared, sp::prepare, o::no_op, "already done"},
        {prepared, sp::data, o::start},
        {prepared, sp::finalize, o::start},
        {prepared, sp::abort, o::start},
        // data-migrated
        {migrated, sp::preflight, o::no_op},
        {migrated, sp::prepare, o::no_op},
        {migrated, sp::data, o::no_op, "already done"},
        {migrated, sp::finalize, o::start},
        {migrated, sp::abort, o::start},
        // preflight-error: terminal; abort has nothing to undo
        {failed_preflight, sp::preflight, o::refuse, "create a new migration"},
        {failed_preflight, sp::prepare, o::refuse, "create a new migration"},
        {failed_preflight, sp::data, o::refuse},
        {failed_preflight, sp::finalize, o::refuse},
        {failed_preflight, sp::abort, o::no_op, "nothing to undo"},
        // aborting: abort repeats are no-ops, the rest refused
        {aborting, sp::prepare, o::refuse, "only abort"},
        {aborting, sp::finalize, o::refuse, "only abort"},
        {aborting, sp::abort, o::no_op, "already aborting"},
        // aborted
        {aborted, sp::preflight, o::refuse, "create a new one"},
        {aborted, sp::data, o::refuse, "create a new one"},
        {aborted, sp::abort, o::no_op, "already aborted"},
        // done: nothing, and abort refused with the way back
        {finished, sp::prepare, o::refuse, "nothing left"},
        {finished, sp::finalize, o::refuse, "nothing left"},
        {finished, sp::abort, o::refuse, "other direction"},
        // running: the same step again is a no-op, another is refused, abort is requested
        {{st::running, sp::prepare}, sp::prepare, o::no_op, "already running"},
        {{st::running, sp::prepare}, sp::data, o::refuse, "prepare step is running"},
        {{st::running, sp::data}, sp::finalize, o::refuse, "migration-follow"},
        {{st::running, sp::data}, sp::abort, o::request_abort},
        {{st::running, sp::finalize}, sp::abort, o::request_abort},
        {{st::running, sp::preflight}, sp::abort, o::request_abort},
        {{st::running, sp::data, sp::none, true}, sp::abort, o::no_op, "already requested"},
        {{st::running, sp::data, sp::none, true}, sp::data, o::refuse, "only abort"},
        // running or aborting, but the process that ran it died: resume
        {{st::running, sp::data, sp::none, false, false}, sp::data, o::start},
        {{st::running, sp::data, sp::none, false, false}, sp::finalize, o::refuse, "run --data to resume it"},
        {{st::running, sp::data, sp::none, false, false}, sp::abort, o::start},
        {{st::running, sp::data, sp::none, true, false}, sp::abort, o::start},
        {{st::aborting, sp::abort, sp::none, false, false}, sp::abort, o::start},
        {{st::aborting, sp::abort, sp::none, false, false}, sp::data, o::refuse, "interrupted"},
        // error: retry the failed step (Scalingo only allowed abort), or abort
        {{st::error, sp::none, sp::prepare}, sp::prepare, o::start},
        {{st::error, sp::none, sp::data}, sp::data, o::start},
        {{st::error, sp::none, sp::finalize}, sp::finalize, o::start},
        {{st::error, sp::none, sp::data}, sp::finalize, o::refuse, "run --data again"},
        {{st::error, sp::none, sp::prepare}, sp::data, o::refuse, "run --prepare again"},
        {{st::error, sp::none, sp::data}, sp::abort, o::start},
        {{st::error, sp::none, sp::abort}, sp::abort, o::start},
        {{st::error, sp::none, sp::abort}, sp::data, o::refuse, "only abort"},
        {{st::error, sp::none, sp::abort}, sp::prepare, o::refuse, "only abort"},
        // nothing named
        {created, sp::none, o::refuse},
    };
}

TEST(transitions, every_row_of_the_table)
{
    for (const row& r : rows()) {
        SCOPED_TRACE(describe(r));
        const auto d = decide_run(r.from, r.requested);
        EXPECT_EQ(d.outcome, r.expected) << d.reason;
        if (!r.reason_has.empty()) {
            EXPECT_NE(d.reason.find(r.reason_has), std::string::npos) << d.reason;
        }
        if (d.outcome == o::refuse || d.outcome == o::no_op) {
            EXPECT_FALSE(d.reason.empty()) << "a refusal or no-op says why";
        } else {
            EXPECT_TRUE(d.reason.empty());
        }
    }
}

TEST(transitions, abort_is_possible_from_every_state_that_is_not_terminal)
{
    for (const auto s : {st::created, st::preflight_success, st::prepared, st::data_migrated, st::error}) {
        EXPECT_EQ(decide_run({s}, sp::abort).outcome, o::start) << to_string(s);
    }
    EXPECT_EQ(decide_run({st::running, sp::prepare}, sp::abort).outcome, o::request_abort);
}

TEST(transitions, where_each_step_leads)
{
    EXPECT_EQ(after_success(sp::preflight), st::preflight_success);
    EXPECT_EQ(after_success(sp::prepare), st::prepared);
    EXPECT_EQ(after_success(sp::data), st::data_migrated);
    EXPECT_EQ(after_success(sp::finalize), st::done);
    EXPECT_EQ(after_success(sp::abort), st::aborted);
    EXPECT_EQ(after_failure(sp::preflight), st::preflight_error);
    for (const auto s : {sp::prepare, sp::data, sp::finalize, sp::abort}) {
        EXPECT_EQ(after_failure(s), st::error);
    }
}

TEST(transitions, wire_names_round_trip_and_unknown_ones_are_refused)
{
    for (const auto s : {st::created, st::preflight_success, st::preflight_error, st::running, st::prepared,
                         st::data_migrated, st::aborting, st::aborted, st::error, st::done}) {
        EXPECT_EQ(migration_status_from_string(to_string(s)), s);
    }
    for (const auto s : {sp::none, sp::preflight, sp::prepare, sp::data, sp::finalize, sp::abort}) {
        EXPECT_EQ(step_kind_from_string(to_string(s)), s);
    }
    EXPECT_EQ(to_string(st::preflight_success), "preflight-success");
    EXPECT_EQ(to_string(st::data_migrated), "data-migrated");
    EXPECT_FALSE(migration_status_from_string("Running"));
    EXPECT_FALSE(migration_status_from_string(""));
    EXPECT_FALSE(step_kind_from_string("--data"));
}

TEST(transitions, terminal_states)
{
    EXPECT_TRUE(is_terminal(st::done));
    EXPECT_TRUE(is_terminal(st::aborted));
    EXPECT_TRUE(is_terminal(st::preflight_error));
    EXPECT_FALSE(is_terminal(st::error)) << "an error waits for a retry or an abort";
    EXPECT_FALSE(is_terminal(st::running));
}

} // namespace
} // namespace stork::migrate
