#pragma once

// The durable state of region migrations (design.md §5, migration-flow.md §5).
//
// One SQLite file (control.yaml `state:`), WAL mode, synchronous=FULL. Tables (v1):
//
//   schema_version  (version)                 one row: the schema this file is at; the
//                                             store upgrades older files at open, one
//                                             transaction per version, and refuses newer
//   migrations      (id, source_region, source_app, destination_region,
//                    destination_app, status, current_step, failed_step,
//                    abort_requested, started_at, finished_at, version,
//                    new_app_id, source_formation_snapshot,
//                    source_stopped_by_migration, redirect_id, redirect_expires_at)
//                   partial unique index on (source_region, source_app) WHERE status
//                   is not terminal: at most one live migration per source app, held
//                   by the database itself, not by a check-then-insert in our code
//   steps           (id, migration_id, kind, status, started_at, finished_at)
//                   one row per execution of a step; a re-run gets a fresh id
//   sub_steps       (id, step_id, position, name, status, logs)
//   ledger          (migration_id, kind, natural_key) unique -> state, target_id,
//                   updated_at: the write-ahead log of every side effect
//
// The rules the flow relies on:
//   * One transaction per state change. Every public operation below is exactly one
//     BEGIN IMMEDIATE ... COMMIT, and it returns only after the commit is on disk:
//     a process killed at any instant leaves either all of a change or none of it.
//   * Write-ahead: ledger_begin (`creating`) commits before the side effect,
//     ledger_created (`created` + the target's id) after it. A resumed run that finds
//     `creating` does not know whether the thing exists; it looks it up by its natural
//     key (adopt if ours, else create), so nothing is ever created twice.
//   * Compare-and-swap: every change to a migration row bumps `version`;
//     update_migration only applies when the caller's expected version is current.
//   * Set-once fields (new_app_id, source_formation_snapshot,
//     source_stopped_by_migration, redirect) are written only while NULL; a second
//     write of a different value is refused and the stored value returned.
//
// A store owns one connection and is used from one thread at a time; other threads or
// processes open their own store on the same file.

#include "migrate/sqlite.hpp"
#include "migrate/transitions.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace stork::migrate {

using time_point = std::chrono::system_clock::time_point;

// migration_status and step_kind (the wire strings, is_terminal) are the state
// machine's: migrate/transitions.hpp.

enum class step_status { running, done, error };
std::string_view to_string(step_status s) noexcept;
std::optional<step_status> step_status_from_string(std::string_view text) noexcept;

enum class ledger_state { creating, created, deleted };
std::string_view to_string(ledger_state s) noexcept;
std::optional<ledger_state> ledger_state_from_string(std::string_view text) noexcept;

struct new_migration {
    std::string source_region;
    std::string source_app;
    std::string destination_region;
    std::string destination_app;
};

struct migration {
    std::string id;
    std::string source_region;
    std::string source_app;
    std::string destination_region;
    std::string destination_app;
    migration_status status = migration_status::created;
    step_kind current_step = step_kind::none;
    std::optional<step_kind> failed_step;
    bool abort_requested = false;
    time_point started_at;
    std::optional<time_point> finished_at;
    std::int64_t version = 0;
    // Set-once.
    std::optional<std::string> new_app_id;
    std::optional<std::string> source_formation_snapshot;   // JSON text
    std::optional<bool> source_stopped_by_migration;
    std::optional<std::string> redirect_id;
    std::optional<time_point> redirect_expires_at;
};

// The fields update_migration may change; the set-once fields have their own setters.
struct migration_changes {
    migration_status status = migration_status::created;
    step_kind current_step = step_kind::none;
    std::optional<step_kind> failed_step;
    bool abort_requested = false;
    std::optional<time_point> finished_at;
};
// The mutable fields of `m` as they are now (to modify and pass back).
migration_changes changes_of(const migration& m);

struct step {
    std::string id;
    std::string migration_id;
    step_kind kind = step_kind::preflight;
    step_status status = step_status::running;
    time_point started_at;
    std::optional<time_point> finished_at;
};

struct sub_step {
    std::string id;
    std::string step_id;
    std::string name;
    step_status status = step_status::running;
    std::string logs;
};

struct ledger_entry {
    std::string migration_id;
    std::string kind;          // what was created: "app", "domain", "addon", ...
    std::string natural_key;   // how to find it again without its id (migration-flow.md §5.4)
    ledger_state state = ledger_state::creating;
    std::optional<std::string> target_id;
    time_point updated_at;
};

// create_migration when the source app already has a non-terminal migration
// (migration-flow.md §5.7: the API answers 409 with that id).
class migration_exists : public std::runtime_error {
public:
    explicit migration_exists(std::string existing_id);
    const std::string& existing_id() const noexcept { return existing_id_; }

private:
    std::string existing_id_;
};

// An operation on an id the store does not have.
class not_found : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A write the ledger's order forbids (`created` without `creating` first, or a second
// target id for the same natural key): a broken invariant of the caller.
class ledger_error : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

class store {
public:
    using clock = std::function<time_point()>;
    static constexpr int schema_version = 1;

    // Opens (creating) the file, creates or upgrades the schema to `schema_version`.
    // Throws sqlite_error, or std::runtime_error for a file from a newer stork.
    explicit store(const std::filesystem::path& path, clock now = {});

    // --- migrations ----------------------------------------------------------------
    // status created, current_step preflight (queued), version 1, a fresh UUID v4.
    // Throws migration_exists when the source app has a non-terminal migration.
    migration create_migration(const new_migration& m);
    std::optional<migration> get_migration(std::string_view id);
    std::vector<migration> list_migrations();   // oldest first
    // The non-terminal migration of a source app, if any.
    std::optional<migration> active_migration(std::string_view source_region, std::string_view source_app);
    // Applies `changes` and bumps the version when the stored version is
    // `expected_version`; otherwise changes nothing and returns nullopt (re-read and
    // decide again). Throws not_found for an unknown id.
    std::optional<migration> update_migration(std::string_view id, std::int64_t expected_version,
                                              const migration_changes& changes);

    // Set-once setters: store the value if none is stored yet (bumping the version),
    // and return what is stored afterwards. A different stored value is kept: the
    // caller compares the answer with what it offered.
    std::string set_once_new_app_id(std::string_view id, std::string_view new_app_id);
    std::string set_once_source_formation_snapshot(std::string_view id, std::string_view json);
    bool set_once_source_stopped_by_migration(std::string_view id, bool stopped);
    struct redirect_info {
        std::string id;
        time_point expires_at;
        bool operator==(const redirect_info&) const = default;
    };
    redirect_info set_once_redirect(std::string_view id, const redirect_info& redirect);

    // --- steps ---------------------------------------------------------------------
    // A new execution of `kind` (fresh id, running).
    step begin_step(std::string_view migration_id, step_kind kind);
    // Sets status (done or error) and finished_at.
    step finish_step(std::string_view step_id, step_status status);
    std::vector<step> list_steps(std::string_view migration_id);   // in start order
    // A new sub-step of `step_id` (fresh id, running), after the existing ones.
    sub_step add_sub_step(std::string_view step_id, std::string_view name);
    sub_step update_sub_step(std::string_view sub_step_id, step_status status, std::string_view logs);
    std::vector<sub_step> list_sub_steps(std::string_view step_id);   // in order

    // --- the ledger ----------------------------------------------------------------
    // Before a side effect. Inserts (creating) and returns the row; when the key is
    // already there, returns the existing row unchanged, except that a `deleted` row
    // goes back to `creating` (target_id cleared): something deleted (e.g. a failed
    // provisioning) is being made again.
    ledger_entry ledger_begin(std::string_view migration_id, std::string_view kind,
                              std::string_view natural_key);
    // After it: `created` with the target's id. Idempotent for the same id; throws
    // ledger_error without ledger_begin first or for a different id than the stored one.
    ledger_entry ledger_created(std::string_view migration_id, std::string_view kind,
                                std::string_view natural_key, std::string_view target_id);
    // After an undo. The row stays (with its target id) as history. nullopt when the
    // key was never begun (nothing to undo).
    std::optional<ledger_entry> ledger_deleted(std::string_view migration_id, std::string_view kind,
                                               std::string_view natural_key);
    std::optional<ledger_entry> ledger_get(std::string_view migration_id, std::string_view kind,
                                           std::string_view natural_key);
    std::vector<ledger_entry> ledger_list(std::string_view migration_id);   // in begin order

    // The connection, for tests that inspect the file (pragmas, integrity_check).
    database& database_for_test() noexcept { return db_; }

private:
    void upgrade_schema();
    std::int64_t now_ms() const;
    std::optional<migration> read_migration(std::string_view id);
    std::optional<ledger_entry> read_ledger(std::string_view migration_id, std::string_view kind,
                                            std::string_view natural_key);
    std::optional<step> read_step(std::string_view step_id);
    std::optional<sub_step> read_sub_step(std::string_view sub_step_id);
    // Sets `column` to `value` when NULL (bumping the version); the stored value after.
    std::optional<std::string> set_once_text(std::string_view id, const char* column, std::string_view value);

    database db_;
    clock now_;
};

} // namespace stork::migrate
