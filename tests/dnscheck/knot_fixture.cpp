#include "tests/dnscheck/knot_fixture.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <vector>

namespace stork::dnscheck::test {
namespace {

constexpr const char* knotd_path = "/usr/sbin/knotd";

class fd_guard {
public:
    explicit fd_guard(int fd) : fd_{fd} {}
    ~fd_guard()
    {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    int get() const noexcept { return fd_; }

private:
    int fd_;
};

sockaddr_in loopback(std::uint16_t port)
{
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

std::uint16_t bound_port(int fd)
{
    sockaddr_in a{};
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        return 0;
    }
    return ntohs(a.sin_port);
}

std::string knot_conf(const std::filesystem::path& dir, std::uint16_t port, const std::string& origin)
{
    // Paths from docs: rundir and storage default to system folders; zone edits stay in
    // memory (/work/shared/reference/dns-advisor.md §4).
    const std::string d = dir.string();
    return "server:\n"
           "    listen: 127.0.0.1@" + std::to_string(port) + "\n"
           "    rundir: \"" + d + "\"\n"
           "log:\n"
           "  - target: stderr\n"
           "    any: info\n"
           "database:\n"
           "    storage: \"" + d + "/db\"\n"
           "control:\n"
           "    listen: \"" + d + "/knot.sock\"\n"
           "zone:\n"
           "  - domain: " + origin + "\n"
           "    storage: \"" + d + "\"\n"
           "    file: zone.txt\n"
           "    zonefile-sync: -1\n"
           "    journal-content: none\n";
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

std::uint16_t free_port()
{
    for (int attempt = 0; attempt < 20; ++attempt) {
        fd_guard udp{::socket(AF_INET, SOCK_DGRAM, 0)};
        auto any = loopback(0);
        if (udp.get() < 0 || ::bind(udp.get(), reinterpret_cast<sockaddr*>(&any), sizeof any) != 0) {
            continue;
        }
        const std::uint16_t port = bound_port(udp.get());
        fd_guard tcp{::socket(AF_INET, SOCK_STREAM, 0)};
        auto same = loopback(port);
        if (tcp.get() >= 0 && ::bind(tcp.get(), reinterpret_cast<sockaddr*>(&same), sizeof same) == 0) {
            return port;
        }
    }
    return 0;
}

bool answers_soa(std::uint16_t port, std::string_view name, int timeout_ms)
{
    static std::uint16_t next_id = 0x5a00;
    const std::uint16_t id = ++next_id;
    std::vector<unsigned char> q{static_cast<unsigned char>(id >> 8), static_cast<unsigned char>(id & 0xff),
                                 0x00, 0x00,  // QR=0, opcode 0, RD=0
                                 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    std::size_t start = 0;
    while (start < name.size()) {
        std::size_t dot = name.find('.', start);
        if (dot == std::string_view::npos) {
            dot = name.size();
        }
        q.push_back(static_cast<unsigned char>(dot - start));
        q.insert(q.end(), name.begin() + static_cast<std::ptrdiff_t>(start), name.begin() + static_cast<std::ptrdiff_t>(dot));
        start = dot + 1;
    }
    q.insert(q.end(), {0x00, 0x00, 0x06, 0x00, 0x01});   // root, QTYPE SOA, QCLASS IN

    fd_guard s{::socket(AF_INET, SOCK_DGRAM, 0)};
    auto to = loopback(port);
    if (s.get() < 0 || ::connect(s.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 ||
        ::send(s.get(), q.data(), q.size(), 0) != static_cast<ssize_t>(q.size())) {
        return false;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds{timeout_ms};
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return false;
        }
        pollfd p{s.get(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) != 1) {
            return false;
        }
        unsigned char reply[1232];
        const ssize_t n = ::recv(s.get(), reply, sizeof reply, 0);
        if (n < 0) {
            return false;   // ECONNREFUSED: nothing listens yet
        }
        if (n >= 12 && reply[0] == q[0] && reply[1] == q[1]) {
            return (reply[2] & 0x80) != 0 && (reply[3] & 0x0f) == 0;   // a response, NOERROR
        }
    }
}

knot_server::knot_server(std::string origin, std::string zone) : origin_{std::move(origin)}
{
    dir_.write("zone.txt", zone);
    std::filesystem::create_directories(dir_.path() / "db");
    // A port found free can be taken before knotd binds it: try a few.
    for (int attempt = 0; attempt < 5; ++attempt) {
        const std::uint16_t port = free_port();
        if (port != 0 && start(port)) {
            port_ = port;
            return;
        }
    }
    ADD_FAILURE() << "knotd did not start; last stderr:\n" << (knotd_ ? knotd_->err() : std::string{"(none)"});
}

bool knot_server::start(std::uint16_t port)
{
    dir_.write("knot.conf", knot_conf(dir_.path(), port, origin_));
    knotd_ = std::make_unique<stork::test::child_process>(
        std::vector<std::string>{knotd_path, "-c", (dir_.path() / "knot.conf").string()});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
    while (std::chrono::steady_clock::now() < deadline) {
        // Each probe waits up to 100 ms for the answer; an early ECONNREFUSED (not bound
        // yet) costs the wait on the child's exit instead.
        if (answers_soa(port, origin_, 100)) {
            return true;
        }
        if (knotd_->wait(std::chrono::milliseconds{20})) {
            return false;   // exited: a bind race or a configuration error
        }
    }
    return false;
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

} // namespace stork::dnscheck::test
