#include "tests/dnscheck/scripted_responder.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <stdexcept>

namespace stork::dnscheck::test {
namespace {

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
    socklen_t length = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length) != 0) {
        return 0;
    }
    return ntohs(a.sin_port);
}

// Writes all of `bytes` to a non-blocking stream socket (replies are small; the wait for
// room is bounded so that a client that stopped reading cannot hang the responder).
bool send_all(int fd, std::span<const unsigned char> bytes)
{
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes = bytes.subspan(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            pollfd p{fd, POLLOUT, 0};
            if (::poll(&p, 1, 1000) <= 0) {
                return false;
            }
            continue;
        }
        return false;
    }
    return true;
}

// RFC 1035 §4.2.2: over TCP every message is preceded by its 2-byte length.
std::vector<unsigned char> with_length_prefix(const std::vector<unsigned char>& message)
{
    std::vector<unsigned char> out{static_cast<unsigned char>(message.size() >> 8),
                                   static_cast<unsigned char>(message.size() & 0xff)};
    out.insert(out.end(), message.begin(), message.end());
    return out;
}

} // namespace

scripted_responder::owned_fd& scripted_responder::owned_fd::operator=(owned_fd&& o) noexcept
{
    if (this != &o) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
}

scripted_responder::owned_fd::~owned_fd()
{
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

scripted_responder::scripted_responder(script s) : script_{std::move(s)}
{
    // UDP on port 0, then TCP on the same port; another process may hold that TCP port,
    // so try again with a new UDP port.
    for (int attempt = 0; attempt < 20 && port_ == 0; ++attempt) {
        owned_fd udp{::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
        const auto any = loopback(0);
        if (udp.get() < 0 || ::bind(udp.get(), reinterpret_cast<const sockaddr*>(&any), sizeof any) != 0) {
            continue;
        }
        const std::uint16_t port = bound_port(udp.get());
        owned_fd tcp{::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
        const int on = 1;
        const auto same = loopback(port);
        if (port == 0 || tcp.get() < 0 || ::setsockopt(tcp.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
            ::bind(tcp.get(), reinterpret_cast<const sockaddr*>(&same), sizeof same) != 0 ||
            ::listen(tcp.get(), 16) != 0) {
            continue;
        }
        udp_ = std::move(udp);
        tcp_ = std::move(tcp);
        port_ = port;
    }
    if (port_ == 0) {
        throw std::runtime_error{"scripted_responder: no port free for both UDP and TCP on 127.0.0.1"};
    }
    wake_ = owned_fd{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    if (wake_.get() < 0) {
        throw std::runtime_error{std::string{"scripted_responder: eventfd: "} + std::strerror(errno)};
    }
    thread_ = std::jthread{[this](std::stop_token stop) { serve(stop); }};
}

scripted_responder::~scripted_responder()
{
    thread_.request_stop();
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof one);
    thread_.join();
}

std::size_t scripted_responder::udp_queries() const
{
    std::lock_guard lock{mutex_};
    return udp_count_;
}

std::size_t scripted_responder::tcp_queries() const
{
    std::lock_guard lock{mutex_};
    return tcp_count_;
}

std::vector<received_query> scripted_responder::queries() const
{
    std::lock_guard lock{mutex_};
    return recent_;
}

std::optional<received_query> scripted_responder::last_query() const
{
    std::lock_guard lock{mutex_};
    if (recent_.empty()) {
        return std::nullopt;
    }
    return recent_.back();
}

void scripted_responder::serve(std::stop_token stop)
{
    std::vector<tcp_connection> connections;
    std::vector<pollfd> fds;
    while (!stop.stop_requested()) {
        fds.assign({{wake_.get(), POLLIN, 0}, {udp_.get(), POLLIN, 0}, {tcp_.get(), POLLIN, 0}});
        for (const auto& c : connections) {
            fds.push_back({c.fd.get(), POLLIN, 0});
        }
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            ADD_FAILURE() << "scripted_responder: poll: " << std::strerror(errno);
            return;
        }
        if (fds[0].revents != 0) {
            return;
        }
        if (fds[1].revents != 0) {
            on_udp();
        }
        // Backwards, so that erasing keeps the indexes of those not visited yet.
        for (std::size_t i = connections.size(); i-- > 0;) {
            if (fds[3 + i].revents != 0 && !on_tcp(connections[i])) {
                connections.erase(connections.begin() + static_cast<std::ptrdiff_t>(i));
            }
        }
        if (fds[2].revents != 0) {
            on_accept(connections);
        }
    }
}

std::optional<scripted_responder::decision> scripted_responder::decide(transport via,
                                                                      std::span<const unsigned char> wire)
{
    const auto read = read_query(wire);
    {
        std::lock_guard lock{mutex_};
        ++(via == transport::udp ? udp_count_ : tcp_count_);
        if (!read) {
            return std::nullopt;
        }
        if (recent_.size() == kept_queries) {
            recent_.erase(recent_.begin());
        }
        recent_.push_back({via, *read});
    }
    // The script runs without the lock: it may take its time, and tests may read the
    // counters meanwhile.
    try {
        return decision{*read, script_(received_query{via, *read})};
    } catch (const std::exception& e) {
        ADD_FAILURE() << "scripted_responder: the script threw: " << e.what();
        return decision{*read, action::silence()};
    }
}

void scripted_responder::on_udp()
{
    std::vector<unsigned char> buffer(65535);
    for (;;) {
        sockaddr_in peer{};
        socklen_t peer_length = sizeof peer;
        const ssize_t n = ::recvfrom(udp_.get(), buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&peer),
                                     &peer_length);
        if (n < 0) {
            return;   // EAGAIN: drained
        }
        const auto d = decide(transport::udp, std::span{buffer.data(), static_cast<std::size_t>(n)});
        if (!d) {
            continue;
        }
        std::vector<unsigned char> reply;
        switch (d->then.what) {
        case action::kind::reply:
            reply = d->then.bytes;
            break;
        case action::kind::truncate_udp:
            reply = dns_builder::reply_to(d->query).tc().build();
            break;
        case action::kind::silence:
        case action::kind::close_connection:
            continue;
        }
        ::sendto(udp_.get(), reply.data(), reply.size(), 0, reinterpret_cast<const sockaddr*>(&peer), peer_length);
    }
}

void scripted_responder::on_accept(std::vector<tcp_connection>& connections)
{
    for (;;) {
        owned_fd fd{::accept4(tcp_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)};
        if (fd.get() < 0) {
            return;
        }
        connections.push_back({std::move(fd), {}});
    }
}

bool scripted_responder::on_tcp(tcp_connection& c)
{
    unsigned char chunk[4096];
    for (;;) {
        const ssize_t n = ::recv(c.fd.get(), chunk, sizeof chunk, 0);
        if (n == 0) {
            return false;   // the client closed
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            return false;
        }
        c.in.insert(c.in.end(), chunk, chunk + n);
    }
    while (c.in.size() >= 2) {
        const std::size_t length = static_cast<std::size_t>(c.in[0] << 8 | c.in[1]);
        if (c.in.size() < 2 + length) {
            break;
        }
        const std::vector<unsigned char> wire(c.in.begin() + 2, c.in.begin() + 2 + static_cast<std::ptrdiff_t>(length));
        c.in.erase(c.in.begin(), c.in.begin() + 2 + static_cast<std::ptrdiff_t>(length));
        const auto d = decide(transport::tcp, wire);
        if (!d) {
            continue;
        }
        switch (d->then.what) {
        case action::kind::reply:
        case action::kind::truncate_udp:
            if (!send_all(c.fd.get(), with_length_prefix(d->then.bytes))) {
                return false;
            }
            break;
        case action::kind::silence:
            break;
        case action::kind::close_connection:
            return false;
        }
    }
    return true;
}

} // namespace stork::dnscheck::test
