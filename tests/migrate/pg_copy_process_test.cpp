// The data step's PostgreSQL copy against two real PostgreSQL 15 servers (source and
// target region), started by the tests on free loopback ports (design.md §7).
#include "migrate/pg_copy.hpp"

#include "tests/support/postgres_server.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <thread>

namespace stork::migrate {
namespace {

using stork::test::postgres_server;

// The source app's schema: a 10,000-row table with a foreign key, a sequence that has
// moved, a table in a schema other than public, and a name that needs quoting.
const char* const source_schema = R"sql(
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL);
INSERT INTO customers (name) VALUES ('ada'), ('grace'), ('linus');
CREATE TABLE orders (id bigserial PRIMARY KEY,
                     customer_id int NOT NULL REFERENCES customers (id),
                     amount numeric(10, 2) NOT NULL, note text);
INSERT INTO orders (customer_id, amount, note)
  SELECT 1 + g % 3, g * 1.25, 'order ' || g FROM generate_series(1, 10000) AS g;
CREATE SEQUENCE invoice_numbers START 1000;
SELECT nextval('invoice_numbers') FROM generate_series(1, 5);
CREATE SCHEMA billing;
CREATE TABLE billing.invoices (id int PRIMARY KEY, note text);
INSERT INTO billing.invoices VALUES (1, E'tab\there, quote '' and "double"'), (2, 'ünïcødé ✓');
CREATE TABLE "Mixed Case" (x int);
INSERT INTO "Mixed Case" VALUES (1), (2);
)sql";

// A fingerprint of the data a reader would see, identical on both sides after a copy.
const char* const sample_sql =
    "SELECT (SELECT md5(string_agg(id || ':' || customer_id || ':' || amount || ':' || note, ',' ORDER BY id)) FROM orders)"
    " || ' ' || (SELECT string_agg(id || '=' || note, ';' ORDER BY id) FROM billing.invoices)"
    " || ' ' || (SELECT string_agg(name, ',' ORDER BY id) FROM customers)";

std::int64_t rows_of(const copy_result& r, const std::string& table)
{
    for (const auto& t : r.tables) {
        if (t.table == table) {
            EXPECT_EQ(t.source, t.target) << table;
            return t.target;
        }
    }
    ADD_FAILURE() << table << " not in the copy's result";
    return -1;
}

// The real uid a process runs as, from /proc.
std::string real_uid(pid_t pid)
{
    std::ifstream status{"/proc/" + std::to_string(pid) + "/status"};
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("Uid:", 0) == 0) {
            std::istringstream fields{line.substr(4)};
            std::string uid;
            fields >> uid;
            return uid;
        }
    }
    return {};
}

class pg_copy_process : public ::testing::Test {
protected:
    // Two servers for the whole suite: initdb costs about a second each.
    static void SetUpTestSuite()
    {
        source_ = new postgres_server;
        target_ = new postgres_server;
    }
    static void TearDownTestSuite()
    {
        delete source_;
        delete target_;
        source_ = target_ = nullptr;
    }
    void SetUp() override
    {
        ASSERT_NE(source_->port(), 0);
        ASSERT_NE(target_->port(), 0);
    }

    // A fresh source database (named after the test) loaded with source_schema.
    std::string make_source(const std::string& name)
    {
        source_->create_database(name);
        source_->psql(source_schema, name);
        return source_->url(name);
    }

    static postgres_server* source_;
    static postgres_server* target_;
    stork::test::temp_dir work_;
};

postgres_server* pg_copy_process::source_ = nullptr;
postgres_server* pg_copy_process::target_ = nullptr;

TEST_F(pg_copy_process, servers_run_unprivileged)
{
    // CI runs the tests as root; PostgreSQL refuses root, the fixture drops to nobody.
    for (const auto* server : {source_, target_}) {
        EXPECT_EQ(real_uid(server->pid()), std::to_string(server->server_uid()));
        if (geteuid() == 0) {
            EXPECT_EQ(server->server_uid(), 65534u);
        }
    }
}

TEST_F(pg_copy_process, provisions_copies_and_verifies)
{
    const auto source = make_source("copy_app");
    const auto target = provision_database(target_->url(), "copy_app_target");
    EXPECT_EQ(target, target_->url("copy_app_target"));

    const auto result = copy_database(source, target, work_.path());
    ASSERT_TRUE(result.ok()) << result.error;
    ASSERT_EQ(result.tables.size(), 4u);
    EXPECT_EQ(rows_of(result, "public.orders"), 10000);
    EXPECT_EQ(rows_of(result, "public.customers"), 3);
    EXPECT_EQ(rows_of(result, "billing.invoices"), 2);
    EXPECT_EQ(rows_of(result, "public.\"Mixed Case\""), 2);

    EXPECT_EQ(target_->psql(sample_sql, "copy_app_target"), source_->psql(sample_sql, "copy_app"));
    // The sequences continue where the source's were, the foreign key came along.
    EXPECT_EQ(target_->psql("SELECT nextval('invoice_numbers')", "copy_app_target"), "1005\n");
    EXPECT_EQ(target_->psql("SELECT nextval('orders_id_seq')", "copy_app_target"), "10001\n");
    EXPECT_EQ(target_->psql("SELECT conname FROM pg_constraint WHERE contype = 'f'", "copy_app_target"),
              "orders_customer_id_fkey\n");
    // The dump file was the call's own and is gone.
    EXPECT_TRUE(std::filesystem::is_empty(work_.path()));
}

TEST_F(pg_copy_process, a_second_copy_replaces_the_first_and_sees_source_changes)
{
    const auto source = make_source("again_app");
    const auto target = provision_database(target_->url(), "again_target");
    // Provisioning adopts an existing database.
    EXPECT_EQ(provision_database(target_->url(), "again_target"), target);

    const auto first = copy_database(source, target, work_.path());
    ASSERT_TRUE(first.ok()) << first.error;
    const auto same = copy_database(source, target, work_.path());
    ASSERT_TRUE(same.ok()) << same.error;
    ASSERT_EQ(same.tables.size(), first.tables.size());
    for (std::size_t i = 0; i < same.tables.size(); ++i) {
        EXPECT_EQ(same.tables[i].table, first.tables[i].table);
        EXPECT_EQ(same.tables[i].target, first.tables[i].target);
    }

    source_->psql("INSERT INTO orders (customer_id, amount, note) SELECT 2, g, 'late ' || g FROM generate_series(1, 7) g;"
                  "DELETE FROM billing.invoices WHERE id = 2;"
                  "UPDATE customers SET name = 'grace hopper' WHERE id = 2;"
                  "CREATE TABLE billing.payments (id int PRIMARY KEY); INSERT INTO billing.payments VALUES (1), (2), (3);",
                  "again_app");
    const auto second = copy_database(source, target, work_.path());
    ASSERT_TRUE(second.ok()) << second.error;
    EXPECT_EQ(rows_of(second, "public.orders"), 10007);
    EXPECT_EQ(rows_of(second, "billing.invoices"), 1);
    EXPECT_EQ(rows_of(second, "billing.payments"), 3);
    EXPECT_EQ(target_->psql(sample_sql, "again_target"), source_->psql(sample_sql, "again_app"));
}

TEST_F(pg_copy_process, a_table_only_on_the_target_is_named)
{
    const auto source = make_source("extra_app");
    const auto target = provision_database(target_->url(), "extra_target");
    target_->psql("CREATE TABLE leftover (x int); INSERT INTO leftover VALUES (1);", "extra_target");
    const auto result = copy_database(source, target, work_.path());
    EXPECT_FALSE(result.ok());
    EXPECT_NE(result.error.find("public.leftover (source absent, target 1)"), std::string::npos) << result.error;
}

TEST_F(pg_copy_process, several_addons_copy_concurrently)
{
    constexpr int addons = 3;
    std::vector<std::string> sources;
    std::vector<std::string> targets;
    for (int i = 0; i < addons; ++i) {
        sources.push_back(make_source("many_" + std::to_string(i)));
        targets.push_back(provision_database(target_->url(), "many_target_" + std::to_string(i)));
    }
    std::vector<copy_result> results(addons);
    std::vector<std::thread> threads;
    for (int i = 0; i < addons; ++i) {
        // One shared work_dir: each call's dump file is its own.
        threads.emplace_back([&, i] { results[i] = copy_database(sources[i], targets[i], work_.path()); });
    }
    for (auto& t : threads) {
        t.join();
    }
    for (int i = 0; i < addons; ++i) {
        ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].error;
        EXPECT_EQ(rows_of(results[i], "public.orders"), 10000);
    }
}

TEST_F(pg_copy_process, an_unreachable_source_is_a_clear_error_without_the_password)
{
    // A bound socket that does not listen: connections to it are refused, and no other
    // process can take the port during the test.
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    const std::string port = std::to_string(ntohs(addr.sin_port));

    const std::string source = "postgresql://app:s3cr3t-pw@127.0.0.1:" + port + "/gone";
    const auto target = provision_database(target_->url(), "unreachable_target");
    const auto result = copy_database(source, target, work_.path());
    EXPECT_FALSE(result.ok());
    EXPECT_TRUE(result.tables.empty());
    EXPECT_NE(result.error.find("pg_dump of postgresql://app:***@127.0.0.1:" + port + "/gone failed"), std::string::npos)
        << result.error;
    EXPECT_NE(result.error.find("refused"), std::string::npos) << result.error;
    EXPECT_EQ(result.error.find("s3cr3t-pw"), std::string::npos) << result.error;

    try {
        provision_database("postgresql://admin:s3cr3t-pw@127.0.0.1:" + port + "/postgres", "some_db");
        ADD_FAILURE() << "provisioning on an unreachable server succeeded";
    } catch (const pg_error& e) {
        EXPECT_EQ(std::string{e.what()}.find("s3cr3t-pw"), std::string::npos) << e.what();
        EXPECT_NE(std::string{e.what()}.find("postgresql://admin:***@127.0.0.1:" + port), std::string::npos) << e.what();
    }
    close(fd);
}

TEST_F(pg_copy_process, a_bad_database_name_is_refused)
{
    EXPECT_THROW(provision_database(target_->url(), "x\"; DROP DATABASE postgres; --"), std::invalid_argument);
    EXPECT_THROW(provision_database(target_->url(), "has space"), std::invalid_argument);
    EXPECT_EQ(target_->psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'x%' OR datname = 'has space'"), "0\n");
}

TEST_F(pg_copy_process, a_missing_target_database_is_a_restore_error)
{
    const auto source = make_source("notarget_app");
    const auto result = copy_database(source, target_->url("never_provisioned"), work_.path());
    EXPECT_FALSE(result.ok());
    EXPECT_NE(result.error.find("pg_restore into"), std::string::npos) << result.error;
    EXPECT_NE(result.error.find("never_provisioned"), std::string::npos) << result.error;
}

TEST_F(pg_copy_process, dump_and_restore_are_the_copy_in_two_calls)
{
    const auto source = make_source("split_app");
    const auto file = work_.path() / "split.dump";
    const auto counts = dump_database(source, file);
    EXPECT_EQ(counts.at("public.orders"), 10000);
    EXPECT_EQ(counts.at("billing.invoices"), 2);
    ASSERT_TRUE(std::filesystem::exists(file));

    const auto target = provision_database(target_->url(), "split_app_target");
    // The target holds the same tables with other rows (a previous restore, since changed).
    target_->psql(std::string{source_schema}
                      + "DELETE FROM orders WHERE id > 5; INSERT INTO customers (name) VALUES ('x');",
                  "split_app_target");
    restore_database(file, target);
    EXPECT_EQ(count_table_rows(target), counts);   // the target's rows replaced
    EXPECT_EQ(target_->psql(sample_sql, "split_app_target"), source_->psql(sample_sql, "split_app"));

    std::string differences;
    auto changed = counts;
    changed["public.orders"] = 9;
    compare_table_rows(changed, count_table_rows(target), differences);
    EXPECT_EQ(differences, "public.orders (source 9, target 10000)");
}

TEST_F(pg_copy_process, a_restore_of_a_missing_file_is_a_pg_error)
{
    const auto target = provision_database(target_->url(), "nofile_target");
    try {
        restore_database(work_.path() / "gone.dump", target);
        ADD_FAILURE() << "no error";
    } catch (const pg_error& e) {
        EXPECT_NE(std::string{e.what()}.find("pg_restore into"), std::string::npos) << e.what();
    }
}

TEST_F(pg_copy_process, drop_database_drops_and_a_second_drop_succeeds)
{
    const auto url = provision_database(target_->url(), "dropped_db");
    target_->psql("CREATE TABLE t (x int)", "dropped_db");
    drop_database(target_->url(), "dropped_db");
    EXPECT_EQ(target_->psql("SELECT count(*) FROM pg_database WHERE datname = 'dropped_db'"), "0\n");
    EXPECT_NO_THROW(drop_database(target_->url(), "dropped_db"));
    EXPECT_THROW(drop_database(target_->url(), "x\"; --"), std::invalid_argument);
}

} // namespace
} // namespace stork::migrate
