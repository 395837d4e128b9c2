#pragma once

// A small RAII layer over the SQLite C API: one connection (`database`), prepared
// statements (`statement`) and `BEGIN IMMEDIATE` transactions (`transaction`).
//
// A connection is opened with SQLITE_OPEN_NOMUTEX: it belongs to one thread at a time
// (the caller's), so SQLite's own per-connection mutex would only cost. Other threads
// or processes open their own connection; WAL mode lets readers proceed while one
// writer commits, and busy_timeout makes writers wait for each other instead of
// failing at once with SQLITE_BUSY.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace stork::migrate {

// Every SQLite failure: the (extended) result code, SQLite's message and the SQL text
// that failed (empty when the failure was not about a statement, e.g. open).
class sqlite_error : public std::runtime_error {
public:
    sqlite_error(int code, const std::string& message, std::string sql);

    int code() const noexcept { return code_; }          // extended result code
    int primary_code() const noexcept { return code_ & 0xff; }
    const std::string& sql() const noexcept { return sql_; }

private:
    int code_;
    std::string sql_;
};

class database {
public:
    // Opens (creating it if missing) the database file and sets, on this connection:
    // journal_mode=WAL, synchronous=FULL (a commit is on disk before it returns, so an
    // answer we give never refers to a change a crash could lose), foreign_keys=ON and
    // the busy timeout.
    explicit database(const std::filesystem::path& path,
                      std::chrono::milliseconds busy_timeout = std::chrono::seconds{10});
    ~database();
    database(database&& other) noexcept;
    database& operator=(database&& other) noexcept;
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    // Runs one or more statements that return no rows that matter (DDL, pragmas).
    void exec(std::string_view sql);

    // The first column of the first row of `sql`, as text (empty when no row / NULL).
    std::string query_text(std::string_view sql);

    // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
    std::int64_t changes() const noexcept;

    sqlite3* handle() const noexcept { return db_; }

private:
    sqlite3* db_ = nullptr;
};

// A prepared statement. Indexes are SQLite's: 1-based for bind, 0-based for columns.
class statement {
public:
    statement(database& db, std::string_view sql);
    ~statement();
    statement(statement&& other) noexcept;
    statement& operator=(statement&& other) noexcept;
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;

    statement& bind(int index, std::int64_t value);
    statement& bind(int index, std::string_view value);   // copied (SQLITE_TRANSIENT)
    statement& bind(int index, std::nullptr_t);
    // An empty optional binds NULL. A template, so that a string literal or a
    // std::string picks the string_view overload without ambiguity.
    template <class T>
    statement& bind(int index, const std::optional<T>& value)
    {
        if (value) {
            return bind(index, *value);
        }
        return bind(index, nullptr);
    }

    // Steps once: true when a row is available, false when the statement is done.
    bool step();
    // Steps a statement that returns no row (INSERT, UPDATE, DELETE) to completion.
    void run();
    // Back to the start, bindings cleared, so the statement can be run again.
    void reset();

    bool column_is_null(int column) const;
    std::int64_t column_int64(int column) const;
    std::string column_text(int column) const;   // NULL reads as ""
    std::optional<std::int64_t> column_optional_int64(int column) const;
    std::optional<std::string> column_optional_text(int column) const;

    std::string sql() const;

private:
    [[noreturn]] void fail(int rc) const;

    sqlite3* db_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE at construction: the write lock is taken up front, so two writers
// never both read and then fail to upgrade (SQLITE_BUSY mid-transaction, which
// busy_timeout cannot wait out). Rolled back in the destructor unless committed.
class transaction {
public:
    explicit transaction(database& db);
    ~transaction();
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;

    void commit();

private:
    database& db_;
    bool done_ = false;
};

} // namespace stork::migrate
