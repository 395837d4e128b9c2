#pragma once

#include "tests/dnscheck/raw_dns.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stork::dnscheck::test {

// The zone the process tests query (origin "test."): A/AAAA with several TTLs, a CNAME
// chain whose smallest TTL is in the middle, a wildcard for many distinct names, and
// names that only have one address family.
std::string test_zone();

// One zone a knot_server serves: its origin ("example.com", no trailing dot needed) and
// the text of its zone file.
struct knot_zone {
    std::string origin;
    std::string text;
};

// One change inside a knotc transaction (knotc(8): zone-set, zone-unset). Owners are
// relative to the zone ("www", "@") or absolute with a trailing dot; data is RDATA as a
// zone file writes it. Make them with set_record / unset_record.
struct zone_change {
    enum class kind { set, unset };
    kind what = kind::set;
    std::string owner;
    std::string type;        // unset: empty removes every record of the owner
    std::string data;        // unset: empty removes the whole RRset
    std::uint32_t ttl = 0;   // set only
};

// zone-set ZONE OWNER TTL TYPE DATA
zone_change set_record(std::string owner, std::uint32_t ttl, std::string type, std::string data);
// zone-unset ZONE OWNER [TYPE [DATA]]
zone_change unset_record(std::string owner, std::string type = {}, std::string data = {});

// A real knotd (Debian package knot) serving some zones on one IPv4 loopback address
// (any of 127/8: two servers can run on 127.0.0.1 and 127.0.0.2, on the same port or
// not), in a temporary folder of its own. The constructor returns once knotd answers an
// SOA query for every zone (polled, never a guessed sleep); a failure to start is a test
// failure carrying knotd's stderr, and then port() is 0. The destructor stops knotd by
// pid (SIGTERM, then child_process's SIGKILL) and removes the folder.
class knot_server {
public:
    // One zone on 127.0.0.1 (the first process tests' form).
    explicit knot_server(std::string origin = "test", std::string zone = test_zone());
    // `port` 0: a free port (retried when another process takes it first); otherwise that
    // port, e.g. another server's on another address, and a test failure if it is taken.
    explicit knot_server(std::vector<knot_zone> zones, std::string address = "127.0.0.1", std::uint16_t port = 0);
    ~knot_server();
    knot_server(const knot_server&) = delete;
    knot_server& operator=(const knot_server&) = delete;

    const std::string& address() const noexcept { return address_; }
    std::uint16_t port() const noexcept { return port_; }
    // "ADDR:PORT", as channel_options::servers takes it.
    std::string server() const { return address_ + ":" + std::to_string(port_); }
    // "ADDR@PORT", as unbound's stub-addr (and knot's listen) take it.
    std::string stub_addr() const { return address_ + "@" + std::to_string(port_); }

    // Applies `changes` to `zone` as one knotc transaction (zone-begin, zone-set /
    // zone-unset in order, zone-commit; knotd bumps the SOA serial itself) and returns
    // once knotd serves the new serial (polled with raw SOA queries). When a knotc command
    // fails, the transaction is aborted (zone-abort), the test fails with knotc's output
    // and edit returns false.
    bool edit(std::string_view zone, const std::vector<zone_change>& changes);

    // The SOA serial knotd serves for `zone` (a raw query, no c-ares); 0 and a test
    // failure when it does not answer one.
    std::uint32_t serial(std::string_view zone) const;

private:
    enum class start_result { ready, exited, stuck };
    start_result start(std::uint16_t port);
    std::optional<std::uint32_t> try_serial(std::string_view zone) const;
    // Runs knotc with this server's configuration; false (and the test fails with
    // knotc's output) when it does not succeed.
    bool knotc(std::vector<std::string> args) const;

    std::vector<std::string> origins_;
    std::string address_;
    stork::test::temp_dir dir_;
    std::unique_ptr<stork::test::child_process> knotd_;
    std::uint16_t port_ = 0;
};

} // namespace stork::dnscheck::test
