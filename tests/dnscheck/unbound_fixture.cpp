#include "tests/dnscheck/unbound_fixture.hpp"

#include "tests/dnscheck/raw_dns.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>

namespace stork::dnscheck::test {
namespace {

constexpr const char* unbound_path = "/usr/sbin/unbound";

std::string quoted_zone(std::string name)
{
    if (!name.ends_with('.')) {
        name += '.';
    }
    return "\"" + name + "\"";
}

std::string unbound_conf(const std::filesystem::path& dir, const std::string& address, std::uint16_t port,
                         const unbound_options& o)
{
    const std::string d = dir.string();
    const std::string p = std::to_string(port);
    // /work/shared/reference/dns-advisor.md §4, and why each other line is there:
    // - username "" and chroot "": no privilege drop and no chroot, so it runs the same as
    //   an ordinary user and as root (CI);
    // - logfile "" with use-syslog no: the log goes to stderr, which the fixture keeps;
    // - do-not-query-localhost no: the stubs are on 127/8;
    // - do-not-query-address for every IPv4 block but 127/8 (and do-ip6 no): names outside
    //   the stub zones, and CNAME targets outside them, would send unbound to the root
    //   servers (built-in hints) — with no network it then retries for minutes, with one
    //   it answers from the internet. With every address but loopback forbidden the
    //   iterator has no server to ask and answers SERVFAIL at once. (A `local-zone: "."
    //   refuse` would only catch the question's own name, not a CNAME target.)
    // - qname-minimisation no: one query per name to the stub, as the tests expect;
    // - so-reuseport no: a second process on the same port fails to bind instead of
    //   sharing the port, so a lost free-port race shows up and is retried.
    std::string conf = "server:\n"
                       "    interface: " + address + "@" + p + "\n"
                       "    port: " + p + "\n"
                       "    username: \"\"\n"
                       "    chroot: \"\"\n"
                       "    directory: \"" + d + "\"\n"
                       "    pidfile: \"" + d + "/unbound.pid\"\n"
                       "    use-syslog: no\n"
                       "    logfile: \"\"\n"
                       "    verbosity: 1\n"
                       "    do-not-query-localhost: no\n"
                       "    module-config: \"iterator\"\n"
                       "    access-control: 127.0.0.0/8 allow\n"
                       "    num-threads: 1\n"
                       "    so-reuseport: no\n"
                       "    do-ip6: no\n"
                       "    qname-minimisation: no\n"
                       "    do-not-query-address: 0.0.0.0/2\n"
                       "    do-not-query-address: 64.0.0.0/3\n"
                       "    do-not-query-address: 96.0.0.0/4\n"
                       "    do-not-query-address: 112.0.0.0/5\n"
                       "    do-not-query-address: 120.0.0.0/6\n"
                       "    do-not-query-address: 124.0.0.0/7\n"
                       "    do-not-query-address: 126.0.0.0/8\n"
                       "    do-not-query-address: 128.0.0.0/1\n";
    if (o.cache_min_ttl) {
        conf += "    cache-min-ttl: " + std::to_string(*o.cache_min_ttl) + "\n";
    }
    if (o.cache_max_ttl) {
        conf += "    cache-max-ttl: " + std::to_string(*o.cache_max_ttl) + "\n";
    }
    if (o.cache_max_negative_ttl) {
        conf += "    cache-max-negative-ttl: " + std::to_string(*o.cache_max_negative_ttl) + "\n";
    }
    // A stub zone under one of unbound's built-in local zones (RFC 6761 names such as
    // "test." or "invalid.") would be shadowed by it: nodefault turns the built-in off
    // (unbound.conf(5), "local-zone"); for any other zone it changes nothing.
    for (const auto& [zone, servers] : o.stubs) {
        conf += "    local-zone: " + quoted_zone(zone) + " nodefault\n";
    }
    conf += "remote-control:\n"
            "    control-enable: no\n";
    for (const auto& [zone, servers] : o.stubs) {
        conf += "stub-zone:\n"
                "    name: " + quoted_zone(zone) + "\n";
        for (const auto& s : servers) {
            conf += "    stub-addr: " + s + "\n";
        }
    }
    return conf;
}

} // namespace

unbound_server::unbound_server(unbound_options options) : options_{std::move(options)}
{
    for (int attempt = 0; attempt < 5; ++attempt) {
        const std::uint16_t port = free_port(address_);
        if (port == 0) {
            continue;
        }
        if (start(port)) {
            port_ = port;
            return;
        }
        if (!unbound_->wait(std::chrono::milliseconds{0})) {
            break;   // running but not answering: no port race, another port won't help
        }
    }
    ADD_FAILURE() << "unbound did not start; last stderr:\n" << log() << "\nconfiguration:\n"
                  << stork::test::read_file(dir_.path() / "unbound.conf");
    unbound_.reset();
}

bool unbound_server::start(std::uint16_t port)
{
    dir_.write("unbound.conf", unbound_conf(dir_.path(), address_, port, options_));
    unbound_ = std::make_unique<stork::test::child_process>(
        std::vector<std::string>{unbound_path, "-d", "-c", (dir_.path() / "unbound.conf").string()});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    while (std::chrono::steady_clock::now() < deadline) {
        // Without RD unbound answers from its cache only (REFUSED here): any reply means
        // it is serving, and the probe leaves nothing in the cache.
        if (raw_query(address_, port, ".", 6, false, std::chrono::milliseconds{100})) {
            return true;
        }
        if (unbound_->wait(std::chrono::milliseconds{20})) {
            return false;   // exited: a bind race or a configuration error
        }
    }
    return false;
}

unbound_server::~unbound_server()
{
    if (unbound_) {
        unbound_->send_signal(SIGTERM);
        if (!unbound_->wait(std::chrono::seconds{10})) {
            unbound_.reset();   // SIGKILL by pid
        }
    }
}

std::string unbound_server::log() const
{
    return unbound_ ? unbound_->err() : std::string{"(not started)"};
}

} // namespace stork::dnscheck::test
