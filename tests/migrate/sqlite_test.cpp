// The SQLite wrapper: open pragmas, binding and reading every type, errors that carry
// the message and the SQL, transactions that roll back unless committed.
#include "migrate/sqlite.hpp"

#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sqlite3.h>

namespace stork::migrate {
namespace {

class sqlite : public ::testing::Test {
protected:
    test::temp_dir dir_;
    std::filesystem::path path_ = dir_.path() / "test.db";
};

TEST_F(sqlite, open_sets_wal_full_sync_and_foreign_keys)
{
    database db{path_};
    EXPECT_EQ(db.query_text("PRAGMA journal_mode"), "wal");
    EXPECT_EQ(db.query_text("PRAGMA synchronous"), "2");   // FULL
    EXPECT_EQ(db.query_text("PRAGMA foreign_keys"), "1");
    EXPECT_EQ(db.query_text("PRAGMA busy_timeout"), "10000");
}

TEST_F(sqlite, open_failure_names_the_file)
{
    try {
        database db{dir_.path() / "missing-folder" / "x.db"};
        FAIL() << "opened a file in a missing folder";
    } catch (const sqlite_error& e) {
        EXPECT_EQ(e.primary_code(), SQLITE_CANTOPEN);
        EXPECT_NE(std::string{e.what()}.find("missing-folder"), std::string::npos) << e.what();
    }
}

TEST_F(sqlite, binds_and_reads_every_type)
{
    database db{path_};
    db.exec("CREATE TABLE t (i INTEGER, s TEXT, n TEXT, oi INTEGER, os TEXT)");
    statement insert{db, "INSERT INTO t VALUES (?, ?, ?, ?, ?)"};
    insert.bind(1, std::int64_t{1} << 40).bind(2, "héllo").bind(3, nullptr);
    insert.bind(4, std::optional<std::int64_t>{}).bind(5, std::optional<std::string>{"set"});
    insert.run();
    EXPECT_EQ(db.changes(), 1);
    insert.reset();
    insert.bind(1, std::int64_t{-1}).bind(2, std::string{"two"}).bind(3, nullptr);
    insert.bind(4, std::optional<std::int64_t>{7}).bind(5, std::optional<std::string>{});
    insert.run();

    statement select{db, "SELECT i, s, n, oi, os FROM t ORDER BY rowid"};
    ASSERT_TRUE(select.step());
    EXPECT_EQ(select.column_int64(0), std::int64_t{1} << 40);
    EXPECT_EQ(select.column_text(1), "héllo");
    EXPECT_TRUE(select.column_is_null(2));
    EXPECT_EQ(select.column_text(2), "");
    EXPECT_EQ(select.column_optional_int64(3), std::nullopt);
    EXPECT_EQ(select.column_optional_text(4), "set");
    ASSERT_TRUE(select.step());
    EXPECT_EQ(select.column_int64(0), -1);
    EXPECT_EQ(select.column_text(1), "two");
    EXPECT_EQ(select.column_optional_int64(3), 7);
    EXPECT_EQ(select.column_optional_text(4), std::nullopt);
    EXPECT_FALSE(select.step());
}

TEST_F(sqlite, errors_carry_the_message_and_the_sql)
{
    database db{path_};
    try {
        statement st{db, "SELECT * FROM nowhere"};
        FAIL() << "prepared a query on a missing table";
    } catch (const sqlite_error& e) {
        EXPECT_EQ(e.sql(), "SELECT * FROM nowhere");
        EXPECT_NE(std::string{e.what()}.find("no such table: nowhere"), std::string::npos) << e.what();
    }

    db.exec("CREATE TABLE u (k TEXT PRIMARY KEY)");
    statement insert{db, "INSERT INTO u VALUES (?)"};
    insert.bind(1, "a").run();
    insert.reset();
    insert.bind(1, "a");
    try {
        insert.run();
        FAIL() << "inserted a duplicate key";
    } catch (const sqlite_error& e) {
        EXPECT_EQ(e.code(), SQLITE_CONSTRAINT_PRIMARYKEY);
        EXPECT_EQ(e.sql(), "INSERT INTO u VALUES (?)");
        EXPECT_NE(std::string{e.what()}.find("UNIQUE constraint failed: u.k"), std::string::npos) << e.what();
    }
    // The statement is usable again after the error.
    insert.reset();
    insert.bind(1, "b").run();
    EXPECT_EQ(db.query_text("SELECT count(*) FROM u"), "2");
}

TEST_F(sqlite, transaction_rolls_back_unless_committed)
{
    database db{path_};
    db.exec("CREATE TABLE t (v INTEGER)");
    {
        transaction tx{db};
        db.exec("INSERT INTO t VALUES (1)");
    }
    EXPECT_EQ(db.query_text("SELECT count(*) FROM t"), "0");
    {
        transaction tx{db};
        db.exec("INSERT INTO t VALUES (2)");
        tx.commit();
    }
    EXPECT_EQ(db.query_text("SELECT group_concat(v) FROM t"), "2");
    try {
        transaction tx{db};
        db.exec("INSERT INTO t VALUES (3)");
        throw std::runtime_error{"side effect failed"};
    } catch (const std::runtime_error&) {
    }
    EXPECT_EQ(db.query_text("SELECT group_concat(v) FROM t"), "2");
}

TEST_F(sqlite, immediate_transaction_holds_the_write_lock)
{
    database a{path_};
    database b{path_, std::chrono::milliseconds{50}};
    a.exec("CREATE TABLE t (v INTEGER)");
    transaction tx{a};
    try {
        transaction other{b};
        FAIL() << "two writers at once";
    } catch (const sqlite_error& e) {
        EXPECT_EQ(e.primary_code(), SQLITE_BUSY);
    }
    // Readers are not blocked by the writer (WAL).
    EXPECT_EQ(b.query_text("SELECT count(*) FROM t"), "0");
    tx.commit();
}

TEST_F(sqlite, statements_and_databases_move)
{
    database db{path_};
    database moved{std::move(db)};
    statement st{moved, "SELECT 42"};
    statement other = std::move(st);
    ASSERT_TRUE(other.step());
    EXPECT_EQ(other.column_int64(0), 42);
    EXPECT_EQ(other.sql(), "SELECT 42");
}

} // namespace
} // namespace stork::migrate
