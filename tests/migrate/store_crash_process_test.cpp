// A writer SIGKILLed mid-flight: after reopening, every committed change is there,
// nothing uncommitted is, and the file passes integrity_check (WAL recovery).
#include "migrate/store.hpp"

#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace stork::migrate {
namespace {

// A forked child running `body` (it reports progress on `out`), killed by the test.
// The child owns its own connection: SQLite connections must not cross a fork.
class forked_writer {
public:
    template <class F>
    explicit forked_writer(F body)
    {
        int fds[2];
        if (::pipe(fds) != 0) {
            throw std::runtime_error{"pipe"};
        }
        pid_ = ::fork();
        if (pid_ < 0) {
            throw std::runtime_error{"fork"};
        }
        if (pid_ == 0) {
            ::close(fds[0]);
            try {
                body(fds[1]);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "writer: %s\n", e.what());
                ::_exit(2);
            }
            ::_exit(0);
        }
        ::close(fds[1]);
        in_ = fds[0];
    }
    ~forked_writer()
    {
        kill_and_reap();
        ::close(in_);
    }
    forked_writer(const forked_writer&) = delete;
    forked_writer& operator=(const forked_writer&) = delete;

    // The next line the child reported; empty at end of stream.
    std::string read_line()
    {
        std::string line;
        char c = 0;
        while (::read(in_, &c, 1) == 1) {
            if (c == '\n') {
                return line;
            }
            line.push_back(c);
        }
        return line;
    }

    // SIGKILL: no destructor, no rollback, no close runs in the child. Returns the
    // signal that ended it (SIGKILL unless it had already died on its own).
    int kill_and_reap()
    {
        if (pid_ <= 0) {
            return signal_;
        }
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = 0;
        signal_ = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        return signal_;
    }

private:
    pid_t pid_ = 0;
    int in_ = -1;
    int signal_ = 0;
};

void report(int fd, const std::string& line)
{
    const std::string text = line + "\n";
    if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        ::_exit(3);
    }
}

std::string make_migration(const std::filesystem::path& path)
{
    store s{path};
    return s.create_migration({"osc-fr1", "my-app", "osc-secnum-fr1", "my-app"}).id;
}

TEST(store_crash_process, killed_inside_a_transaction_keeps_only_committed_rows)
{
    test::temp_dir dir;
    const auto path = dir.path() / "control.db";
    const std::string id = make_migration(path);   // closed again before the fork

    forked_writer writer{[&](int out) {
        store s{path};
        s.ledger_begin(id, "app", "my-app");
        s.ledger_created(id, "app", "my-app", "app-1");
        s.ledger_begin(id, "domain", "www.example.com");   // committed: creating
        // A change in flight: written into the WAL but never committed.
        auto& db = s.database_for_test();
        transaction tx{db};
        db.exec("INSERT INTO ledger (migration_id, kind, natural_key, state, updated_at) "
                "VALUES ('" + id + "', 'domain', 'api.example.com', 'creating', 0)");
        db.exec("UPDATE migrations SET status = 'running', version = version + 1");
        db.exec("UPDATE ledger SET state = 'deleted' WHERE kind = 'app'");
        report(out, "in-transaction");
        ::pause();
    }};
    ASSERT_EQ(writer.read_line(), "in-transaction");
    ASSERT_EQ(writer.kill_and_reap(), SIGKILL);

    store after{path};
    EXPECT_EQ(after.database_for_test().query_text("PRAGMA integrity_check"), "ok");
    const auto ledger = after.ledger_list(id);
    ASSERT_EQ(ledger.size(), 2U);
    EXPECT_EQ(ledger[0].natural_key, "my-app");
    EXPECT_EQ(ledger[0].state, ledger_state::created);
    EXPECT_EQ(ledger[0].target_id, "app-1");
    EXPECT_EQ(ledger[1].natural_key, "www.example.com");
    EXPECT_EQ(ledger[1].state, ledger_state::creating);
    EXPECT_EQ(after.ledger_get(id, "domain", "api.example.com"), std::nullopt);
    const auto m = after.get_migration(id);
    EXPECT_EQ(m->status, migration_status::created);
    EXPECT_EQ(m->version, 1);

    // The store writes again after the crash (the lock died with the writer).
    EXPECT_EQ(after.ledger_created(id, "domain", "www.example.com", "dom-1").state, ledger_state::created);
}

// Killed at whatever instant the kill lands, over and over: everything the writer
// reported as done survives, and the only row that may be half-way is the one after.
TEST(store_crash_process, killed_at_an_arbitrary_point_loses_nothing_reported)
{
    test::temp_dir dir;
    const auto path = dir.path() / "control.db";
    const std::string id = make_migration(path);

    int next = 0;   // the first key the next writer handles
    for (int round = 0; round < 5; ++round) {
        const int first = next;
        forked_writer writer{[&](int out) {
            store s{path};
            for (int i = first;; ++i) {
                const std::string key = "key-" + std::to_string(i);
                s.ledger_begin(id, "domain", key);
                report(out, "begun " + std::to_string(i));
                s.ledger_created(id, "domain", key, "t-" + std::to_string(i));
                report(out, "created " + std::to_string(i));
            }
        }};
        int last_begun = first - 1;
        int last_created = first - 1;
        const auto take = [&](const std::string& line) {
            const int n = std::stoi(line.substr(line.find(' ') + 1));
            (line.rfind("begun", 0) == 0 ? last_begun : last_created) = n;
        };
        for (int seen = 0; seen < 20 + 7 * round; ++seen) {
            const std::string line = writer.read_line();
            ASSERT_FALSE(line.empty()) << "the writer died on its own";
            take(line);
        }
        // The writer kept going while we read: the kill lands wherever it is.
        ASSERT_EQ(writer.kill_and_reap(), SIGKILL);
        // Everything it reported before dying counts (the pipe is closed now).
        for (std::string line = writer.read_line(); !line.empty(); line = writer.read_line()) {
            take(line);
        }

        store after{path};
        ASSERT_EQ(after.database_for_test().query_text("PRAGMA integrity_check"), "ok");
        for (int i = 0; i <= last_created; ++i) {
            const auto e = after.ledger_get(id, "domain", "key-" + std::to_string(i));
            ASSERT_TRUE(e) << i;
            EXPECT_EQ(e->state, ledger_state::created) << i;
            EXPECT_EQ(e->target_id, "t-" + std::to_string(i)) << i;
        }
        ASSERT_TRUE(after.ledger_get(id, "domain", "key-" + std::to_string(last_begun)));
        // At most one key past the last reported one (committed, killed before the report).
        EXPECT_EQ(after.ledger_get(id, "domain", "key-" + std::to_string(last_begun + 2)), std::nullopt);

        // Resume the way the flow does: a `creating` row is looked up by its natural
        // key and finished, never created a second time.
        const auto entries = after.ledger_list(id);
        for (const auto& e : entries) {
            if (e.state == ledger_state::creating) {
                const std::string n = e.natural_key.substr(4);
                after.ledger_created(id, "domain", e.natural_key, "t-" + n);
            }
        }
        next = static_cast<int>(after.ledger_list(id).size());
        EXPECT_EQ(next, static_cast<int>(entries.size()));
        EXPECT_GE(next, first + 10);   // each round got at least the reports it waited for
    }
}

} // namespace
} // namespace stork::migrate
