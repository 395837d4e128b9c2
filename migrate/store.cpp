#include "migrate/store.hpp"

#include "migrate/uuid.hpp"

#include <sqlite3.h>

#include <array>
#include <utility>

namespace stork::migrate {

namespace {

// --- enum <-> wire text ----------------------------------------------------------

constexpr std::array<std::pair<step_status, std::string_view>, 3> step_status_names{{
    {step_status::running, "running"},
    {step_status::done, "done"},
    {step_status::error, "error"},
}};

constexpr std::array<std::pair<ledger_state, std::string_view>, 3> ledger_state_names{{
    {ledger_state::creating, "creating"},
    {ledger_state::created, "created"},
    {ledger_state::deleted, "deleted"},
}};

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& names, E value) noexcept
{
    for (const auto& [e, name] : names) {
        if (e == value) {
            return name;
        }
    }
    return "?";
}

template <class E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& names, std::string_view text) noexcept
{
    for (const auto& [e, name] : names) {
        if (name == text) {
            return e;
        }
    }
    return std::nullopt;
}

// A value the CHECK constraints let in always parses; anything else is a file written
// by something other than this store.
template <class E>
E parse_column(std::optional<E> parsed, const std::string& text, const char* what)
{
    if (!parsed) {
        throw std::runtime_error{std::string{"migrate store: unknown "} + what + " \"" + text + "\" in the database"};
    }
    return *parsed;
}

std::int64_t to_ms(time_point t)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

time_point from_ms(std::int64_t ms)
{
    return time_point{std::chrono::duration_cast<time_point::duration>(std::chrono::milliseconds{ms})};
}

std::optional<time_point> from_ms(std::optional<std::int64_t> ms)
{
    if (!ms) {
        return std::nullopt;
    }
    return from_ms(*ms);
}

std::optional<std::int64_t> to_ms(const std::optional<time_point>& t)
{
    if (!t) {
        return std::nullopt;
    }
    return to_ms(*t);
}

// --- schema ----------------------------------------------------------------------

// upgrades[n] takes a file from schema version n to n + 1, in one transaction. Append
// only: a released entry never changes (files in the field are at its result).
constexpr std::array<std::string_view, store::schema_version> upgrades{{
    // 0 -> 1: migrations, steps, sub-steps and the ledger.
    R"sql(
CREATE TABLE migrations (
    id                          TEXT PRIMARY KEY NOT NULL,
    source_region               TEXT NOT NULL,
    source_app                  TEXT NOT NULL,
    destination_region          TEXT NOT NULL,
    destination_app             TEXT NOT NULL,
    status                      TEXT NOT NULL CHECK (status IN ('created', 'preflight-success',
                                    'preflight-error', 'running', 'prepared', 'data-migrated',
                                    'aborting', 'aborted', 'error', 'done')),
    current_step                TEXT NOT NULL CHECK (current_step IN ('none', 'preflight',
                                    'prepare', 'data', 'finalize', 'abort')),
    failed_step                 TEXT CHECK (failed_step IN ('preflight', 'prepare', 'data',
                                    'finalize', 'abort')),
    abort_requested             INTEGER NOT NULL DEFAULT 0 CHECK (abort_requested IN (0, 1)),
    started_at                  INTEGER NOT NULL,
    finished_at                 INTEGER,
    version                     INTEGER NOT NULL,
    new_app_id                  TEXT,
    source_formation_snapshot   TEXT,
    source_stopped_by_migration INTEGER CHECK (source_stopped_by_migration IN (0, 1)),
    redirect_id                 TEXT,
    redirect_expires_at         INTEGER,
    CHECK (source_region <> destination_region OR source_app <> destination_app)
) STRICT;

-- One live migration per source app (migration-flow.md §5.1). `error` is not
-- terminal: it holds the app until it is aborted.
CREATE UNIQUE INDEX migrations_one_live_per_source_app
    ON migrations (source_region, source_app)
    WHERE status NOT IN ('preflight-error', 'aborted', 'done');

CREATE TABLE steps (
    id            TEXT PRIMARY KEY NOT NULL,
    migration_id  TEXT NOT NULL REFERENCES migrations (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('preflight', 'prepare', 'data', 'finalize', 'abort')),
    status        TEXT NOT NULL CHECK (status IN ('running', 'done', 'error')),
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER
) STRICT;
CREATE INDEX steps_by_migration ON steps (migration_id);

CREATE TABLE sub_steps (
    id        TEXT PRIMARY KEY NOT NULL,
    step_id   TEXT NOT NULL REFERENCES steps (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    name      TEXT NOT NULL,
    status    TEXT NOT NULL CHECK (status IN ('running', 'done', 'error')),
    logs      TEXT NOT NULL DEFAULT '',
    UNIQUE (step_id, position)
) STRICT;

CREATE TABLE ledger (
    migration_id  TEXT NOT NULL REFERENCES migrations (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    natural_key   TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('creating', 'created', 'deleted')),
    target_id     TEXT,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (migration_id, kind, natural_key),
    CHECK (state <> 'created' OR target_id IS NOT NULL)
) STRICT;
)sql",
}};

constexpr std::string_view migration_columns =
    "id, source_region, source_app, destination_region, destination_app, status, current_step, "
    "failed_step, abort_requested, started_at, finished_at, version, new_app_id, "
    "source_formation_snapshot, source_stopped_by_migration, redirect_id, redirect_expires_at";

migration migration_from_row(const statement& st)
{
    migration m;
    m.id = st.column_text(0);
    m.source_region = st.column_text(1);
    m.source_app = st.column_text(2);
    m.destination_region = st.column_text(3);
    m.destination_app = st.column_text(4);
    const std::string status = st.column_text(5);
    m.status = parse_column(migration_status_from_string(status), status, "status");
    const std::string current = st.column_text(6);
    m.current_step = parse_column(step_kind_from_string(current), current, "current_step");
    if (const auto failed = st.column_optional_text(7)) {
        m.failed_step = parse_column(step_kind_from_string(*failed), *failed, "failed_step");
    }
    m.abort_requested = st.column_int64(8) != 0;
    m.started_at = from_ms(st.column_int64(9));
    m.finished_at = from_ms(st.column_optional_int64(10));
    m.version = st.column_int64(11);
    m.new_app_id = st.column_optional_text(12);
    m.source_formation_snapshot = st.column_optional_text(13);
    if (const auto stopped = st.column_optional_int64(14)) {
        m.source_stopped_by_migration = *stopped != 0;
    }
    m.redirect_id = st.column_optional_text(15);
    m.redirect_expires_at = from_ms(st.column_optional_int64(16));
    return m;
}

constexpr std::string_view step_columns = "id, migration_id, kind, status, started_at, finished_at";

step step_from_row(const statement& st)
{
    step s;
    s.id = st.column_text(0);
    s.migration_id = st.column_text(1);
    const std::string kind = st.column_text(2);
    s.kind = parse_column(step_kind_from_string(kind), kind, "step kind");
    const std::string status = st.column_text(3);
    s.status = parse_column(step_status_from_string(status), status, "step status");
    s.started_at = from_ms(st.column_int64(4));
    s.finished_at = from_ms(st.column_optional_int64(5));
    return s;
}

constexpr std::string_view sub_step_columns = "id, step_id, name, status, logs";

sub_step sub_step_from_row(const statement& st)
{
    sub_step s;
    s.id = st.column_text(0);
    s.step_id = st.column_text(1);
    s.name = st.column_text(2);
    const std::string status = st.column_text(3);
    s.status = parse_column(step_status_from_string(status), status, "sub-step status");
    s.logs = st.column_text(4);
    return s;
}

constexpr std::string_view ledger_columns = "migration_id, kind, natural_key, state, target_id, updated_at";

ledger_entry ledger_from_row(const statement& st)
{
    ledger_entry e;
    e.migration_id = st.column_text(0);
    e.kind = st.column_text(1);
    e.natural_key = st.column_text(2);
    const std::string state = st.column_text(3);
    e.state = parse_column(ledger_state_from_string(state), state, "ledger state");
    e.target_id = st.column_optional_text(4);
    e.updated_at = from_ms(st.column_int64(5));
    return e;
}

std::string select_from(std::string_view columns, std::string_view rest)
{
    std::string sql{"SELECT "};
    sql += columns;
    sql += ' ';
    sql += rest;
    return sql;
}

} // namespace

// --- enums -----------------------------------------------------------------------


std::string_view to_string(step_status s) noexcept { return name_of(step_status_names, s); }
std::optional<step_status> step_status_from_string(std::string_view text) noexcept
{
    return value_of(step_status_names, text);
}

std::string_view to_string(ledger_state s) noexcept { return name_of(ledger_state_names, s); }
std::optional<ledger_state> ledger_state_from_string(std::string_view text) noexcept
{
    return value_of(ledger_state_names, text);
}

migration_changes changes_of(const migration& m)
{
    return {m.status, m.current_step, m.failed_step, m.abort_requested, m.finished_at};
}

migration_exists::migration_exists(std::string existing_id)
    : std::runtime_error{"the source app already has a migration in progress: " + existing_id},
      existing_id_{std::move(existing_id)}
{
}

// --- store -----------------------------------------------------------------------

store::store(const std::filesystem::path& path, clock now) : db_{path}, now_{std::move(now)}
{
    if (!now_) {
        now_ = [] { return std::chrono::system_clock::now(); };
    }
    upgrade_schema();
}

std::int64_t store::now_ms() const
{
    return to_ms(now_());
}

void store::upgrade_schema()
{
    for (;;) {
        transaction tx{db_};
        db_.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL) STRICT");
        statement read{db_, "SELECT max(version) FROM schema_version"};
        const std::int64_t current = read.step() ? read.column_optional_int64(0).value_or(0) : 0;
        if (current > schema_version) {
            throw std::runtime_error{"migrate store: the database is at schema version " + std::to_string(current) +
                                     ", newer than this program's " + std::to_string(schema_version)};
        }
        if (current == schema_version) {
            tx.commit();
            return;
        }
        // One version per transaction: a crash between two leaves a file at a
        // version we know, and the next open carries on from there.
        db_.exec(upgrades[static_cast<std::size_t>(current)]);
        db_.exec("DELETE FROM schema_version");
        statement write{db_, "INSERT INTO schema_version (version) VALUES (?)"};
        write.bind(1, current + 1).run();
        tx.commit();
    }
}

// --- migrations --------------------------------------------------------------------

std::optional<migration> store::read_migration(std::string_view id)
{
    statement st{db_, select_from(migration_columns, "FROM migrations WHERE id = ?")};
    st.bind(1, id);
    if (!st.step()) {
        return std::nullopt;
    }
    return migration_from_row(st);
}

migration store::create_migration(const new_migration& m)
{
    if (m.source_region == m.destination_region && m.source_app == m.destination_app) {
        throw std::invalid_argument{"a migration needs another destination region or another app name"};
    }
    transaction tx{db_};
    // Under BEGIN IMMEDIATE nobody else can insert between this look-up and ours; the
    // partial unique index is the backstop should a writer bypass the store.
    if (auto live = active_migration(m.source_region, m.source_app)) {
        throw migration_exists{live->id};
    }
    const std::string id = new_uuid_v4();
    statement st{db_,
                 "INSERT INTO migrations (id, source_region, source_app, destination_region, destination_app, "
                 "status, current_step, abort_requested, started_at, version) "
                 "VALUES (?, ?, ?, ?, ?, 'created', 'preflight', 0, ?, 1)"};
    st.bind(1, id).bind(2, m.source_region).bind(3, m.source_app).bind(4, m.destination_region);
    st.bind(5, m.destination_app).bind(6, now_ms());
    st.run();
    auto created = read_migration(id);
    tx.commit();
    return std::move(*created);
}

std::optional<migration> store::get_migration(std::string_view id)
{
    return read_migration(id);
}

std::vector<migration> store::list_migrations()
{
    statement st{db_, select_from(migration_columns, "FROM migrations ORDER BY started_at, rowid")};
    std::vector<migration> all;
    while (st.step()) {
        all.push_back(migration_from_row(st));
    }
    return all;
}

std::optional<migration> store::active_migration(std::string_view source_region, std::string_view source_app)
{
    // The same predicate as the partial index, so SQLite can answer from it.
    statement st{db_, select_from(migration_columns,
                                  "FROM migrations WHERE source_region = ? AND source_app = ? "
                                  "AND status NOT IN ('preflight-error', 'aborted', 'done')")};
    st.bind(1, source_region).bind(2, source_app);
    if (!st.step()) {
        return std::nullopt;
    }
    return migration_from_row(st);
}

std::optional<migration> store::update_migration(std::string_view id, std::int64_t expected_version,
                                                 const migration_changes& changes)
{
    transaction tx{db_};
    statement st{db_,
                 "UPDATE migrations SET status = ?, current_step = ?, failed_step = ?, abort_requested = ?, "
                 "finished_at = ?, version = version + 1 WHERE id = ? AND version = ?"};
    st.bind(1, to_string(changes.status)).bind(2, to_string(changes.current_step));
    if (changes.failed_step) {
        st.bind(3, to_string(*changes.failed_step));
    } else {
        st.bind(3, nullptr);
    }
    st.bind(4, std::int64_t{changes.abort_requested ? 1 : 0}).bind(5, to_ms(changes.finished_at));
    st.bind(6, id).bind(7, expected_version);
    st.run();
    if (db_.changes() == 0) {
        if (!read_migration(id)) {
            throw not_found{"no migration " + std::string{id}};
        }
        return std::nullopt;   // someone else moved it on: the caller re-reads
    }
    auto updated = read_migration(id);
    tx.commit();
    return updated;
}

std::optional<std::string> store::set_once_text(std::string_view id, const char* column, std::string_view value)
{
    transaction tx{db_};
    const std::string col{column};
    statement write{db_, "UPDATE migrations SET " + col + " = ?, version = version + 1 WHERE id = ? AND " + col +
                             " IS NULL"};
    write.bind(1, value).bind(2, id).run();
    statement read{db_, "SELECT " + col + " FROM migrations WHERE id = ?"};
    read.bind(1, id);
    if (!read.step()) {
        throw not_found{"no migration " + std::string{id}};
    }
    auto stored = read.column_optional_text(0);
    tx.commit();
    return stored;
}

std::string store::set_once_new_app_id(std::string_view id, std::string_view new_app_id)
{
    return set_once_text(id, "new_app_id", new_app_id).value_or("");
}

std::string store::set_once_source_formation_snapshot(std::string_view id, std::string_view json)
{
    return set_once_text(id, "source_formation_snapshot", json).value_or("");
}

bool store::set_once_source_stopped_by_migration(std::string_view id, bool stopped)
{
    transaction tx{db_};
    statement write{db_,
                    "UPDATE migrations SET source_stopped_by_migration = ?, version = version + 1 "
                    "WHERE id = ? AND source_stopped_by_migration IS NULL"};
    write.bind(1, std::int64_t{stopped ? 1 : 0}).bind(2, id).run();
    statement read{db_, "SELECT source_stopped_by_migration FROM migrations WHERE id = ?"};
    read.bind(1, id);
    if (!read.step()) {
        throw not_found{"no migration " + std::string{id}};
    }
    const bool stored = read.column_int64(0) != 0;
    tx.commit();
    return stored;
}

store::redirect_info store::set_once_redirect(std::string_view id, const redirect_info& redirect)
{
    transaction tx{db_};
    statement write{db_,
                    "UPDATE migrations SET redirect_id = ?, redirect_expires_at = ?, version = version + 1 "
                    "WHERE id = ? AND redirect_id IS NULL"};
    write.bind(1, redirect.id).bind(2, to_ms(redirect.expires_at)).bind(3, id).run();
    statement read{db_, "SELECT redirect_id, redirect_expires_at FROM migrations WHERE id = ?"};
    read.bind(1, id);
    if (!read.step()) {
        throw not_found{"no migration " + std::string{id}};
    }
    redirect_info stored{read.column_text(0), from_ms(read.column_int64(1))};
    tx.commit();
    return stored;
}

// --- steps -------------------------------------------------------------------------

std::optional<step> store::read_step(std::string_view step_id)
{
    statement st{db_, select_from(step_columns, "FROM steps WHERE id = ?")};
    st.bind(1, step_id);
    if (!st.step()) {
        return std::nullopt;
    }
    return step_from_row(st);
}

std::optional<sub_step> store::read_sub_step(std::string_view sub_step_id)
{
    statement st{db_, select_from(sub_step_columns, "FROM sub_steps WHERE id = ?")};
    st.bind(1, sub_step_id);
    if (!st.step()) {
        return std::nullopt;
    }
    return sub_step_from_row(st);
}

step store::begin_step(std::string_view migration_id, step_kind kind)
{
    if (kind == step_kind::none) {
        throw std::invalid_argument{"a step needs a kind"};
    }
    transaction tx{db_};
    if (!read_migration(migration_id)) {
        throw not_found{"no migration " + std::string{migration_id}};
    }
    const std::string id = new_uuid_v4();
    statement st{db_,
                 "INSERT INTO steps (id, migration_id, kind, status, started_at) VALUES (?, ?, ?, 'running', ?)"};
    st.bind(1, id).bind(2, migration_id).bind(3, to_string(kind)).bind(4, now_ms()).run();
    auto begun = read_step(id);
    tx.commit();
    return std::move(*begun);
}

step store::finish_step(std::string_view step_id, step_status status)
{
    if (status == step_status::running) {
        throw std::invalid_argument{"a step finishes done or error"};
    }
    transaction tx{db_};
    statement st{db_, "UPDATE steps SET status = ?, finished_at = ? WHERE id = ?"};
    st.bind(1, to_string(status)).bind(2, now_ms()).bind(3, step_id).run();
    if (db_.changes() == 0) {
        throw not_found{"no step " + std::string{step_id}};
    }
    auto finished = read_step(step_id);
    tx.commit();
    return std::move(*finished);
}

std::vector<step> store::list_steps(std::string_view migration_id)
{
    statement st{db_, select_from(step_columns, "FROM steps WHERE migration_id = ? ORDER BY started_at, rowid")};
    st.bind(1, migration_id);
    std::vector<step> all;
    while (st.step()) {
        all.push_back(step_from_row(st));
    }
    return all;
}

sub_step store::add_sub_step(std::string_view step_id, std::string_view name)
{
    transaction tx{db_};
    if (!read_step(step_id)) {
        throw not_found{"no step " + std::string{step_id}};
    }
    const std::string id = new_uuid_v4();
    statement st{db_,
                 "INSERT INTO sub_steps (id, step_id, position, name, status) VALUES (?, ?, "
                 "(SELECT coalesce(max(position), 0) + 1 FROM sub_steps WHERE step_id = ?2), ?, 'running')"};
    st.bind(1, id).bind(2, step_id).bind(3, name).run();
    auto added = read_sub_step(id);
    tx.commit();
    return std::move(*added);
}

sub_step store::update_sub_step(std::string_view sub_step_id, step_status status, std::string_view logs)
{
    transaction tx{db_};
    statement st{db_, "UPDATE sub_steps SET status = ?, logs = ? WHERE id = ?"};
    st.bind(1, to_string(status)).bind(2, logs).bind(3, sub_step_id).run();
    if (db_.changes() == 0) {
        throw not_found{"no sub-step " + std::string{sub_step_id}};
    }
    auto updated = read_sub_step(sub_step_id);
    tx.commit();
    return std::move(*updated);
}

std::vector<sub_step> store::list_sub_steps(std::string_view step_id)
{
    statement st{db_, select_from(sub_step_columns, "FROM sub_steps WHERE step_id = ? ORDER BY position")};
    st.bind(1, step_id);
    std::vector<sub_step> all;
    while (st.step()) {
        all.push_back(sub_step_from_row(st));
    }
    return all;
}

// --- the ledger ----------------------------------------------------------------------

std::optional<ledger_entry> store::read_ledger(std::string_view migration_id, std::string_view kind,
                                               std::string_view natural_key)
{
    statement st{db_, select_from(ledger_columns, "FROM ledger WHERE migration_id = ? AND kind = ? AND natural_key = ?")};
    st.bind(1, migration_id).bind(2, kind).bind(3, natural_key);
    if (!st.step()) {
        return std::nullopt;
    }
    return ledger_from_row(st);
}

ledger_entry store::ledger_begin(std::string_view migration_id, std::string_view kind, std::string_view natural_key)
{
    transaction tx{db_};
    auto existing = read_ledger(migration_id, kind, natural_key);
    if (existing && existing->state != ledger_state::deleted) {
        return std::move(*existing);   // nothing written: the destructor's rollback ends the read
    }
    if (!existing) {
        if (!read_migration(migration_id)) {
            throw not_found{"no migration " + std::string{migration_id}};
        }
        statement st{db_,
                     "INSERT INTO ledger (migration_id, kind, natural_key, state, updated_at) "
                     "VALUES (?, ?, ?, 'creating', ?)"};
        st.bind(1, migration_id).bind(2, kind).bind(3, natural_key).bind(4, now_ms()).run();
    } else {
        statement st{db_,
                     "UPDATE ledger SET state = 'creating', target_id = NULL, updated_at = ? "
                     "WHERE migration_id = ? AND kind = ? AND natural_key = ?"};
        st.bind(1, now_ms()).bind(2, migration_id).bind(3, kind).bind(4, natural_key).run();
    }
    auto begun = read_ledger(migration_id, kind, natural_key);
    tx.commit();
    return std::move(*begun);
}

ledger_entry store::ledger_created(std::string_view migration_id, std::string_view kind,
                                   std::string_view natural_key, std::string_view target_id)
{
    transaction tx{db_};
    auto existing = read_ledger(migration_id, kind, natural_key);
    const std::string what = std::string{kind} + " \"" + std::string{natural_key} + "\"";
    if (!existing) {
        throw ledger_error{"ledger: " + what + " created without ledger_begin first"};
    }
    if (existing->state == ledger_state::created) {
        if (existing->target_id != target_id) {
            throw ledger_error{"ledger: " + what + " is already created as " + existing->target_id.value_or("") +
                               ", not " + std::string{target_id}};
        }
        return std::move(*existing);   // the same answer again: nothing to write
    }
    if (existing->state == ledger_state::deleted) {
        throw ledger_error{"ledger: " + what + " was deleted; ledger_begin it again before creating it"};
    }
    statement st{db_,
                 "UPDATE ledger SET state = 'created', target_id = ?, updated_at = ? "
                 "WHERE migration_id = ? AND kind = ? AND natural_key = ?"};
    st.bind(1, target_id).bind(2, now_ms()).bind(3, migration_id).bind(4, kind).bind(5, natural_key).run();
    auto created = read_ledger(migration_id, kind, natural_key);
    tx.commit();
    return std::move(*created);
}

std::optional<ledger_entry> store::ledger_deleted(std::string_view migration_id, std::string_view kind,
                                                  std::string_view natural_key)
{
    transaction tx{db_};
    auto existing = read_ledger(migration_id, kind, natural_key);
    if (!existing) {
        return std::nullopt;
    }
    if (existing->state == ledger_state::deleted) {
        return existing;
    }
    statement st{db_,
                 "UPDATE ledger SET state = 'deleted', updated_at = ? "
                 "WHERE migration_id = ? AND kind = ? AND natural_key = ?"};
    st.bind(1, now_ms()).bind(2, migration_id).bind(3, kind).bind(4, natural_key).run();
    auto deleted = read_ledger(migration_id, kind, natural_key);
    tx.commit();
    return deleted;
}

std::optional<ledger_entry> store::ledger_get(std::string_view migration_id, std::string_view kind,
                                              std::string_view natural_key)
{
    return read_ledger(migration_id, kind, natural_key);
}

std::vector<ledger_entry> store::ledger_list(std::string_view migration_id)
{
    statement st{db_, select_from(ledger_columns, "FROM ledger WHERE migration_id = ? ORDER BY rowid")};
    st.bind(1, migration_id);
    std::vector<ledger_entry> all;
    while (st.step()) {
        all.push_back(ledger_from_row(st));
    }
    return all;
}

} // namespace stork::migrate
