#include "proxy/tls_io.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/write.hpp>

#include <openssl/err.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>

namespace stork::proxy {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::deferred);

// Error codes of tls_category(): the OpenSSL packed error (ERR_get_error), truncated to
// int; 1 when the queue was empty. (Destructor: see dnscheck/ares_error.cpp.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class tls_error_category final : public boost::system::error_category {
public:
    constexpr tls_error_category() noexcept : boost::system::error_category{0x73746f726b746c73ULL} {}
    const char* name() const noexcept override { return "tls"; }
    std::string message(int ev) const override
    {
        if (ev == 1) {
            return "TLS failure";
        }
        const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ev));
        return reason != nullptr ? reason : "TLS failure";
    }
};
#pragma GCC diagnostic pop

// What a failed SSL_* call means. would_read / would_write: wait and call again.
enum class outcome { would_read, would_write, failed };

outcome classify(SSL* ssl, int ret, boost::system::error_code& ec)
{
    const int e = SSL_get_error(ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        return outcome::would_read;
    case SSL_ERROR_WANT_WRITE:
        return outcome::would_write;
    case SSL_ERROR_ZERO_RETURN:
        ec = asio::error::eof;
        break;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() != 0) {
            ec.assign(static_cast<int>(ERR_get_error() & 0x7fffffff), tls_category());
        } else if (errno != 0) {
            ec.assign(errno, boost::system::system_category());
        } else {
            ec = asio::error::eof;
        }
        break;
    default: {
        const unsigned long packed = ERR_get_error();
        ec.assign(packed != 0 ? static_cast<int>(packed & 0x7fffffff) : 1, tls_category());
        break;
    }
    }
    ERR_clear_error();
    return outcome::failed;
}

// Pieces smaller than this are gathered into one record instead of one record each.
constexpr std::size_t gather_limit = 16 * 1024;

// One worker thread's gathering buffer. Never held across a wait: a write that would
// block is retried with the same bytes regathered (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
thread_local std::array<char, gather_limit> gather_buffer;

// Writes what follows `done` in head+body; true when everything was written, false with
// `why` set to the reason to stop (would_read / would_write / failed + ec).
bool write_from(SSL* ssl, std::string_view head, std::string_view body, std::size_t& done, outcome& why,
                boost::system::error_code& ec)
{
    const std::size_t total = head.size() + body.size();
    while (done < total) {
        std::string_view piece;
        if (done < head.size() && head.size() - done + body.size() <= gather_limit && !body.empty()) {
            const std::size_t h = head.size() - done;
            std::memcpy(gather_buffer.data(), head.data() + done, h);
            std::memcpy(gather_buffer.data() + h, body.data(), body.size());
            piece = {gather_buffer.data(), h + body.size()};
        } else if (done < head.size()) {
            piece = head.substr(done);
        } else {
            piece = body.substr(done - head.size());
        }
        std::size_t n = 0;
        const int ret = SSL_write_ex(ssl, piece.data(), piece.size(), &n);
        if (ret == 1) {
            done += n;
            continue;
        }
        why = classify(ssl, ret, ec);
        return false;
    }
    return true;
}

} // namespace

// One sendmsg() on a non-blocking socket, before any asynchronous operation: most
// writes fit the socket buffer, and then the coroutine goes on without a trip through
// the event loop (an async_write completes through a posted handler even when its
// first attempt wrote everything). True when all was written; otherwise `done` is what
// was, or SIZE_MAX on an error.
bool write_now(tcp::socket& socket, std::string_view head, std::string_view body, std::size_t& done)
{
    const std::array<asio::const_buffer, 2> parts{asio::buffer(head), asio::buffer(body)};
    boost::system::error_code ec;
    done = socket.write_some(parts, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
        done = 0;
        return false;
    }
    if (ec) {
        done = SIZE_MAX;
        return false;
    }
    return done == head.size() + body.size();
}

// What write_now() left, through the event loop: (no error, bytes written by this call).
awaitable<std::pair<bool, std::size_t>> write_rest(tcp::socket& socket, std::string_view head, std::string_view body,
                                                   std::size_t done)
{
    const std::size_t body_done = done > head.size() ? done - head.size() : 0;
    const std::array<asio::const_buffer, 2> parts{asio::buffer(head) + done, asio::buffer(body) + body_done};
    auto [ec, n] = co_await asio::async_write(socket, parts, nothrow);
    co_return std::pair{!ec, n};
}

const boost::system::error_category& tls_category() noexcept
{
    static const tls_error_category category;
    return category;
}

awaitable<boost::system::error_code> tls_handshake(tcp::socket& socket, SSL* ssl)
{
    for (;;) {
        ERR_clear_error();
        const int ret = SSL_do_handshake(ssl);
        if (ret == 1) {
            co_return boost::system::error_code{};
        }
        boost::system::error_code ec;
        const outcome o = classify(ssl, ret, ec);
        if (o == outcome::failed) {
            co_return ec;
        }
        auto [wait_ec] = co_await socket.async_wait(
            o == outcome::would_read ? tcp::socket::wait_read : tcp::socket::wait_write, nothrow);
        if (wait_ec) {
            co_return wait_ec;
        }
    }
}

awaitable<std::pair<boost::system::error_code, std::size_t>> tls_read_some(tcp::socket& socket, SSL* ssl,
                                                                           asio::mutable_buffer room)
{
    for (;;) {
        std::size_t n = 0;
        const int ret = SSL_read_ex(ssl, room.data(), room.size(), &n);
        if (ret == 1) {
            co_return std::pair{boost::system::error_code{}, n};
        }
        boost::system::error_code ec;
        const outcome o = classify(ssl, ret, ec);
        if (o == outcome::failed) {
            co_return std::pair{ec, std::size_t{0}};
        }
        auto [wait_ec] = co_await socket.async_wait(
            o == outcome::would_read ? tcp::socket::wait_read : tcp::socket::wait_write, nothrow);
        if (wait_ec) {
            co_return std::pair{wait_ec, std::size_t{0}};
        }
    }
}

std::size_t tls_read_now(SSL* ssl, asio::mutable_buffer room, tcp::socket::wait_type& wait,
                         boost::system::error_code& ec)
{
    std::size_t n = 0;
    const int ret = SSL_read_ex(ssl, room.data(), room.size(), &n);
    if (ret == 1) {
        return n;
    }
    const outcome o = classify(ssl, ret, ec);
    if (o != outcome::failed) {
        wait = o == outcome::would_read ? tcp::socket::wait_read : tcp::socket::wait_write;
    }
    return 0;
}

bool tls_write_now(SSL* ssl, std::string_view head, std::string_view body, std::size_t& done)
{
    done = 0;
    outcome why{};
    boost::system::error_code ec;
    if (write_from(ssl, head, body, done, why, ec)) {
        return true;
    }
    if (why == outcome::failed) {
        done = SIZE_MAX;
    }
    return false;
}

awaitable<std::pair<bool, std::size_t>> tls_write_rest(tcp::socket& socket, SSL* ssl, std::string_view head,
                                                       std::string_view body, std::size_t done)
{
    const std::size_t start = done;
    for (;;) {
        outcome why{};
        boost::system::error_code ec;
        if (write_from(ssl, head, body, done, why, ec)) {
            co_return std::pair{true, done - start};
        }
        if (why == outcome::failed) {
            co_return std::pair{false, done - start};
        }
        auto [wait_ec] = co_await socket.async_wait(
            why == outcome::would_read ? tcp::socket::wait_read : tcp::socket::wait_write, nothrow);
        if (wait_ec) {
            co_return std::pair{false, done - start};
        }
    }
}

void tls_close_notify(SSL* ssl) noexcept
{
    if (SSL_is_init_finished(ssl) == 1) {
        (void)SSL_shutdown(ssl);
    }
    ERR_clear_error();
}

} // namespace stork::proxy
