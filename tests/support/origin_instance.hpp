#pragma once

#include "tests/support/process.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace stork::test {

// Debian's python, the one with python3-websockets (the pyenv python3 on PATH has none).
std::string python3();

// tests/support/<name> in the source tree: origin.py, ws_client.py.
std::filesystem::path support_script(const std::string& name);

// What the origin has seen. Observing does not count: the connections the fixture opens for
// /stats, and the /stats requests, are left out (see `stats` in origin.py).
struct origin_stats {
    std::uint64_t connections_accepted = 0;
    std::uint64_t connections_open = 0;
    std::uint64_t requests = 0;
};

// The real HTTP/1.1 + WebSocket origin that storkd's process tests proxy to
// (tests/support/origin.py, its endpoints are listed there). The constructor returns once
// the origin has printed its READY line with both ports, like storkd_instance: the origin is
// listening before the test goes on, never after a guessed sleep. When it does not get there
// in 10 s, a test failure with its stderr is recorded and both ports are 0. The destructor
// stops it by pid: SIGTERM, then SIGKILL (child_process) if it has not ended in 10 s.
class origin_instance {
public:
    origin_instance();
    ~origin_instance();
    origin_instance(const origin_instance&) = delete;
    origin_instance& operator=(const origin_instance&) = delete;

    std::uint16_t http_port() const noexcept { return http_port_; }
    std::uint16_t ws_port() const noexcept { return ws_port_; }

    // GET /stats on a connection of its own. Throws on network errors.
    origin_stats stats() const;

    // Polls stats() until `done` holds and returns those stats; nothing after `timeout`.
    // For counters that follow the peer's actions asynchronously, e.g. connections_open
    // dropping to 0 once storkd closed its idle upstream connections.
    std::optional<origin_stats> wait_for_stats(const std::function<bool(const origin_stats&)>& done,
                                               std::chrono::milliseconds timeout = std::chrono::seconds{10}) const;

    // SIGTERM and wait (10 s): how the origin ended, nothing if it did not.
    std::optional<exit_status> stop();

    child_process& process() noexcept { return child_; }

private:
    child_process child_;
    std::uint16_t http_port_ = 0;
    std::uint16_t ws_port_ = 0;
};

} // namespace stork::test
