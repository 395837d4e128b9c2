#include "tests/dnscheck/knot_fixture.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>

namespace stork::dnscheck::test {
namespace {

constexpr const char* knotd_path = "/usr/sbin/knotd";
constexpr const char* knotc_path = "/usr/sbin/knotc";
constexpr std::uint16_t soa_type = 6;

std::string zone_file_name(std::size_t index)
{
    return "zone-" + std::to_string(index) + ".txt";
}

std::string knot_conf(const std::filesystem::path& dir, const std::string& address, std::uint16_t port,
                      const std::vector<std::string>& origins)
{
    // rundir and storage default to system folders; zone edits stay in memory
    // (/work/shared/reference/dns-advisor.md §4). The template gives every zone the same
    // storage and edit policy.
    const std::string d = dir.string();
    std::string conf = "server:\n"
                       "    listen: " + address + "@" + std::to_string(port) + "\n"
                       "    rundir: \"" + d + "\"\n"
                       "log:\n"
                       "  - target: stderr\n"
                       "    any: info\n"
                       "database:\n"
                       "    storage: \"" + d + "/db\"\n"
                       "control:\n"
                       "    listen: \"" + d + "/knot.sock\"\n"
                       "template:\n"
                       "  - id: default\n"
                       "    storage: \"" + d + "\"\n"
                       "    zonefile-sync: -1\n"
                       "    journal-content: none\n"
                       "zone:\n";
    for (std::size_t i = 0; i < origins.size(); ++i) {
        conf += "  - domain: \"" + origins[i] + "\"\n"
                "    file: " + zone_file_name(i) + "\n";
    }
    return conf;
}

std::string command_line(const std::vector<std::string>& argv)
{
    std::string line;
    for (const auto& a : argv) {
        line += (line.empty() ? "" : " ") + a;
    }
    return line;
}

} // namespace

std::string test_zone()
{
    return "$ORIGIN test.\n"
           "$TTL 300\n"
           "@        IN SOA ns1.test. hostmaster.test. 2024010101 3600 600 604800 60\n"
           "@        IN NS  ns1.test.\n"
           "ns1      IN A   127.0.0.1\n"
           "www      600 IN A    192.0.2.20\n"
           "www      600 IN A    192.0.2.21\n"
           "www      120 IN AAAA 2001:db8::20\n"
           "v4only   300 IN A    192.0.2.30\n"
           "v6only   45  IN AAAA 2001:db8::40\n"
           "chain    120 IN CNAME chain2.test.\n"
           "chain2   30  IN CNAME www.test.\n"
           "my-app.osc-secnum-fr1 60 IN A 198.51.100.7\n"
           "zero     0   IN A    192.0.2.50\n"
           "text     IN TXT \"no addresses here\"\n"
           "*.many   60  IN A    192.0.2.99\n";
}

zone_change set_record(std::string owner, std::uint32_t ttl, std::string type, std::string data)
{
    return {zone_change::kind::set, std::move(owner), std::move(type), std::move(data), ttl};
}

zone_change unset_record(std::string owner, std::string type, std::string data)
{
    return {zone_change::kind::unset, std::move(owner), std::move(type), std::move(data), 0};
}

knot_server::knot_server(std::string origin, std::string zone)
    : knot_server{std::vector<knot_zone>{{std::move(origin), std::move(zone)}}}
{
}

knot_server::knot_server(std::vector<knot_zone> zones, std::string address, std::uint16_t port)
    : address_{std::move(address)}
{
    for (std::size_t i = 0; i < zones.size(); ++i) {
        dir_.write(zone_file_name(i), zones[i].text);
        origins_.push_back(std::move(zones[i].origin));
    }
    std::filesystem::create_directories(dir_.path() / "db");
    // A port found free can be taken before knotd binds it: try a few, unless the caller
    // chose the port.
    const int attempts = port == 0 ? 5 : 1;
    for (int attempt = 0; attempt < attempts; ++attempt) {
        const std::uint16_t candidate = port != 0 ? port : free_port(address_);
        if (candidate == 0) {
            continue;
        }
        const auto result = start(candidate);
        if (result == start_result::ready) {
            port_ = candidate;
            return;
        }
        if (result == start_result::stuck) {
            break;   // running but not serving: a zone that does not load, no port race
        }
    }
    ADD_FAILURE() << "knotd did not start on " << address_ << "; last stderr:\n"
                  << (knotd_ ? knotd_->err() : std::string{"(none)"});
    knotd_.reset();
}

knot_server::start_result knot_server::start(std::uint16_t port)
{
    dir_.write("knot.conf", knot_conf(dir_.path(), address_, port, origins_));
    knotd_ = std::make_unique<stork::test::child_process>(
        std::vector<std::string>{knotd_path, "-c", (dir_.path() / "knot.conf").string()});
    // Zones load one by one after the sockets are bound: ready when every one answers.
    std::size_t serving = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    while (std::chrono::steady_clock::now() < deadline) {
        // Each probe waits up to 100 ms for the answer; an early ECONNREFUSED (not bound
        // yet) costs the wait on the child's exit instead.
        const auto reply = raw_query(address_, port, origins_[serving], soa_type, false, std::chrono::milliseconds{100});
        if (reply && reply->rcode == 0 && ++serving == origins_.size()) {
            return start_result::ready;
        }
        if (reply && reply->rcode == 2 && knotd_->err().find("zone event 'load' failed") != std::string::npos) {
            return start_result::stuck;   // SERVFAIL for a zone knotd could not load: no use waiting
        }
        if (!reply || reply->rcode != 0) {
            if (knotd_->wait(std::chrono::milliseconds{20})) {
                return start_result::exited;   // a bind race or a configuration error
            }
        }
    }
    return start_result::stuck;
}

knot_server::~knot_server()
{
    if (knotd_) {
        knotd_->send_signal(SIGTERM);
        if (!knotd_->wait(std::chrono::seconds{10})) {
            knotd_.reset();   // SIGKILL by pid
        }
    }
}

bool knot_server::knotc(std::vector<std::string> args) const
{
    std::vector<std::string> argv{knotc_path, "-c", (dir_.path() / "knot.conf").string()};
    argv.insert(argv.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
    const auto result = stork::test::run(argv, std::chrono::seconds{10});
    if (result.status.exited() && result.status.code == 0) {
        return true;
    }
    ADD_FAILURE() << "`" << command_line(argv) << "` failed (exit " << result.status.code << ", signal "
                  << result.status.signal << "):\n"
                  << result.out << result.err;
    return false;
}

bool knot_server::edit(std::string_view zone, const std::vector<zone_change>& changes)
{
    if (!knotd_) {
        ADD_FAILURE() << "edit: knotd is not running";
        return false;
    }
    const auto before = try_serial(zone);
    if (!before) {
        ADD_FAILURE() << "edit: knotd serves no SOA for " << zone;
        return false;
    }
    const std::string z{zone};
    if (!knotc({"zone-begin", z})) {
        return false;
    }
    bool ok = true;
    for (const auto& c : changes) {
        std::vector<std::string> args;
        if (c.what == zone_change::kind::set) {
            args = {"zone-set", z, c.owner, std::to_string(c.ttl), c.type, c.data};
        } else {
            args = {"zone-unset", z, c.owner};
            if (!c.type.empty()) {
                args.push_back(c.type);
                if (!c.data.empty()) {
                    args.push_back(c.data);
                }
            }
        }
        if (!knotc(std::move(args))) {
            ok = false;
            break;
        }
    }
    if (!ok || !knotc({"zone-commit", z})) {
        // The failure is reported already; leave no transaction open for the next edit.
        // A commit that failed has aborted itself, so a failing zone-abort is no news.
        stork::test::run({knotc_path, "-c", (dir_.path() / "knot.conf").string(), "zone-abort", z},
                         std::chrono::seconds{10});
        return false;
    }

    // knotd applies a commit before knotc returns, but the answer is what the tests
    // rely on: wait until the server serves the bumped serial.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    while (std::chrono::steady_clock::now() < deadline) {
        const auto now = try_serial(zone);
        if (now && *now != *before) {
            return true;
        }
        if (knotd_->wait(std::chrono::milliseconds{5})) {
            ADD_FAILURE() << "edit: knotd exited:\n" << knotd_->err();
            return false;
        }
    }
    ADD_FAILURE() << "edit: knotd still serves serial " << *before << " for " << zone << " after the commit";
    return false;
}

std::optional<std::uint32_t> knot_server::try_serial(std::string_view zone) const
{
    if (port_ == 0) {
        return std::nullopt;
    }
    // A lost UDP datagram is possible even on loopback: a few tries.
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (const auto reply = raw_query(address_, port_, zone, soa_type, false, std::chrono::milliseconds{500})) {
            return soa_serial(*reply, zone);
        }
    }
    return std::nullopt;
}

std::uint32_t knot_server::serial(std::string_view zone) const
{
    const auto s = try_serial(zone);
    if (!s) {
        ADD_FAILURE() << "knotd on " << server() << " serves no SOA for " << zone;
    }
    return s.value_or(0);
}

} // namespace stork::dnscheck::test
