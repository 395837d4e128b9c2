// The migration flow end to end (issue 7 §6), through the real `stork` binary, on one
// machine, every part real:
//
//   stork (control, local driver) ──admin API──▶ storkd (old region's front server)
//        │  state: SQLite in a temp folder          │ :http  Host shop-N.example.com
//        │                                          ├─ before finalize ─▶ old router (origin, plain HTTP)
//        │                                          └─ after ──TLS, SNI kept──▶ new region's ingress
//        ├─ pg_dump / pg_restore ─▶ PostgreSQL "old region" (the app's data)    (origin, TLS, our CA)
//        │                          PostgreSQL "new region" (databases.postgresql)
//        └─ DNS advice ───────────▶ knotd (example.com, test.)
//
// Every test migrates an app of its own (shop-N, shop-N.example.com, database shop_N) so
// that the shared servers never carry one test's state into another.
#include "migrate/local_driver.hpp"
#include "config/control_config.hpp"
#include "tests/dnscheck/knot_fixture.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/origin_instance.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/storkd_instance.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_certs.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>

namespace stork::control {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string token = "e2e-admin-token-0123456789abcdef";

std::string example_zone()
{
    std::string z = "$TTL 300\n"
                    "@ SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 60\n"
                    "@ NS ns.example.com.\n"
                    "ns A 127.0.0.1\n";
    for (int i = 1; i <= 40; ++i) {
        const auto n = std::to_string(i);
        z += "shop-" + n + " 3600 CNAME shop-" + n + ".osc-fr1.test.\n";
    }
    return z;
}

std::string test_zone()
{
    return "$TTL 300\n"
           "@ SOA ns.test. hostmaster.test. 1 3600 600 86400 60\n"
           "@ NS ns.test.\n"
           "ns A 127.0.0.1\n"
           "*.osc-fr1 60 A 127.0.0.10\n"
           "*.osc-secnum-fr1 60 A 127.0.0.20\n";
}

// The servers every test shares, started once.
struct shared_servers {
    test::temp_dir dir;
    test::test_ca ca{"stork e2e CA"};
    std::unique_ptr<test::origin_instance> old_router;   // the old region's own router
    std::unique_ptr<test::origin_instance> new_ingress;  // the new region's ingress (TLS)
    std::unique_ptr<test::storkd_instance> storkd;       // the old region's front server
    test::postgres_server pg_old;
    test::postgres_server pg_new;
    std::unique_ptr<dnscheck::test::knot_server> knot;

    shared_servers()
    {
        const auto certs = dir.path() / "origin-certs";
        fs::create_directories(certs);
        const auto leaf = ca.issue(certs, "ingress", {.sans = {"*.example.com", "*.osc-secnum-fr1.test"}});
        old_router = std::make_unique<test::origin_instance>();
        new_ingress = std::make_unique<test::origin_instance>(
            test::origin_options{.tls = {{"*.example.com", leaf.crt, leaf.key}}});
        dir.write("admin.token", token + "\n");
        const auto front_certs = dir.path() / "front-certs";
        fs::create_directories(front_certs);
        ca.issue(front_certs, "front", {.sans = {"*.example.com", "*.osc-fr1.test"}});
        const auto config = dir.write(
            "storkd.yaml",
            "node: e2e-front\n"
            "workers: 1\n"
            "listen:\n"
            "  http: [\"127.0.0.1:0\"]\n"
            "  https: [\"127.0.0.1:0\"]\n"
            "admin:\n"
            "  listen: \"127.0.0.1:0\"\n"
            "  token_file: admin.token\n"
            "tls:\n"
            "  certificates: \"" + front_certs.string() + "\"\n"
            "  default: front\n"
            "upstream:\n"
            "  ca_file: \"" + ca.certificate().string() + "\"\n"
            "  connect_timeout: 2s\n"
            "fallback:\n"
            "  http: \"127.0.0.1:" + std::to_string(old_router->http_port()) + "\"\n"
            "rules:\n"
            "  path: rules\n"
            "access_log: \"off\"\n");
        storkd = std::make_unique<test::storkd_instance>(config);
        knot = std::make_unique<dnscheck::test::knot_server>(std::vector<dnscheck::test::knot_zone>{
            {"example.com", example_zone()}, {"test", test_zone()}});
    }

    std::string not_up() const
    {
        if (old_router->http_port() == 0 || new_ingress->https_port() == 0) {
            return "an origin did not start";
        }
        if (storkd->admin_port() == 0) {
            return "storkd did not start";
        }
        if (pg_old.port() == 0 || pg_new.port() == 0) {
            return "PostgreSQL did not start";
        }
        if (knot->port() == 0) {
            return "knotd did not start";
        }
        return {};
    }
};

std::atomic<int> next_app{1};

std::string header(const test::http_reply& r, const std::string& name)
{
    const auto it = r.headers.find(name);
    return it == r.headers.end() ? std::string{"(absent)"} : it->second;
}

class migration_e2e_process : public ::testing::Test {
protected:
    static void SetUpTestSuite() { servers_ = new shared_servers; }
    static void TearDownTestSuite()
    {
        delete servers_;
        servers_ = nullptr;
    }

    void SetUp() override
    {
        if (const auto why = servers_->not_up(); !why.empty()) {
            FAIL() << why;
        }
        n_ = next_app++;
        app_ = "shop-" + std::to_string(n_);
        domain_ = app_ + ".example.com";
        db_ = "shop_" + std::to_string(n_);
        auto& pg = servers_->pg_old;
        pg.create_database(db_);
        pg.psql("CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL);"
                "INSERT INTO orders (item) SELECT 'item ' || g FROM generate_series(1, 250) g;"
                "CREATE TABLE customers (id int PRIMARY KEY, name text);"
                "INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace');",
                db_);
        write_control(servers_->storkd->admin_port());
        dir_.write("inventory.yaml",
                   "apps:\n"
                   "  - name: " + app_ + "\n"
                   "    region: osc-fr1\n"
                   "    deployment: {id: d-1, status: success, image: \"registry.local/" + app_ + ":1\"}\n"
                   "    domains: [" + domain_ + "]\n"
                   "    env: {RAILS_ENV: production}\n"
                   "    formation: [{name: web, amount: 2, size: M}]\n"
                   "    collaborators: [{email: a@example.com, status: accepted}]\n"
                   "    scm: {type: github, repo: example/" + app_ + ", auto_deploy: true}\n"
                   "    addons:\n"
                   "      - {provider: postgresql, plan: starter-512, version: \"15\", url: \"" +
                       servers_->pg_old.url(db_) + "\"}\n");
        const auto imported = stork({"platform", "import", (dir_.path() / "inventory.yaml").string()});
        ASSERT_EQ(imported.status.code, 0) << imported.out << imported.err;
    }

    // The control configuration; `admin_port` is where the old region's front server is.
    void write_control(std::uint16_t admin_port)
    {
        dir_.write("admin.token", token + "\n");
        dir_.write("control.yaml",
                   "state: state/control.db\n"
                   "regions:\n"
                   "  osc-fr1:\n"
                   "    domain: osc-fr1.test\n"
                   "    driver: local\n"
                   "    front_servers:\n"
                   "      - admin: \"http://127.0.0.1:" + std::to_string(admin_port) + "\"\n"
                   "        token_file: admin.token\n"
                   "    databases:\n"
                   "      postgresql: \"" + servers_->pg_old.url() + "\"\n"
                   "  osc-secnum-fr1:\n"
                   "    domain: osc-secnum-fr1.test\n"
                   "    driver: local\n"
                   "    ingress: \"127.0.0.1:" + std::to_string(servers_->new_ingress->https_port()) + "\"\n"
                   "    databases:\n"
                   "      postgresql: \"" + servers_->pg_new.url() + "\"\n"
                   "    front_servers: []\n"
                   "dns:\n"
                   "  resolvers: [\"" + servers_->knot->server() + "\"]\n");
    }

    test::run_result stork(std::vector<std::string> args, std::vector<std::pair<std::string, std::string>> env = {})
    {
        std::vector<std::string> argv{test::binary("stork").string(), "--config",
                                      (dir_.path() / "control.yaml").string()};
        argv.insert(argv.end(), args.begin(), args.end());
        return test::run(argv, 120s, std::move(env));
    }
    test::run_result app_command(std::vector<std::string> args,
                                 std::vector<std::pair<std::string, std::string>> env = {})
    {
        std::vector<std::string> all{"--region", "osc-fr1", "--app", app_};
        all.insert(all.end(), args.begin(), args.end());
        return stork(all, std::move(env));
    }

    // migration-create, preflight included; the migration's id.
    std::string create()
    {
        const auto r = app_command({"migration-create", "--to", "osc-secnum-fr1", "--yes"});
        EXPECT_EQ(r.status.code, 0) << r.out << r.err;
        const auto at = r.out.find("Migration ID: ");
        if (at == std::string::npos) {
            ADD_FAILURE() << "no migration id in:\n" << r.out;
            return {};
        }
        return r.out.substr(at + 14, r.out.find('\n', at) - at - 14);
    }
    test::run_result run_step(const std::string& id, const std::string& step,
                              std::vector<std::pair<std::string, std::string>> env = {})
    {
        return app_command({"migration-run", "--" + step, id, "--yes"}, std::move(env));
    }

    // The app as the local driver has it now.
    std::optional<migrate::app> find(const std::string& region, const std::string& name)
    {
        const auto cfg = config::load_control_config(dir_.path() / "control.yaml");
        const auto platform = migrate::open_local_platform(cfg.state, *cfg.find_region(region),
                                                           migrate::default_backup_folder(cfg.state));
        return platform->find_app(name);
    }

    // A request for `host` to storkd's plain HTTP listener.
    test::http_reply through_front(const std::string& host, const std::string& target = "/echo")
    {
        return test::http_request(servers_->storkd->http_port(), "GET", target, {{"Host", host}});
    }

    // storkd answers a PUT once the rule is stored; its workers get the new table a moment
    // later. Waits until every worker has the latest (the generations in /metrics).
    void wait_for_workers()
    {
        const auto metric = [](const std::string& text, const std::string& sample) {
            const auto at = ("\n" + text).find("\n" + sample + " ");
            return at == std::string::npos ? -1.0 : std::stod(text.substr(at + sample.size()));
        };
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline) {
            const auto text = test::http_request(servers_->storkd->admin_port(), "GET", "/metrics").body;
            const auto wanted = metric(text, "stork_rules_generation");
            if (wanted >= 0 && metric(text, "stork_rules_table_generation") >= wanted) {
                return;
            }
            std::this_thread::sleep_for(5ms);
        }
        ADD_FAILURE() << "the rules never reached storkd's workers";
    }

    test::http_reply admin_get(const std::string& target)
    {
        return test::http_request(servers_->storkd->admin_port(), "GET", target,
                                  {{"Authorization", "Bearer " + token}});
    }

    // The database the local driver provisions in the new region for the app's addon.
    std::string new_region_database()
    {
        const auto source = find("osc-fr1", app_);
        return migrate::local_database_name("osc-secnum-fr1", app_, source->addons.at(0).id);
    }

    // The row counts of the migrated database in the new region ("" when there is none).
    std::string new_region_rows()
    {
        const auto name = new_region_database();
        if (servers_->pg_new.psql("SELECT count(*) FROM pg_database WHERE datname = '" + name + "'") != "1\n") {
            return {};
        }
        return servers_->pg_new.psql(
            "SELECT (SELECT count(*) FROM orders) || ' ' || (SELECT count(*) FROM customers)", name);
    }

    static inline shared_servers* servers_ = nullptr;
    test::temp_dir dir_;
    int n_ = 0;
    std::string app_;
    std::string domain_;
    std::string db_;
};

TEST_F(migration_e2e_process, an_app_migrates_from_create_to_done_and_its_traffic_follows)
{
    // Before: the custom domain reaches the old region's router.
    const auto before = through_front(domain_);
    EXPECT_EQ(before.status, 200U);
    EXPECT_EQ(before.headers.count("x-origin-sni"), 0U) << "plain HTTP to the old router";

    const auto id = create();
    ASSERT_FALSE(id.empty());

    const auto prepare = run_step(id, "prepare");
    ASSERT_EQ(prepare.status.code, 0) << prepare.out << prepare.err;
    EXPECT_NE(prepare.out.find("✔ Create the new app Done!"), std::string::npos) << prepare.out;
    EXPECT_NE(prepare.out.find("migration-run --data " + id), std::string::npos) << prepare.out;
    const auto frozen = find("osc-fr1", app_);
    ASSERT_TRUE(frozen);
    EXPECT_TRUE(frozen->frozen);
    EXPECT_TRUE(frozen->running);

    const auto data = run_step(id, "data");
    ASSERT_EQ(data.status.code, 0) << data.out << data.err;
    EXPECT_EQ(new_region_rows(), "250 2\n") << "every row copied";
    EXPECT_FALSE(find("osc-fr1", app_)->running) << "the source stops for the copy";

    const auto finalize = run_step(id, "finalize");
    ASSERT_EQ(finalize.status.code, 0) << finalize.out << finalize.err;
    EXPECT_NE(finalize.out.find("https://" + app_ + ".osc-secnum-fr1.test"), std::string::npos) << finalize.out;
    EXPECT_NE(finalize.out.find("CNAME record of " + domain_ + " should be changed to " + app_ +
                                ".osc-secnum-fr1.test"),
              std::string::npos)
        << finalize.out;
    const auto target = find("osc-secnum-fr1", app_);
    ASSERT_TRUE(target);
    EXPECT_TRUE(target->running);
    EXPECT_EQ(target->formation.at(0).amount, 2);

    // The rules on the front server: the custom domain proxied, the default host redirected.
    const auto rule = admin_get("/v1/rules/" + domain_);
    ASSERT_EQ(rule.status, 200U) << rule.body;
    const auto json = boost::json::parse(rule.body).as_object();
    EXPECT_EQ(json.at("mode").as_string(), "proxy");
    EXPECT_EQ(json.at("migration").as_string(), id);
    EXPECT_EQ(json.at("target").as_string(), app_ + ".osc-secnum-fr1.test");

    // After: the custom domain reaches the new region, over TLS with its own name as SNI.
    wait_for_workers();
    const auto after = through_front(domain_);
    EXPECT_EQ(after.status, 200U) << after.body;
    EXPECT_EQ(header(after, "x-origin-sni"), domain_) << after.body;
    const auto redirected = through_front(app_ + ".osc-fr1.test", "/path?q=1");
    EXPECT_EQ(redirected.status, 308U);
    EXPECT_EQ(header(redirected, "location"), "https://" + app_ + ".osc-secnum-fr1.test/path?q=1");

    const auto list = app_command({"migrations"});
    EXPECT_EQ(list.status.code, 0);
    EXPECT_NE(list.out.find(id), std::string::npos);
    EXPECT_NE(list.out.find("done"), std::string::npos) << list.out;

    const auto abort = app_command({"migration-abort", id, "--yes"});
    EXPECT_EQ(abort.status.code, 1) << "a done migration cannot be aborted";
}

TEST_F(migration_e2e_process, abort_after_data_restores_the_source_and_drops_the_copy)
{
    const auto id = create();
    ASSERT_EQ(run_step(id, "prepare").status.code, 0);
    ASSERT_EQ(run_step(id, "data").status.code, 0);
    ASSERT_EQ(new_region_rows(), "250 2\n");
    const auto abort = app_command({"migration-abort", id, "--yes"});
    ASSERT_EQ(abort.status.code, 0) << abort.out << abort.err;
    EXPECT_NE(abort.out.find("has been aborted"), std::string::npos) << abort.out;
    const auto source = find("osc-fr1", app_);
    ASSERT_TRUE(source);
    EXPECT_TRUE(source->running);
    EXPECT_FALSE(source->frozen);
    EXPECT_EQ(source->formation.at(0).amount, 2);
    EXPECT_FALSE(find("osc-secnum-fr1", app_)) << "the new app is gone";
    EXPECT_EQ(new_region_rows(), "") << "and its database";
    wait_for_workers();
    EXPECT_EQ(through_front(domain_).headers.count("x-origin-sni"), 0U) << "traffic never left the old router";
}

TEST_F(migration_e2e_process, a_finalize_that_cannot_reach_the_front_server_is_aborted_cleanly)
{
    const auto id = create();
    ASSERT_EQ(run_step(id, "prepare").status.code, 0);
    ASSERT_EQ(run_step(id, "data").status.code, 0);
    write_control(1);   // nothing listens on port 1
    const auto finalize = run_step(id, "finalize");
    EXPECT_EQ(finalize.status.code, 1) << finalize.out << finalize.err;
    EXPECT_NE(finalize.out.find("✘ Redirect traffic FAILED!"), std::string::npos) << finalize.out;
    EXPECT_NE(finalize.out.find("migration-abort " + id), std::string::npos) << finalize.out;
    EXPECT_TRUE(find("osc-secnum-fr1", app_)->running) << "the new app was started before the redirect";

    write_control(servers_->storkd->admin_port());
    const auto abort = app_command({"migration-abort", id, "--yes"});
    ASSERT_EQ(abort.status.code, 0) << abort.out << abort.err;
    const auto source = find("osc-fr1", app_);
    EXPECT_TRUE(source->running);
    EXPECT_FALSE(source->frozen);
    EXPECT_TRUE(source->scm->auto_deploy);
    EXPECT_FALSE(find("osc-secnum-fr1", app_));
    EXPECT_EQ(admin_get("/v1/rules/" + domain_).status, 404U);
}

TEST_F(migration_e2e_process, a_failed_restore_is_retried)
{
    // Every database made on the new region's server refuses DDL until the test says so:
    // an event trigger in template1, copied into each new database.
    auto& pg = servers_->pg_new;
    pg.psql("CREATE OR REPLACE FUNCTION e2e_block() RETURNS event_trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'e2e: restores are blocked'; END $$;"
            "CREATE EVENT TRIGGER e2e_block ON ddl_command_start EXECUTE FUNCTION e2e_block();",
            "template1");
    const auto id = create();
    ASSERT_EQ(run_step(id, "prepare").status.code, 0);
    const auto failed = run_step(id, "data");
    pg.psql("DROP EVENT TRIGGER e2e_block; DROP FUNCTION e2e_block();", "template1");
    EXPECT_EQ(failed.status.code, 1) << failed.out << failed.err;
    EXPECT_NE(failed.out.find("✘ Import addons data FAILED!"), std::string::npos) << failed.out;
    EXPECT_NE(failed.out.find("restores are blocked"), std::string::npos) << failed.out;
    EXPECT_NE(failed.out.find("migration-run --data " + id), std::string::npos) << "the retry command";

    // The database already provisioned still carries the trigger: drop it there too.
    pg.psql("DROP EVENT TRIGGER e2e_block; DROP FUNCTION e2e_block();", new_region_database());
    const auto retried = run_step(id, "data");
    ASSERT_EQ(retried.status.code, 0) << retried.out << retried.err;
    EXPECT_EQ(new_region_rows(), "250 2\n");
}

} // namespace
} // namespace stork::control
