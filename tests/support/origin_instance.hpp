#pragma once

#include "tests/support/process.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

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
    // TLS (origin_options::tls): connections whose handshake succeeded, and the SNI of every
    // ClientHello received, in order, "" when the client sent none. Failed handshakes are in
    // `sni` too: what an upstream-verification test needs to see.
    std::uint64_t tls_connections_accepted = 0;
    std::vector<std::string> sni;
};

// One certificate of the origin's TLS listener: served when the client's SNI is
// `server_name` (a host name, or "*.parent" for one label).
struct origin_certificate {
    std::string server_name;
    std::filesystem::path crt; // leaf (+ chain), PEM
    std::filesystem::path key;
};

struct origin_options {
    // Not empty: a TLS listener too (https_port()), ALPN http/1.1, the certificate chosen by
    // SNI; the first one is served when SNI is absent or matches none. Every response on it
    // carries X-Origin-Sni (the SNI received, "(none)" without one).
    std::vector<origin_certificate> tls;
};

// The real HTTP/1.1 + WebSocket origin that storkd's process tests proxy to, with an HTTPS
// listener too when origin_options::tls is given (tests/support/origin.py, its endpoints
// are listed there). The constructor returns once
// the origin has printed its READY line with its ports, like storkd_instance: the origin is
// listening before the test goes on, never after a guessed sleep. When it does not get there
// in 10 s, a test failure with its stderr is recorded and every port is 0. The destructor
// stops it by pid: SIGTERM, then SIGKILL (child_process) if it has not ended in 10 s.
class origin_instance {
public:
    origin_instance();
    explicit origin_instance(const origin_options& options);
    ~origin_instance();
    origin_instance(const origin_instance&) = delete;
    origin_instance& operator=(const origin_instance&) = delete;

    std::uint16_t http_port() const noexcept { return http_port_; }
    std::uint16_t ws_port() const noexcept { return ws_port_; }
    // The TLS listener's port; 0 without origin_options::tls.
    std::uint16_t https_port() const noexcept { return https_port_; }

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
    std::uint16_t https_port_ = 0;
};

} // namespace stork::test
