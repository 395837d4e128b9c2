#include "migrate/sqlite.hpp"

#include <sqlite3.h>

#include <utility>

namespace stork::migrate {

namespace {

std::string errmsg(sqlite3* db, int rc)
{
    // sqlite3_errmsg describes the last failure on the connection; without a
    // connection (open failed to allocate one) only the code's text is left.
    return db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
}

} // namespace

sqlite_error::sqlite_error(int code, const std::string& message, std::string sql)
    : std::runtime_error{sql.empty() ? "sqlite: " + message : "sqlite: " + message + " (in: " + sql + ")"},
      code_{code},
      sql_{std::move(sql)}
{
}

// --- database --------------------------------------------------------------------

database::database(const std::filesystem::path& path, std::chrono::milliseconds busy_timeout)
{
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        const sqlite_error error{rc, errmsg(db_, rc) + ": " + path.string(), ""};
        sqlite3_close_v2(db_);
        db_ = nullptr;
        throw error;
    }
    sqlite3_extended_result_codes(db_, 1);
    try {
        sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count()));
        // journal_mode answers with the mode it ended in: a database on a file system
        // without shared memory would silently stay in "delete".
        const std::string mode = query_text("PRAGMA journal_mode=WAL");
        if (mode != "wal") {
            throw sqlite_error{SQLITE_ERROR, "cannot switch to WAL mode (got \"" + mode + "\")",
                               "PRAGMA journal_mode=WAL"};
        }
        exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
    } catch (...) {
        sqlite3_close_v2(db_);
        db_ = nullptr;
        throw;
    }
}

database::~database()
{
    // close_v2: any statement still alive keeps the connection until it is finalized,
    // instead of the close failing with SQLITE_BUSY.
    sqlite3_close_v2(db_);
}

database::database(database&& other) noexcept : db_{std::exchange(other.db_, nullptr)} {}

database& database::operator=(database&& other) noexcept
{
    if (this != &other) {
        sqlite3_close_v2(db_);
        db_ = std::exchange(other.db_, nullptr);
    }
    return *this;
}

void database::exec(std::string_view sql)
{
    const std::string text{sql};
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        std::string what = message != nullptr ? message : errmsg(db_, rc);
        sqlite3_free(message);
        throw sqlite_error{sqlite3_extended_errcode(db_), what, text};
    }
}

std::string database::query_text(std::string_view sql)
{
    statement st{*this, sql};
    return st.step() ? st.column_text(0) : std::string{};
}

std::int64_t database::changes() const noexcept
{
    return sqlite3_changes(db_);
}

// --- statement -------------------------------------------------------------------

statement::statement(database& db, std::string_view sql) : db_{db.handle()}
{
    const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
    if (rc != SQLITE_OK) {
        throw sqlite_error{sqlite3_extended_errcode(db_), errmsg(db_, rc), std::string{sql}};
    }
}

statement::~statement()
{
    sqlite3_finalize(stmt_);
}

statement::statement(statement&& other) noexcept
    : db_{std::exchange(other.db_, nullptr)}, stmt_{std::exchange(other.stmt_, nullptr)}
{
}

statement& statement::operator=(statement&& other) noexcept
{
    if (this != &other) {
        sqlite3_finalize(stmt_);
        db_ = std::exchange(other.db_, nullptr);
        stmt_ = std::exchange(other.stmt_, nullptr);
    }
    return *this;
}

void statement::fail(int rc) const
{
    throw sqlite_error{sqlite3_extended_errcode(db_) != SQLITE_OK ? sqlite3_extended_errcode(db_) : rc,
                       errmsg(db_, rc), sql()};
}

statement& statement::bind(int index, std::int64_t value)
{
    if (const int rc = sqlite3_bind_int64(stmt_, index, value); rc != SQLITE_OK) {
        fail(rc);
    }
    return *this;
}

statement& statement::bind(int index, std::string_view value)
{
    if (const int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                                           SQLITE_UTF8);
        rc != SQLITE_OK) {
        fail(rc);
    }
    return *this;
}

statement& statement::bind(int index, std::nullptr_t)
{
    if (const int rc = sqlite3_bind_null(stmt_, index); rc != SQLITE_OK) {
        fail(rc);
    }
    return *this;
}

bool statement::step()
{
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) {
        return true;
    }
    if (rc == SQLITE_DONE) {
        return false;
    }
    // The statement must be reset before reuse after an error; the error itself is
    // read first, since reset may replace it.
    try {
        fail(rc);
    } catch (...) {
        sqlite3_reset(stmt_);
        throw;
    }
}

void statement::run()
{
    while (step()) {
    }
}

void statement::reset()
{
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

bool statement::column_is_null(int column) const
{
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t statement::column_int64(int column) const
{
    return sqlite3_column_int64(stmt_, column);
}

std::string statement::column_text(int column) const
{
    const auto* text = sqlite3_column_text(stmt_, column);
    const int size = sqlite3_column_bytes(stmt_, column);
    if (text == nullptr) {
        return {};
    }
    return std::string{reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)};
}

std::optional<std::int64_t> statement::column_optional_int64(int column) const
{
    if (column_is_null(column)) {
        return std::nullopt;
    }
    return column_int64(column);
}

std::optional<std::string> statement::column_optional_text(int column) const
{
    if (column_is_null(column)) {
        return std::nullopt;
    }
    return column_text(column);
}

std::string statement::sql() const
{
    const char* text = stmt_ != nullptr ? sqlite3_sql(stmt_) : nullptr;
    return text != nullptr ? text : "";
}

// --- transaction -----------------------------------------------------------------

transaction::transaction(database& db) : db_{db}
{
    db_.exec("BEGIN IMMEDIATE");
}

transaction::~transaction()
{
    if (!done_) {
        // Nothing to report from a destructor: if ROLLBACK fails the connection is
        // already outside a transaction (SQLite rolled back on its own).
        sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
}

void transaction::commit()
{
    db_.exec("COMMIT");
    done_ = true;
}

} // namespace stork::migrate
