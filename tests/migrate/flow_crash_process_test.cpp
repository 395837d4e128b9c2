// A migration killed at every ledger point of prepare, data and finalize, then resumed by
// running the same step again (issue 7 §2, §6): the `local` driver on the state database,
// two real PostgreSQL servers, the data really copied. Each round forks a child that runs
// the steps and _exit()s at the Nth ledger point (no destructor, no commit after it), then
// the parent runs the steps to the end and checks the result is the one an uninterrupted
// run gives, with nothing made twice.
#include "migrate/local_driver.hpp"
#include "migrate/steps.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

namespace stork::migrate {
namespace {

namespace fs = std::filesystem;
using stork::test::postgres_server;

// Front servers whose rules are files (one per host, written by rename), so that what a
// killed process installed is still there for the next one, as on a real storkd.
class file_fronts final : public front_servers {
public:
    explicit file_fronts(fs::path folder) : folder_{std::move(folder)} { fs::create_directories(folder_); }

    std::size_t size() const override { return 1; }
    void install(const redirect_rule& r) override
    {
        const auto tmp = folder_ / (r.host + ".tmp");
        std::ofstream{tmp} << r.migration << ' ' << r.mode << ' ' << r.target;
        fs::rename(tmp, folder_ / r.host);
    }
    void remove(std::string_view host, std::string_view migration) override
    {
        if (rule(host).starts_with(std::string{migration} + " ")) {
            fs::remove(folder_ / std::string{host});
        }
    }
    std::string rule(std::string_view host) const
    {
        std::ifstream in{folder_ / std::string{host}};
        std::string text;
        std::getline(in, text);
        return text;
    }
    std::size_t count() const
    {
        return static_cast<std::size_t>(std::distance(fs::directory_iterator{folder_}, fs::directory_iterator{}));
    }

private:
    fs::path folder_;
};

class flow_crash_process : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        old_pg_ = new postgres_server;
        new_pg_ = new postgres_server;
        if (old_pg_->port() != 0) {
            old_pg_->create_database("crash_src");
            old_pg_->psql("CREATE TABLE orders (id serial PRIMARY KEY, item text);"
                          "INSERT INTO orders (item) SELECT 'item ' || g FROM generate_series(1, 500) g;",
                          "crash_src");
        }
    }
    static void TearDownTestSuite()
    {
        delete old_pg_;
        delete new_pg_;
        old_pg_ = new_pg_ = nullptr;
    }

    static config::region_config region(const std::string& name, const postgres_server& pg)
    {
        return config::region_config{.name = name,
                                     .domain = name + ".test",
                                     .driver = config::region_driver::local,
                                     .ingress = config::endpoint{.host = "127.0.0.1", .port = 9443, .is_ip = true},
                                     .front_servers = {},
                                     .postgresql_url = pg.url(),
                                     .addons = std::nullopt};
    }

    static postgres_server* old_pg_;
    static postgres_server* new_pg_;
};

postgres_server* flow_crash_process::old_pg_ = nullptr;
postgres_server* flow_crash_process::new_pg_ = nullptr;

// Everything one process needs to run steps: its own connections.
struct runner {
    store st;
    std::unique_ptr<platform> source;
    std::unique_ptr<platform> destination;
    file_fronts fronts;
    engine e;

    runner(const fs::path& dir, const config::control_config& regions, step_context::ledger_hook hook = {})
        : st{dir / "control.db"},
          source{open_local_platform(dir / "control.db", regions.regions.at("osc-fr1"), dir / "backups")},
          destination{open_local_platform(dir / "control.db", regions.regions.at("osc-secnum-fr1"), dir / "backups")},
          fronts{dir / "fronts"},
          e{st,
            make_plan(flow_platforms{.source = *source,
                                     .destination = *destination,
                                     .source_region = regions.regions.at("osc-fr1"),
                                     .destination_region = regions.regions.at("osc-secnum-fr1"),
                                     .fronts = fronts},
                      st),
            engine::options{.runner_folder = runner_folder(dir / "control.db"), .ledger_hook = std::move(hook)}}
    {
    }
};

TEST_F(flow_crash_process, a_migration_killed_at_any_ledger_point_resumes_to_the_same_result)
{
    ASSERT_NE(old_pg_->port(), 0);
    ASSERT_NE(new_pg_->port(), 0);
    config::control_config regions;
    regions.regions.emplace("osc-fr1", region("osc-fr1", *old_pg_));
    regions.regions.emplace("osc-secnum-fr1", region("osc-secnum-fr1", *new_pg_));
    const std::string inventory = "apps:\n"
                                  "  - name: shop\n"
                                  "    region: osc-fr1\n"
                                  "    deployment: {id: d-1, status: success, image: \"registry.local/shop:1\"}\n"
                                  "    domains: [shop.example.com]\n"
                                  "    formation: [{name: web, amount: 2, size: M}]\n"
                                  "    scm: {type: github, repo: example/shop, auto_deploy: true}\n"
                                  "    addons:\n"
                                  "      - {provider: postgresql, plan: starter-512, version: \"15\", url: \"" +
                                  old_pg_->url("crash_src") + "\"}\n";
    const std::vector<step_kind> steps{step_kind::prepare, step_kind::data, step_kind::finalize};

    for (int n = 0;; ++n) {
        SCOPED_TRACE("killed at ledger point " + std::to_string(n));
        stork::test::temp_dir dir;
        import_inventory(dir.path() / "control.db", config::parse_inventory(inventory, "inventory.yaml"), regions);
        std::string id;
        {
            runner r{dir.path(), regions};
            id = r.st.create_migration({.source_region = "osc-fr1", .source_app = "shop",
                                        .destination_region = "osc-secnum-fr1", .destination_app = "shop"})
                     .id;
            ASSERT_EQ(r.e.run(id, step_kind::preflight).after.status, migration_status::preflight_success);
        }
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            int seen = 0;
            runner r{dir.path(), regions, [&](std::string_view) {
                         if (seen++ == n) {
                             ::_exit(3);
                         }
                     }};
            for (const auto step : steps) {
                if (r.e.run(id, step).failed) {
                    ::_exit(4);
                }
            }
            ::_exit(0);
        }
        int status = 0;
        ASSERT_EQ(::waitpid(child, &status, 0), child);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_NE(WEXITSTATUS(status), 4) << "a step failed without being killed";
        const bool finished = WEXITSTATUS(status) == 0;

        runner r{dir.path(), regions};
        for (const auto step : steps) {
            const auto result = r.e.run(id, step);
            ASSERT_FALSE(result.failed) << result.reason;
        }
        const auto m = r.st.get_migration(id);
        ASSERT_EQ(m->status, migration_status::done);

        const auto source = r.source->find_app("shop");
        const auto target = r.destination->find_app("shop");
        ASSERT_TRUE(source && target);
        EXPECT_FALSE(source->running);
        EXPECT_TRUE(source->frozen);
        EXPECT_FALSE(source->scm->auto_deploy);
        EXPECT_TRUE(target->running);
        EXPECT_TRUE(target->scm->auto_deploy) << "the source's value, not the off it was switched to";
        EXPECT_EQ(target->formation.at(0).amount, 2) << "started at the recorded formation, not at the zeros";
        ASSERT_EQ(target->addons.size(), 1U) << "provisioned once";
        EXPECT_EQ(new_pg_->psql("SELECT count(*) FROM orders", target->addons[0].url.substr(
                                                                  target->addons[0].url.rfind('/') + 1)),
                  "500\n");
        EXPECT_EQ(r.fronts.count(), 2U);
        EXPECT_EQ(r.fronts.rule("shop.example.com"), id + " proxy shop.osc-secnum-fr1.test");
        EXPECT_EQ(r.fronts.rule("shop.osc-fr1.test"), id + " redirect shop.osc-secnum-fr1.test");
        for (const auto& entry : r.st.ledger_list(id)) {
            EXPECT_EQ(entry.state, ledger_state::created) << entry.kind << " " << entry.natural_key;
        }
        if (finished) {
            EXPECT_GE(n, 20) << "prepare, data and finalize have ledger points to kill at";
            break;
        }
    }
}

} // namespace
} // namespace stork::migrate
