#pragma once

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace stork::test {

// A real PostgreSQL 15 server (Debian package postgresql) in a temporary folder of its
// own: `initdb` (superuser "stork", trust authentication, UTF8, locale C), then
// `postgres` in the foreground as a child process listening on 127.0.0.1 only, on a free
// port (retried when another process takes it first), its Unix socket in the folder.
// The constructor returns once `pg_isready` says the server accepts connections (polled,
// never a guessed sleep); a failure to start is a test failure carrying the server's
// stderr, and then port() is 0. The destructor stops the server by pid (SIGINT, the
// fast shutdown; SIGKILL if it is still running 10 s later) and removes the folder.
//
// PostgreSQL refuses to run as root: when the test runs as root (CI), initdb and
// postgres run as uid/gid 65534 (nobody/nogroup) through `setpriv`, and the folder is
// handed to that user. Clients (psql here, the code under test) run as the caller.
class postgres_server {
public:
    postgres_server();
    ~postgres_server();
    postgres_server(const postgres_server&) = delete;
    postgres_server& operator=(const postgres_server&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    const std::string& user() const noexcept { return user_; }
    // The uid the server runs as (65534 when the test runs as root).
    uid_t server_uid() const noexcept { return server_uid_; }
    pid_t pid() const noexcept { return postgres_ ? postgres_->pid() : -1; }

    // "postgresql://stork@127.0.0.1:PORT/DB".
    std::string url(const std::string& dbname = "postgres") const;

    // Runs `sql` with psql (-X, ON_ERROR_STOP, unaligned, tuples only, fields separated
    // by tabs) in `db` and returns what it printed; a test failure with psql's stderr
    // when it fails.
    std::string psql(const std::string& sql, const std::string& db = "postgres") const;

    void create_database(const std::string& name) const;

    // The path of a PostgreSQL 15 program (initdb, postgres, psql, pg_isready, ...).
    static std::filesystem::path program(const std::string& name);

private:
    enum class start_result { ready, exited, stuck };
    start_result start(std::uint16_t port);
    std::vector<std::string> as_server_user(std::vector<std::string> argv) const;

    temp_dir dir_;
    std::string user_ = "stork";
    uid_t server_uid_;
    std::uint16_t port_ = 0;
    std::unique_ptr<child_process> postgres_;
};

} // namespace stork::test
