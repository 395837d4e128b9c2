#pragma once

// The data step for PostgreSQL addons (design.md §5, issue "data step copies them for
// real"): provision the target database on the destination region's
// `databases.postgresql` server, copy the source into it with pg_dump -Fc | pg_restore,
// and verify the row count of every table on both sides.
//
// No libpq: the PostgreSQL client programs (psql, pg_dump, pg_restore) run as child
// processes, found on PATH, else in /usr/lib/postgresql/15/bin.
//
// Threads: every function here may be called from several threads at once (the caller
// copies an app's addons concurrently). They keep no shared mutable state: each call
// spawns its own children (posix_spawn, close-on-exec pipes), writes its dump to a file
// of its own (mkstemp in work_dir) and removes it. Two concurrent copies must not target
// the same database: pg_restore --clean would interleave.
//
// Passwords: a URL's password never appears on a command line (it is handed to the
// child as PGPASSWORD) nor in an error message (URLs are shown redacted,
// postgresql://user:***@host:port/db).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace stork::migrate {

// A failure to reach a server, to run a client program, or an SQL error. Its message
// carries the program's stderr, with the URL redacted.
class pg_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// "postgresql://user:***@host:port/db" for a URL with a password; the URL itself when it
// has none; "(invalid URL)" when it does not parse.
std::string redact_url(std::string_view url);

// Database names stork provisions: 1 to 63 characters (PostgreSQL's NAMEDATALEN - 1)
// among [A-Za-z0-9_-], starting with a letter or '_'. Quoting would make anything safe
// in SQL; the limit keeps names that also work unquoted in URLs, shells and logs.
bool valid_database_name(std::string_view name);

// Creates database `db_name` on the server `server_url` points to (its path names the
// maintenance database it connects to, e.g. /postgres) unless it exists already (then
// it is adopted: provisioning is idempotent, and two concurrent calls for the same name
// both succeed). Returns the new database's URL: `server_url` with its path replaced by
// /db_name (user, password, host, port and query kept).
// Throws std::invalid_argument for a bad name or URL, pg_error when the server fails.
std::string provision_database(const std::string& server_url, const std::string& db_name,
                               std::chrono::milliseconds timeout = std::chrono::minutes{1});

// The row counts of one table, "schema.table" (identifiers quoted as PostgreSQL's
// quote_ident does). -1: the table is absent on that side.
struct table_rows {
    std::string table;
    std::int64_t source = -1;
    std::int64_t target = -1;
};

struct copy_result {
    // Every user table of either side, sorted by name; empty when the copy itself failed.
    std::vector<table_rows> tables;
    // Empty on success; otherwise what failed: the program and its stderr, or the
    // tables whose counts differ.
    std::string error;

    bool ok() const noexcept { return error.empty(); }
};

// The parts of copy_database, for a driver whose backup and restore are two separate
// calls (the local driver's create_backup / restore_backup). Each throws pg_error with
// the program's stderr (URL redacted) when it fails, std::invalid_argument for a bad URL.

// The row count of every user table ("schema.table"), in one statement and so one snapshot.
std::map<std::string, std::int64_t> count_table_rows(const std::string& url,
                                                     std::chrono::milliseconds timeout = std::chrono::minutes{10});

// pg_dump -Fc --no-owner --no-privileges of `source_url` into `file` (overwritten), and
// then the row count of every table. pg_dump's snapshot is its own: the counts describe
// the file only when nobody writes during the call (the data step stops the app first).
std::map<std::string, std::int64_t> dump_database(const std::string& source_url, const std::filesystem::path& file,
                                                  std::chrono::milliseconds timeout = std::chrono::hours{1});

// pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction of
// `file` into the (existing) database at `target_url`: what the target held of the
// dump's objects is replaced, and a failed restore leaves the target as it was.
void restore_database(const std::filesystem::path& file, const std::string& target_url,
                      std::chrono::milliseconds timeout = std::chrono::hours{1});

// Merges two sets of counts into table_rows sorted by name; `differences` receives the
// tables whose counts differ ("public.t (source 3, target absent), ..."), empty if none.
std::vector<table_rows> compare_table_rows(const std::map<std::string, std::int64_t>& source,
                                           const std::map<std::string, std::int64_t>& target,
                                           std::string& differences);

// DROP DATABASE IF EXISTS db_name WITH (FORCE) on the server `server_url` points to
// (connections to it are ended): a database already gone is a success.
// Throws std::invalid_argument for a bad name or URL, pg_error when the server fails.
void drop_database(const std::string& server_url, const std::string& db_name,
                   std::chrono::milliseconds timeout = std::chrono::minutes{1});

// Copies the database at `source_url` into the (existing) database at `target_url`:
//   pg_dump -Fc --no-owner --no-privileges -f FILE SOURCE
//   pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction -d TARGET FILE
// then counts the rows of every user table on both sides (one statement, hence one
// snapshot, per side) and compares. Re-running it onto the same target replaces what
// the previous run restored (clean restore). --single-transaction makes a failed
// restore leave the target as it was. The dump file lives in `work_dir` (created if
// missing) only during the call. `timeout` bounds the whole call; a program still
// running then is killed. Never throws for a failure of the copy: see copy_result.
copy_result copy_database(const std::string& source_url, const std::string& target_url,
                          const std::filesystem::path& work_dir,
                          std::chrono::milliseconds timeout = std::chrono::hours{1});

} // namespace stork::migrate
