#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <openssl/ssl.h>

#include <cstddef>
#include <string_view>
#include <utility>

// TLS on a connected, non-blocking socket the way nginx does it: OpenSSL reads and
// writes the socket itself (SSL_set_fd), and the event loop is only asked to wait when
// OpenSSL says it would block. No memory BIOs, no second copy of every record, and with
// SSL_MODE_RELEASE_BUFFERS an idle connection holds no record buffer (tls-design.md §2).
//
// Every function takes the socket that `ssl` was set on. All are for one worker's loop.
namespace stork::proxy {

// Plaintext: one sendmsg() on a non-blocking socket, before any asynchronous operation:
// most writes fit the socket buffer, and then the coroutine goes on without a trip through
// the event loop. True when all was written; otherwise `done` is what was, or SIZE_MAX on
// an error.
bool write_now(boost::asio::ip::tcp::socket& socket, std::string_view head, std::string_view body, std::size_t& done);

// What write_now() left, through the event loop: (no error, bytes written by this call).
boost::asio::awaitable<std::pair<bool, std::size_t>> write_rest(boost::asio::ip::tcp::socket& socket,
                                                                std::string_view head, std::string_view body,
                                                                std::size_t done);

// Runs the handshake to its end. An error code on failure: eof when the peer closed,
// operation_aborted when the socket was cancelled (the session's deadline), otherwise
// a TLS failure (ssl_failure()).
boost::asio::awaitable<boost::system::error_code> tls_handshake(boost::asio::ip::tcp::socket& socket, SSL* ssl);

// Reads what is there, waiting if nothing is: (error, bytes). eof when the peer closed
// (close_notify, or TCP end without it: HTTP framing says whether that was premature).
boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>>
tls_read_some(boost::asio::ip::tcp::socket& socket, SSL* ssl, boost::asio::mutable_buffer room);

// One SSL_read without waiting: the bytes read (> 0); or 0 with `wait` set to what the
// socket must become (read or write) before trying again; or 0 with `ec` set (eof, error).
std::size_t tls_read_now(SSL* ssl, boost::asio::mutable_buffer room, boost::asio::ip::tcp::socket::wait_type& wait,
                         boost::system::error_code& ec);

// As write_now() on plaintext: writes `head` then `body` without waiting. Small pieces are
// gathered into one TLS record. True when all was written; otherwise `done` is what
// was, or SIZE_MAX on an error.
bool tls_write_now(SSL* ssl, std::string_view head, std::string_view body, std::size_t& done);

// What tls_write_now() left, waiting as needed: (no error, bytes written by this call).
boost::asio::awaitable<std::pair<bool, std::size_t>> tls_write_rest(boost::asio::ip::tcp::socket& socket, SSL* ssl,
                                                                    std::string_view head, std::string_view body,
                                                                    std::size_t done);

// Whether OpenSSL holds bytes already read from the socket (a readiness wait on the
// socket would miss them).
inline bool tls_has_buffered(const SSL* ssl) noexcept { return SSL_has_pending(ssl) == 1; }

// A close_notify, sent if the socket takes it now; never waits.
void tls_close_notify(SSL* ssl) noexcept;

// The error category of TLS failures: the message is OpenSSL's reason for the first
// error queued (e.g. "certificate verify failed"), taken off the thread's queue.
const boost::system::error_category& tls_category() noexcept;

} // namespace stork::proxy
