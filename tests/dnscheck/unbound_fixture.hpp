#pragma once

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stork::dnscheck::test {

struct unbound_options {
    // Zone → its authoritative servers as "ADDR@PORT" (knot_server::stub_addr()). Names
    // under these zones are resolved from them; everything else fails at once (SERVFAIL
    // or REFUSED), unbound never leaves loopback.
    std::map<std::string, std::vector<std::string>> stubs{};
    // unbound.conf(5) cache clamps; unset: unbound's defaults (0, 86400, 3600).
    std::optional<std::uint32_t> cache_min_ttl{};
    std::optional<std::uint32_t> cache_max_ttl{};
    std::optional<std::uint32_t> cache_max_negative_ttl{};
};

// A real unbound (Debian package unbound) as a recursive resolver on 127.0.0.1 and a free
// port, in a temporary folder of its own, as the current user (root included: it never
// changes user or root directory). The constructor returns once unbound answers a query
// (polled with a raw non-recursive query, any RCODE); a failure to start is a test failure
// carrying unbound's stderr, and then port() is 0. The destructor stops it by pid
// (SIGTERM, then child_process's SIGKILL) and removes the folder.
class unbound_server {
public:
    explicit unbound_server(unbound_options options);
    ~unbound_server();
    unbound_server(const unbound_server&) = delete;
    unbound_server& operator=(const unbound_server&) = delete;

    const std::string& address() const noexcept { return address_; }
    std::uint16_t port() const noexcept { return port_; }
    // "ADDR:PORT", as channel_options::servers takes it.
    std::string server() const { return address_ + ":" + std::to_string(port_); }

    // What unbound logged so far (stderr), for failure messages.
    std::string log() const;

private:
    bool start(std::uint16_t port);

    unbound_options options_;
    std::string address_ = "127.0.0.1";
    stork::test::temp_dir dir_;
    std::unique_ptr<stork::test::child_process> unbound_;
    std::uint16_t port_ = 0;
};

} // namespace stork::dnscheck::test
