#pragma once

#include "dnscheck/ares_error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/append.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

// c-ares' channel type, without pulling <ares.h> into every includer.
struct ares_channeldata;

namespace stork::dnscheck {

struct channel_options {
    // "192.0.2.53", "192.0.2.53:5353", "[2001:db8::53]:53" (IP literals only; the port
    // serves UDP and TCP). Empty: the servers of /etc/resolv.conf.
    std::vector<std::string> servers;
    // The first try's timeout; c-ares 1.18 doubles it on each round over the servers.
    std::chrono::milliseconds timeout{2000};
    int tries = 2;
    // RD=0, for queries to authoritative servers (the advisor).
    bool no_recurse = false;
    // Queries sent and not answered yet, at most (0: no limit); more wait in the channel,
    // in order, and leave as answers come back. c-ares sends every query at once on one
    // UDP socket: a burst of hundreds overflows a receive buffer on the way (the server's
    // or ours, ~200 KiB by default on Linux), and each lost datagram costs a whole
    // timeout before the retry (issue 6: a report over 1,000 hosts took 2 s instead of
    // 0.14 s, all of it one timeout round).
    std::size_t max_outstanding = 0;
};

// One c-ares channel driven by one io_context (issue 6). Single-threaded by design, as
// c-ares 1.18 has no channel locking: create it, query it and destroy it on the thread
// that runs the io_context. One channel per worker per server set.
//
// How it is driven: ARES_OPT_SOCK_STATE_CB tells which sockets c-ares wants watched;
// each becomes a posix::stream_descriptor that only ever async_waits (c-ares reads and
// writes the fd itself) and is re-armed after every ares_process_fd, because c-ares does
// not call the callback again while a socket's state is unchanged. When c-ares closes a
// socket the descriptor is release()d, never closed: the fd belongs to c-ares. One
// steady_timer follows ares_timeout() (+1 ms: 1.18 truncates to ms but compares in µs).
//
// Handlers: `query` calls its handler exactly once, on the io_context thread, from inside
// c-ares processing, so the answer bytes are c-ares' buffer, valid only during the call.
// It can be called inline (a malformed name gives ARES_EBADNAME before query() returns)
// and from ~channel with ARES_EDESTRUCTION for every query still in flight.
// A handler may start new queries, but must not destroy the channel (post that), and
// must not throw (it runs inside c-ares' C code).
class channel {
public:
    using executor_type = boost::asio::io_context::executor_type;

    // Throws std::system_error / std::invalid_argument (start-up) when c-ares refuses the
    // options or a server address.
    channel(boost::asio::io_context& io, channel_options options);
    ~channel();
    channel(const channel&) = delete;
    channel& operator=(const channel&) = delete;

    executor_type get_executor() const noexcept { return io_.get_executor(); }

    // Sends `name` (no search list, no HOSTALIASES: ares_query) of type `qtype` (ns_t_a,
    // ns_t_aaaa, T_CAA, ...), class IN, and calls handler(error_code, span<const unsigned
    // char> answer). The answer is the whole DNS message when there is one: on success,
    // and also with ARES_ENOTFOUND (NXDOMAIN), ARES_ENODATA, ARES_ESERVFAIL, ARES_EREFUSED
    // (ARES_FLAG_NOCHECKRESP), so the authority section can be read; empty otherwise.
    template <typename Handler>
    void query(std::string_view name, int qtype, Handler&& handler)
    {
        start_query(name, qtype, std::make_unique<query_op<std::decay_t<Handler>>>(std::forward<Handler>(handler)));
    }

    // The same as an Asio asynchronous operation, signature
    // void(boost::system::error_code, std::vector<unsigned char> answer): works with
    // use_awaitable, as_tuple(use_awaitable) and plain callbacks. The answer is copied, and
    // the completion is posted, never run inline.
    // `name` is taken by value: use_awaitable starts the operation after the caller has
    // suspended.
    template <typename CompletionToken>
    auto async_query(std::string name, int qtype, CompletionToken&& token)
    {
        return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, std::vector<unsigned char>)>(
            [this](auto handler, const std::string& n, int t) {
                query(n, t,
                      [h = std::move(handler), ex = get_executor()](boost::system::error_code ec,
                                                                   std::span<const unsigned char> answer) mutable {
                          boost::asio::post(ex, boost::asio::append(std::move(h), ec,
                                                                    std::vector<unsigned char>(answer.begin(), answer.end())));
                      });
            },
            token, std::move(name), qtype);
    }

    // Queries sent whose handler has not run yet.
    std::size_t pending() const noexcept { return pending_; }
    // Queries waiting for their turn (max_outstanding), not sent yet.
    std::size_t queued() const noexcept { return queued_.size(); }

    // The servers as given, for messages ("127.0.0.1:5353", or "resolv.conf").
    const std::string& servers_description() const noexcept { return servers_description_; }

private:
    struct query_op_base {
        virtual ~query_op_base() = default;
        virtual void complete(boost::system::error_code ec, std::span<const unsigned char> answer) = 0;
        channel* owner = nullptr;
    };
    template <typename Handler>
    struct query_op final : query_op_base {
        explicit query_op(Handler h) : handler(std::move(h)) {}
        void complete(boost::system::error_code ec, std::span<const unsigned char> answer) override
        {
            handler(ec, answer);
        }
        Handler handler;
    };

    // One socket c-ares asked us to watch. Shared with its pending waits, which outlive
    // it when c-ares closes the fd (release() aborts them, but a wait that already
    // completed still runs its handler once): `watched` false means "c-ares is done
    // with this fd, do nothing".
    struct watched_socket {
        // assign() with an error_code: this runs inside c-ares' C code, no exception may
        // cross it. A descriptor epoll refuses is left unwatched; the timer still ends its
        // queries (ARES_ETIMEOUT).
        watched_socket(boost::asio::io_context& io, int socket_fd) : descriptor{io}, fd{socket_fd}
        {
            descriptor.assign(socket_fd, assign_error);
            watched = !assign_error;
        }
        boost::system::error_code assign_error;
        boost::asio::posix::stream_descriptor descriptor;
        int fd = -1;
        bool watched = true;
        bool want_read = false;
        bool want_write = false;
        bool read_pending = false;
        bool write_pending = false;
    };

    // A query held back by max_outstanding.
    struct queued_query {
        std::string name;
        int qtype = 0;
        std::unique_ptr<query_op_base> op;
    };

    void start_query(std::string_view name, int qtype, std::unique_ptr<query_op_base> op);
    void send_queued();
    static void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
    static void on_socket_state(void* data, int fd, int readable, int writable);
    void arm(const std::shared_ptr<watched_socket>& s);
    void on_readable(const std::shared_ptr<watched_socket>& s);
    void on_writable(const std::shared_ptr<watched_socket>& s);
    void rearm_timer();
    void process(int read_fd, int write_fd);

    boost::asio::io_context& io_;
    ares_channeldata* channel_ = nullptr;
    boost::asio::steady_timer timer_;
    std::unordered_map<int, std::shared_ptr<watched_socket>> sockets_;
    std::string servers_description_;
    std::size_t pending_ = 0;
    std::size_t max_outstanding_ = 0;
    std::deque<queued_query> queued_;
    int processing_ = 0;         // depth of ares_process_fd calls (destroying then is a bug)
    bool destroying_ = false;    // inside ~channel: new queries fail with ARES_EDESTRUCTION
    // Handlers already queued in the io_context (a fired timer, a completed wait) may run
    // after the channel is gone; they hold this and check it first.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace stork::dnscheck
