#pragma once

#include "tests/dnscheck/dns_builder.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

// A DNS server for tests that answers what a script says, for what real servers will not
// produce: silence, TC=1 then TCP, malformed bytes, a TCP connection closed unanswered.
//
//   scripted_responder dns{[](const received_query& q) {
//       return action::reply(dns_builder::reply_to(q.query).rcode(2).build());   // SERVFAIL
//   }};
//   channel ch{io, {.servers = {dns.server()}}};
//
// It binds 127.0.0.1 UDP and TCP on one port before the constructor returns, serves on
// its own thread (poll), and stops and joins in the destructor.
namespace stork::dnscheck::test {

enum class transport { udp, tcp };

struct received_query {
    transport via = transport::udp;
    query_info query;    // id, name, qtype, qclass, RD bit
};

// What to do with one query.
class action {
public:
    enum class kind { reply, silence, truncate_udp, close_connection };

    // Send these bytes as they are, over the transport the query came on. Echo the
    // query's id and question (dns_builder::reply_to) or the client will drop them.
    static action reply(std::vector<unsigned char> bytes) { return {kind::reply, std::move(bytes)}; }
    // The same as reply: a name for bytes that are broken on purpose.
    static action malformed(std::vector<unsigned char> bytes) { return {kind::reply, std::move(bytes)}; }
    // No answer at all; a TCP connection stays open. The client times out.
    static action silence() { return {kind::silence, {}}; }
    // Over UDP: the query's header and question with TC=1 and no records (RFC 2181 §9),
    // so the client retries over TCP. Over TCP: `full`.
    static action truncate_udp(std::vector<unsigned char> full) { return {kind::truncate_udp, std::move(full)}; }
    // Over TCP: close the connection without answering. Over UDP: no answer.
    static action close_connection() { return {kind::close_connection, {}}; }

    kind what = kind::silence;
    std::vector<unsigned char> bytes;
};

class scripted_responder {
public:
    // Called on the responder's thread for every readable query, in arrival order.
    using script = std::function<action(const received_query&)>;

    // Throws std::runtime_error when no port is free for both UDP and TCP.
    explicit scripted_responder(script s);
    ~scripted_responder();
    scripted_responder(const scripted_responder&) = delete;
    scripted_responder& operator=(const scripted_responder&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    // "127.0.0.1:<port>", as channel_options::servers takes it.
    std::string server() const { return "127.0.0.1:" + std::to_string(port_); }

    // Queries received per transport, unreadable ones included.
    std::size_t udp_queries() const;
    std::size_t tcp_queries() const;
    // The readable queries, oldest first (the last `kept_queries`).
    std::vector<received_query> queries() const;
    std::optional<received_query> last_query() const;

    static constexpr std::size_t kept_queries = 64;

private:
    // A socket this object owns, closed when it goes.
    class owned_fd {
    public:
        explicit owned_fd(int fd = -1) noexcept : fd_{fd} {}
        owned_fd(owned_fd&& o) noexcept : fd_{std::exchange(o.fd_, -1)} {}
        owned_fd& operator=(owned_fd&& o) noexcept;
        ~owned_fd();
        int get() const noexcept { return fd_; }

    private:
        int fd_;
    };
    struct tcp_connection {
        owned_fd fd;
        std::vector<unsigned char> in;   // bytes received, not yet a whole length-prefixed message
    };

    void serve(std::stop_token stop);
    void on_udp();
    void on_accept(std::vector<tcp_connection>& connections);
    // False when the connection is to be closed.
    bool on_tcp(tcp_connection& c);
    struct decision {
        query_info query;
        action then;
    };
    // Counts and records the query and asks the script; nothing for an unreadable query.
    std::optional<decision> decide(transport via, std::span<const unsigned char> wire);

    script script_;
    owned_fd udp_;
    owned_fd tcp_;
    owned_fd wake_;       // eventfd: the destructor writes to it to end poll()
    std::uint16_t port_ = 0;

    mutable std::mutex mutex_;
    std::size_t udp_count_ = 0;
    std::size_t tcp_count_ = 0;
    std::vector<received_query> recent_;

    std::jthread thread_;    // last: started after everything above exists, joined first
};

} // namespace stork::dnscheck::test
