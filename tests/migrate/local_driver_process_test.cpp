// The `local` platform driver's PostgreSQL addons against two real PostgreSQL 15 servers,
// one per region, started on free loopback ports: provisioning (and adopting) a
// database, backup in the source region, restore in the destination with its row
// counts checked, the drops.
#include "migrate/local_driver.hpp"

#include "migrate/pg_copy.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace stork::migrate {
namespace {

using stork::test::postgres_server;

const char* const source_schema = R"sql(
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL);
INSERT INTO customers (name) VALUES ('ada'), ('grace'), ('linus');
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers (id), note text);
INSERT INTO orders (customer_id, note) SELECT 1 + g % 3, 'order ' || g FROM generate_series(1, 2500) AS g;
CREATE SCHEMA billing;
CREATE TABLE billing.invoices (id int PRIMARY KEY, note text);
INSERT INTO billing.invoices VALUES (1, 'ünïcødé ✓');
)sql";

const char* const sample_sql = "SELECT (SELECT md5(string_agg(id || ':' || customer_id || ':' || note, ',' ORDER BY id))"
                               " FROM orders) || ' ' || (SELECT string_agg(name, ',' ORDER BY id) FROM customers)";

bool database_exists(const postgres_server& server, const std::string& name)
{
    return server.psql("SELECT count(*) FROM pg_database WHERE datname = '" + name + "'") == "1\n";
}

class local_driver_process : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        source_server_ = new postgres_server;
        target_server_ = new postgres_server;
    }
    static void TearDownTestSuite()
    {
        delete source_server_;
        delete target_server_;
        source_server_ = target_server_ = nullptr;
    }

    void SetUp() override
    {
        ASSERT_NE(source_server_->port(), 0);
        ASSERT_NE(target_server_->port(), 0);
        const auto region = [](const std::string& name, const postgres_server& server) {
            return config::region_config{.name = name,
                                         .domain = name + ".example.net",
                                         .driver = config::region_driver::local,
                                         .ingress = std::nullopt,
                                         .front_servers = {},
                                         .postgresql_url = server.url(),
                                         .addons = std::nullopt};
        };
        regions_.regions.emplace("osc-fr1", region("osc-fr1", *source_server_));
        regions_.regions.emplace("osc-secnum-fr1", region("osc-secnum-fr1", *target_server_));
    }

    std::unique_ptr<platform> open(const std::string& region)
    {
        return open_local_platform(db_, regions_.regions.at(region), dir_.path() / "backups");
    }

    // An imported source app whose postgresql addon is a database of the source server
    // (named after the test), loaded with source_schema; returns its addon.
    addon import_source(const std::string& app_name)
    {
        const std::string db_name = app_name.substr(0, app_name.find('-')) + "_src";
        source_server_->create_database(db_name);
        source_server_->psql(source_schema, db_name);
        const std::string yaml = "apps:\n  - name: " + app_name + "\n    region: osc-fr1\n    addons:\n"
                                 "      - {provider: postgresql, plan: starter-512, version: \"15\", url: \""
                                 + source_server_->url(db_name) + "\"}\n";
        import_inventory(db_, config::parse_inventory(yaml, "inventory.yaml"), regions_);
        const auto a = open("osc-fr1")->find_app(app_name);
        return a->addons.at(0);
    }

    static postgres_server* source_server_;
    static postgres_server* target_server_;
    stork::test::temp_dir dir_;
    std::filesystem::path db_ = dir_.path() / "control.db";
    config::control_config regions_;
};

postgres_server* local_driver_process::source_server_ = nullptr;
postgres_server* local_driver_process::target_server_ = nullptr;

const addon postgresql_like{.id = "", .provider = "postgresql", .plan = "starter-512", .version = "15", .url = ""};

TEST_F(local_driver_process, provisions_a_real_database_and_adopts_it_again)
{
    auto target = open("osc-secnum-fr1");
    target->create_app("prov-app", "mig-1");
    const auto made = target->provision_addon("prov-app", postgresql_like, "ad-src-1");
    const auto db_name = local_database_name("osc-secnum-fr1", "prov-app", "ad-src-1");
    EXPECT_EQ(made.url, target_server_->url(db_name));
    EXPECT_TRUE(database_exists(*target_server_, db_name));
    EXPECT_TRUE(target->has_backups(made));

    EXPECT_EQ(target->provision_addon("prov-app", postgresql_like, "ad-src-1"), made);
    // A resumed run in another process, whose record was lost before it was written:
    // the database is adopted, not created twice.
    open("osc-secnum-fr1")->delete_app("prov-app");
    EXPECT_FALSE(database_exists(*target_server_, db_name));   // delete_app drops it
    auto again = open("osc-secnum-fr1");
    again->create_app("prov-app", "mig-1");
    target_server_->create_database(db_name);
    target_server_->psql("CREATE TABLE kept (x int)", db_name);
    const auto adopted = again->provision_addon("prov-app", postgresql_like, "ad-src-1");
    EXPECT_EQ(adopted.url, made.url);
    EXPECT_EQ(target_server_->psql("SELECT count(*) FROM kept", db_name), "0\n");
}

TEST_F(local_driver_process, backup_and_restore_copy_the_rows_and_check_them)
{
    const auto source_addon = import_source("copy-app");
    auto source = open("osc-fr1");
    auto target = open("osc-secnum-fr1");
    EXPECT_FALSE(source->find_backup("copy-app", source_addon.id, "mig-1"));

    const auto b = source->create_backup("copy-app", source_addon.id, "mig-1");
    EXPECT_EQ(b.id.rfind("bk-", 0), 0u);
    EXPECT_EQ(b.addon_id, source_addon.id);
    EXPECT_EQ(b.location, (dir_.path() / "backups" / (b.id + ".dump")).string());
    EXPECT_TRUE(std::filesystem::is_regular_file(b.location));
    EXPECT_EQ(b.tables, (std::map<std::string, std::int64_t>{
                            {"billing.invoices", 1}, {"public.customers", 3}, {"public.orders", 2500}}));
    EXPECT_EQ(b.taken_at.size(), 20u) << b.taken_at;
    EXPECT_EQ(source->find_backup("copy-app", source_addon.id, "mig-1"), b);
    EXPECT_EQ(open("osc-fr1")->find_backup("copy-app", source_addon.id, "mig-1"), b);
    EXPECT_FALSE(source->find_backup("copy-app", source_addon.id, "mig-2"));
    EXPECT_FALSE(target->find_backup("copy-app", source_addon.id, "mig-1"));   // another region

    target->create_app("copy-app", "mig-1");
    const auto target_addon = target->provision_addon("copy-app", source_addon, source_addon.id);
    target->restore_backup("copy-app", target_addon.id, b);
    const auto target_db = local_database_name("osc-secnum-fr1", "copy-app", source_addon.id);
    EXPECT_EQ(target_server_->psql(sample_sql, target_db), source_server_->psql(sample_sql, "copy_src"));

    // A second restore of the same backup gives the same result (clean restore), even
    // over rows written in between.
    target_server_->psql("DELETE FROM orders WHERE id > 10; INSERT INTO customers (name) VALUES ('extra')", target_db);
    target->restore_backup("copy-app", target_addon.id, b);
    EXPECT_EQ(target_server_->psql(sample_sql, target_db), source_server_->psql(sample_sql, "copy_src"));

    // A second backup for the same key replaces the first, its file too.
    source_server_->psql("INSERT INTO billing.invoices VALUES (2, 'two')", "copy_src");
    const auto newer = source->create_backup("copy-app", source_addon.id, "mig-1");
    EXPECT_NE(newer.id, b.id);
    EXPECT_EQ(newer.tables.at("billing.invoices"), 2);
    EXPECT_FALSE(std::filesystem::exists(b.location));
    EXPECT_EQ(source->find_backup("copy-app", source_addon.id, "mig-1"), newer);
}

TEST_F(local_driver_process, a_restore_whose_counts_differ_names_the_tables)
{
    const auto source_addon = import_source("count-app");
    auto source = open("osc-fr1");
    auto target = open("osc-secnum-fr1");
    auto b = source->create_backup("count-app", source_addon.id, "mig-1");
    target->create_app("count-app", "mig-1");
    const auto target_addon = target->provision_addon("count-app", source_addon, source_addon.id);

    // A backup whose record says otherwise than its file (as a truncated dump would).
    b.tables["public.orders"] = 2499;
    try {
        target->restore_backup("count-app", target_addon.id, b);
        ADD_FAILURE() << "no error";
    } catch (const platform_error& e) {
        EXPECT_NE(std::string{e.what()}.find("public.orders (source 2499, target 2500)"), std::string::npos)
            << e.what();
    }
    b.tables["public.orders"] = 2500;

    // A table the backup does not have stays in the target, and is named.
    const auto target_db = local_database_name("osc-secnum-fr1", "count-app", source_addon.id);
    target_server_->psql("CREATE TABLE leftover (x int); INSERT INTO leftover VALUES (1)", target_db);
    try {
        target->restore_backup("count-app", target_addon.id, b);
        ADD_FAILURE() << "no error";
    } catch (const platform_error& e) {
        EXPECT_NE(std::string{e.what()}.find("public.leftover (source absent, target 1)"), std::string::npos)
            << e.what();
    }
}

TEST_F(local_driver_process, a_restore_whose_dump_file_is_gone_is_a_clear_error)
{
    const auto source_addon = import_source("gone-app");
    auto source = open("osc-fr1");
    auto target = open("osc-secnum-fr1");
    const auto b = source->create_backup("gone-app", source_addon.id, "mig-1");
    target->create_app("gone-app", "mig-1");
    const auto target_addon = target->provision_addon("gone-app", source_addon, source_addon.id);
    std::filesystem::remove(b.location);
    try {
        target->restore_backup("gone-app", target_addon.id, b);
        ADD_FAILURE() << "no error";
    } catch (const platform_error& e) {
        EXPECT_NE(std::string{e.what()}.find("the backup file " + b.location + " is missing"), std::string::npos)
            << e.what();
    }
    EXPECT_THROW(target->restore_backup("gone-app", "ad-no-such-addon", b), platform_error);
}

TEST_F(local_driver_process, a_backup_of_an_unreachable_database_is_a_platform_error)
{
    const std::string yaml = "apps:\n  - name: dead-app\n    region: osc-fr1\n    addons:\n"
                             "      - {provider: postgresql, plan: p, url: \"postgresql://app:s3cr3t@127.0.0.1:"
                             + std::to_string(source_server_->port()) + "/never_created\"}\n";
    import_inventory(db_, config::parse_inventory(yaml, "inventory.yaml"), regions_);
    auto source = open("osc-fr1");
    const auto a = *source->find_app("dead-app");
    try {
        source->create_backup("dead-app", a.addons.at(0).id, "mig-1");
        ADD_FAILURE() << "no error";
    } catch (const platform_error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("pg_dump of"), std::string::npos) << what;
        EXPECT_EQ(what.find("s3cr3t"), std::string::npos) << what;
    }
    EXPECT_FALSE(source->find_backup("dead-app", a.addons.at(0).id, "mig-1"));
    // No partial file is left behind.
    for (const auto& entry : std::filesystem::directory_iterator{dir_.path() / "backups"}) {
        ADD_FAILURE() << "left behind: " << entry.path();
    }
}

TEST_F(local_driver_process, delete_addon_drops_the_database_it_provisioned_only)
{
    const auto source_addon = import_source("drop-app");
    auto target = open("osc-secnum-fr1");
    target->create_app("drop-app", "mig-1");
    const auto made = target->provision_addon("drop-app", source_addon, source_addon.id);
    const auto db_name = local_database_name("osc-secnum-fr1", "drop-app", source_addon.id);
    ASSERT_TRUE(database_exists(*target_server_, db_name));
    target->delete_addon("drop-app", made.id);
    EXPECT_FALSE(database_exists(*target_server_, db_name));
    EXPECT_FALSE(target->find_addon("drop-app", source_addon.id));
    EXPECT_NO_THROW(target->delete_addon("drop-app", made.id));

    // The imported addon's database is the user's: its record goes, the database stays.
    auto source = open("osc-fr1");
    source->delete_addon("drop-app", source_addon.id);
    EXPECT_TRUE(source->find_app("drop-app")->addons.empty());
    EXPECT_TRUE(database_exists(*source_server_, "drop_src"));
}

TEST_F(local_driver_process, addons_provision_back_up_and_restore_concurrently)
{
    std::vector<addon> sources;
    for (const auto* name : {"par1-app", "par2-app", "par3-app"}) {
        sources.push_back(import_source(name));
    }
    auto source = open("osc-fr1");
    auto target = open("osc-secnum-fr1");
    for (const auto* name : {"par1-app", "par2-app", "par3-app"}) {
        target->create_app(name, "mig-1");
    }
    // One platform object per region, used by one thread per addon as the data step does.
    std::vector<std::string> errors(sources.size());
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < sources.size(); ++i) {
        threads.emplace_back([&, i] {
            try {
                const std::string app = "par" + std::to_string(i + 1) + "-app";
                const auto b = source->create_backup(app, sources[i].id, "mig-1");
                const auto made = target->provision_addon(app, sources[i], sources[i].id);
                target->restore_backup(app, made.id, b);
            } catch (const std::exception& e) {
                errors[i] = e.what();
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    for (std::size_t i = 0; i < sources.size(); ++i) {
        EXPECT_EQ(errors[i], "") << i;
        const std::string app = "par" + std::to_string(i + 1) + "-app";
        EXPECT_EQ(target_server_->psql(sample_sql, local_database_name("osc-secnum-fr1", app, sources[i].id)),
                  source_server_->psql(sample_sql, "par" + std::to_string(i + 1) + "_src"));
    }
}

} // namespace
} // namespace stork::migrate
