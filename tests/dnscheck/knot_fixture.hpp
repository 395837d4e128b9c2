#pragma once

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace stork::dnscheck::test {

// The zone the process tests query (origin "test."): A/AAAA with several TTLs, a CNAME
// chain whose smallest TTL is in the middle, a wildcard for many distinct names, and
// names that only have one address family.
std::string test_zone();

// A real knotd (Debian package knot) serving one zone on 127.0.0.1, in a temporary
// folder of its own. The constructor returns once knotd answers an SOA query for the
// zone (polled, never a guessed sleep); a failure to start is a test failure carrying
// knotd's stderr, and then port() is 0. The destructor stops knotd by pid (SIGTERM, then
// child_process's SIGKILL) and removes the folder.
class knot_server {
public:
    explicit knot_server(std::string origin = "test", std::string zone = test_zone());
    ~knot_server();
    knot_server(const knot_server&) = delete;
    knot_server& operator=(const knot_server&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    // "127.0.0.1:<port>", as channel_options::servers takes it.
    std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

private:
    bool start(std::uint16_t port);

    std::string origin_;
    stork::test::temp_dir dir_;
    std::unique_ptr<stork::test::child_process> knotd_;
    std::uint16_t port_ = 0;
};

// A port that was free for UDP and TCP on 127.0.0.1 a moment ago (bound to port 0, then
// closed): the caller's server binds it next, and retries with another if it lost a race.
std::uint16_t free_port();

// Sends one DNS query (SOA for `name`, no recursion) over UDP and waits up to `timeout`
// for a reply with the same id: true when a NOERROR answer came back. No c-ares, so the
// fixture's readiness does not depend on the code under test.
bool answers_soa(std::uint16_t port, std::string_view name, int timeout_ms);

} // namespace stork::dnscheck::test
