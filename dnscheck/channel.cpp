#include "dnscheck/channel.hpp"

#include <ares.h>

#include <arpa/nameser.h>
#include <poll.h>

#include <cassert>
#include <stdexcept>
#include <system_error>

namespace stork::dnscheck {
namespace {

std::string join_servers(const std::vector<std::string>& servers)
{
    std::string csv;
    for (const auto& s : servers) {
        if (!csv.empty()) {
            csv += ',';
        }
        csv += s;
    }
    return csv;
}

// After a read event, c-ares 1.18 reads a TCP reply with one recv per call (the length
// prefix, then the body on the next call), and Asio's epoll reactor is edge-triggered:
// bytes left behind might not wake us again. Drain what is already there, bounded.
constexpr int max_drain_rounds = 16;

bool readable_now(int fd)
{
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLERR | POLLHUP)) != 0;
}

} // namespace

channel::channel(boost::asio::io_context& io, channel_options options)
    : io_{io},
      timer_{io},
      servers_description_{options.servers.empty() ? "resolv.conf" : join_servers(options.servers)},
      max_outstanding_{options.max_outstanding}
{
    ensure_ares_library();

    ares_options o{};
    int mask = 0;
    // NOCHECKRESP: hand SERVFAIL/REFUSED to the handler instead of retrying and ending with
    // ARES_ECONNREFUSED. NOSEARCH/NOALIASES: ares_query ignores them, belt and braces.
    o.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS;
    if (options.no_recurse) {
        o.flags |= ARES_FLAG_NORECURSE;
    }
    mask |= ARES_OPT_FLAGS;
    // EDNS is off by default in 1.18; 1232 bytes is the DNS flag day 2020 size that avoids
    // IP fragmentation. Bigger answers come back truncated and c-ares retries over TCP.
    o.ednspsz = 1232;
    mask |= ARES_OPT_EDNSPSZ;
    o.timeout = static_cast<int>(options.timeout.count());
    mask |= ARES_OPT_TIMEOUTMS;
    o.tries = options.tries;
    mask |= ARES_OPT_TRIES;
    o.sock_state_cb = &channel::on_socket_state;
    o.sock_state_cb_data = this;
    mask |= ARES_OPT_SOCK_STATE_CB;

    ares_channel ch = nullptr;
    if (const int status = ares_init_options(&ch, &o, mask); status != ARES_SUCCESS) {
        throw std::system_error{status, std::generic_category(),
                                std::string{"c-ares channel: "} + ares_strerror(status)};
    }
    channel_ = ch;
    if (!options.servers.empty()) {
        const std::string csv = join_servers(options.servers);
        if (const int status = ares_set_servers_ports_csv(channel_, csv.c_str()); status != ARES_SUCCESS) {
            ares_destroy(channel_);
            channel_ = nullptr;
            throw std::invalid_argument{"DNS servers \"" + csv + "\": " + ares_strerror(status) +
                                        " (IP literals with an optional :port, IPv6 as [addr]:port)"};
        }
    }
}

channel::~channel()
{
    // Destroying the channel from inside one of its own handlers would free c-ares'
    // state under ares_process_fd: a bug in the caller (post the destruction instead).
    assert(processing_ == 0 && "dnscheck::channel destroyed from inside its own handler");
    *alive_ = false;
    destroying_ = true;
    // ares_destroy calls every pending handler with ARES_EDESTRUCTION, and the socket
    // state callback with (0, 0) for every socket, which releases the descriptors.
    ares_destroy(channel_);
    // The queries never sent end the same way, in order.
    while (!queued_.empty()) {
        auto q = std::move(queued_.front());
        queued_.pop_front();
        q.op->complete(make_ares_error(ARES_EDESTRUCTION), {});
    }
    for (auto& [fd, s] : sockets_) {
        s->watched = false;
        if (s->descriptor.is_open()) {
            s->descriptor.release();
        }
    }
    sockets_.clear();
}

void channel::start_query(std::string_view name, int qtype, std::unique_ptr<query_op_base> op)
{
    if (destroying_) {
        // c-ares forbids new requests from ARES_EDESTRUCTION callbacks.
        op->complete(make_ares_error(ARES_EDESTRUCTION), {});
        return;
    }
    if (max_outstanding_ != 0 && pending_ >= max_outstanding_) {
        queued_.push_back(queued_query{std::string{name}, qtype, std::move(op)});
        return;
    }
    const std::string n{name};
    op->owner = this;
    ++pending_;
    // on_answer owns the op from here on; it may run before ares_query returns.
    ares_query(channel_, n.c_str(), ns_c_in, qtype, &channel::on_answer, op.release());
    rearm_timer();
}

void channel::on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen)
{
    std::unique_ptr<query_op_base> op{static_cast<query_op_base*>(arg)};
    // The channel is alive here: c-ares only runs this from calls on the channel, the last
    // of them ares_destroy in ~channel.
    channel* owner = op->owner;
    --owner->pending_;
    std::span<const unsigned char> answer;
    if (abuf != nullptr && alen > 0) {
        answer = {abuf, static_cast<std::size_t>(alen)};
    }
    op->complete(make_ares_error(status), answer);
    // A place is free: the next held-back query leaves (c-ares allows queries from its
    // callbacks; ~channel ends the held-back ones itself).
    if (!owner->destroying_) {
        owner->send_queued();
    }
}

void channel::send_queued()
{
    while (!queued_.empty() && pending_ < max_outstanding_) {
        auto q = std::move(queued_.front());
        queued_.pop_front();
        start_query(q.name, q.qtype, std::move(q.op));
    }
}

void channel::on_socket_state(void* data, int fd, int readable, int writable)
{
    auto* self = static_cast<channel*>(data);
    if (readable == 0 && writable == 0) {
        // c-ares closes the fd right after this returns: release, never close. release()
        // also aborts the pending waits (operation_aborted).
        if (auto it = self->sockets_.find(fd); it != self->sockets_.end()) {
            it->second->watched = false;
            if (it->second->descriptor.is_open()) {
                it->second->descriptor.release();
            }
            self->sockets_.erase(it);
        }
        return;
    }
    if (self->destroying_) {
        return;
    }
    auto& s = self->sockets_[fd];
    if (!s) {
        s = std::make_shared<watched_socket>(self->io_, fd);
    }
    s->want_read = readable != 0;
    s->want_write = writable != 0;
    if (s->watched) {
        self->arm(s);
    }
}

void channel::arm(const std::shared_ptr<watched_socket>& s)
{
    if (s->want_read && !s->read_pending) {
        s->read_pending = true;
        s->descriptor.async_wait(boost::asio::posix::descriptor_base::wait_read,
                                 [this, s, alive = alive_](boost::system::error_code ec) {
                                     s->read_pending = false;
                                     if (ec || !*alive || !s->watched) {
                                         return;
                                     }
                                     on_readable(s);
                                 });
    }
    if (s->want_write && !s->write_pending) {
        s->write_pending = true;
        s->descriptor.async_wait(boost::asio::posix::descriptor_base::wait_write,
                                 [this, s, alive = alive_](boost::system::error_code ec) {
                                     s->write_pending = false;
                                     if (ec || !*alive || !s->watched) {
                                         return;
                                     }
                                     on_writable(s);
                                 });
    }
}

void channel::on_readable(const std::shared_ptr<watched_socket>& s)
{
    if (!s->want_read) {
        return;
    }
    const std::shared_ptr<bool> alive = alive_;
    process(s->fd, ARES_SOCKET_BAD);
    for (int round = 0; round < max_drain_rounds && *alive && s->watched && s->want_read && readable_now(s->fd);
         ++round) {
        process(s->fd, ARES_SOCKET_BAD);
    }
    if (*alive && s->watched) {
        arm(s);   // c-ares only calls back on a state change: re-arm ourselves
    }
}

void channel::on_writable(const std::shared_ptr<watched_socket>& s)
{
    if (!s->want_write) {
        return;
    }
    process(ARES_SOCKET_BAD, s->fd);
    if (s->watched) {
        arm(s);
    }
}

void channel::process(int read_fd, int write_fd)
{
    ++processing_;
    ares_process_fd(channel_, read_fd, write_fd);   // runs handlers, may close sockets
    --processing_;
    rearm_timer();
}

void channel::rearm_timer()
{
    timeval tv{};
    const timeval* next = ares_timeout(channel_, nullptr, &tv);
    if (next == nullptr) {
        timer_.cancel();
        return;
    }
    // +1 ms: 1.18's ares_timeout truncates to milliseconds while the expiry check compares
    // microseconds, so an exact timer would wake up early and do nothing (fixed in 1.23).
    timer_.expires_after(std::chrono::seconds{next->tv_sec} + std::chrono::microseconds{next->tv_usec} +
                         std::chrono::milliseconds{1});
    timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
        if (ec || !*alive) {
            return;
        }
        // Always runs c-ares' timeout processing (retries, ARES_ETIMEOUT).
        process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    });
}

} // namespace stork::dnscheck
