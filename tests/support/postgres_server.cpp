#include "tests/support/postgres_server.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>

namespace stork::test {
namespace {

constexpr const char* pg_bin_dir = "/usr/lib/postgresql/15/bin";
// PostgreSQL refuses to run as root; the tests then use nobody/nogroup.
constexpr uid_t unprivileged_id = 65534;

// A TCP port on 127.0.0.1 that was free a moment ago (0 when none could be had). The
// server may lose it to another process before it binds: the caller retries.
std::uint16_t free_tcp_port()
{
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return 0;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    std::uint16_t port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0
        && getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
        port = ntohs(addr.sin_port);
    }
    close(fd);
    return port;
}

bool succeeded(const run_result& r)
{
    return r.status.exited() && r.status.code == 0;
}

} // namespace

std::filesystem::path postgres_server::program(const std::string& name)
{
    return std::filesystem::path{pg_bin_dir} / name;
}

std::vector<std::string> postgres_server::as_server_user(std::vector<std::string> argv) const
{
    if (geteuid() != 0) {
        return argv;
    }
    const std::string id = std::to_string(unprivileged_id);
    std::vector<std::string> wrapped{"/usr/bin/setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups", "--"};
    wrapped.insert(wrapped.end(), std::make_move_iterator(argv.begin()), std::make_move_iterator(argv.end()));
    return wrapped;
}

postgres_server::postgres_server()
    : server_uid_{geteuid() == 0 ? unprivileged_id : geteuid()}
{
    if (geteuid() == 0) {
        // mkdtemp made the folder 0700 root: hand it to the server's user.
        if (chown(dir_.path().c_str(), unprivileged_id, unprivileged_id) != 0) {
            ADD_FAILURE() << "cannot chown " << dir_.path() << " to " << unprivileged_id;
            return;
        }
    }
    const auto data = (dir_.path() / "data").string();
    // --no-sync: a test cluster need not survive a power cut, and fsync costs seconds.
    const auto init = run(as_server_user({program("initdb").string(), "-D", data, "-U", user_, "--auth=trust",
                                          "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"}),
                          std::chrono::seconds{120});
    if (!succeeded(init)) {
        ADD_FAILURE() << "initdb failed (exit " << init.status.code << ", signal " << init.status.signal << "):\n"
                      << init.out << init.err;
        return;
    }
    for (int attempt = 0; attempt < 5; ++attempt) {
        const std::uint16_t candidate = free_tcp_port();
        if (candidate == 0) {
            continue;
        }
        const auto result = start(candidate);
        if (result == start_result::ready) {
            port_ = candidate;
            return;
        }
        if (result == start_result::stuck) {
            break;
        }
        // exited: most likely the port was taken between free_tcp_port and bind.
    }
    ADD_FAILURE() << "postgres did not start; last stderr:\n" << (postgres_ ? postgres_->err() : std::string{"(none)"});
    postgres_.reset();
}

postgres_server::start_result postgres_server::start(std::uint16_t port)
{
    const std::string p = std::to_string(port);
    // fsync=off: see --no-sync above. The Unix socket goes to the private folder, not to
    // /var/run/postgresql, which belongs to the system cluster.
    postgres_ = std::make_unique<child_process>(as_server_user(
        {program("postgres").string(), "-D", (dir_.path() / "data").string(), "-p", p, "-k", dir_.path().string(),
         "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"}));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
    while (std::chrono::steady_clock::now() < deadline) {
        // pg_isready: 0 accepting, 1 rejecting (starting up), 2 no answer yet.
        const auto probe = run({program("pg_isready").string(), "-q", "-h", "127.0.0.1", "-p", p, "-U", user_,
                                "-d", "postgres", "-t", "2"},
                               std::chrono::seconds{10});
        if (succeeded(probe)) {
            return start_result::ready;
        }
        // Not a sleep: waits for the server's exit (a lost port race, a bad setting),
        // which ends the wait at once when it happens.
        if (postgres_->wait(std::chrono::milliseconds{20})) {
            return start_result::exited;
        }
    }
    return start_result::stuck;
}

postgres_server::~postgres_server()
{
    if (postgres_) {
        postgres_->send_signal(SIGINT);   // fast shutdown: abort transactions, exit cleanly
        if (!postgres_->wait(std::chrono::seconds{10})) {
            postgres_.reset();   // SIGKILL by pid
        }
    }
}

std::string postgres_server::url(const std::string& dbname) const
{
    return "postgresql://" + user_ + "@127.0.0.1:" + std::to_string(port_) + "/" + dbname;
}

std::string postgres_server::psql(const std::string& sql, const std::string& db) const
{
    const auto r = run({program("psql").string(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-A", "-t", "-F", "\t",
                        "-d", url(db), "-c", sql},
                       std::chrono::seconds{60});
    if (!succeeded(r)) {
        ADD_FAILURE() << "psql failed (exit " << r.status.code << ") on: " << sql << "\n" << r.err;
    }
    return r.out;
}

void postgres_server::create_database(const std::string& name) const
{
    psql("CREATE DATABASE \"" + name + "\"");
}

} // namespace stork::test
