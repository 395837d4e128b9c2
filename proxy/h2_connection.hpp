#pragma once

#include "http2/server_connection.hpp"
#include "proxy/byte_buffer.hpp"
#include "proxy/dataplane.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>

namespace stork::proxy {

// A wake-up call between coroutines of one worker: notify() before or during wait() both
// end it (a flag remembers a notification nobody waited for yet).
class wakeup {
public:
    explicit wakeup(boost::asio::any_io_executor ex) : timer_{std::move(ex)} {}
    void notify() noexcept
    {
        pending_ = true;
        timer_.cancel();
    }
    boost::asio::awaitable<void> wait();

private:
    boost::asio::steady_timer timer_;
    bool pending_ = false;
};

// One HTTP/2 connection (ALPN "h2") on a TLS connection an http_session accepted
// (tls-design.md §3, docs/http2.md): the socket's bytes go through http2::server_connection,
// and each stream becomes one HTTP/1.1 exchange with an upstream through the worker's pool,
// routed on :authority exactly as HTTP/1.1 routes on Host.
//
// Coroutines, all on the worker's thread: a reader (socket -> engine), a writer (engine ->
// socket, woken when there is something to send), and one per stream. A stream's upstream
// bytes are read only while its queue of response bytes is short, and request bodies are
// acknowledged to the client (WINDOW_UPDATE) only once written upstream: flow control holds
// both ways. 421 answers a request whose :authority the certificate of this connection does
// not cover (a client coalescing connections, RFC 9113 §9.1.1).
class h2_connection final : public http2::handler {
public:
    h2_connection(dataplane_worker& worker, boost::asio::ip::tcp::socket& client, SSL* tls,
                  std::shared_ptr<const tls::certificate_set> certificates, boost::asio::ip::tcp::endpoint peer,
                  std::string peer_ip);
    ~h2_connection();
    h2_connection(const h2_connection&) = delete;
    h2_connection& operator=(const h2_connection&) = delete;

    // Serves the connection until it ends; every stream has ended when it returns.
    boost::asio::awaitable<void> run();

    // From the worker's sweep: expires what waited too long; `cut` (the drain timeout
    // passed) ends everything. Returns the next deadline to be called at.
    steady::time_point sweep(steady::time_point now, bool cut);
    // SIGTERM: GOAWAY; streams already taken finish.
    void drain();
    // Shutdown: close everything now.
    void close_now();

private:
    struct stream;
    using stream_ptr = std::shared_ptr<stream>;

    // http2::handler
    void on_request(const http2::request& r) override;
    void on_data(std::int32_t id, std::string_view bytes) override;
    void on_end(std::int32_t id) override;
    void on_close(std::int32_t id, std::uint32_t error_code) override;

    boost::asio::awaitable<void> read_loop();
    boost::asio::awaitable<void> write_loop();
    boost::asio::awaitable<void> serve(stream_ptr s);
    boost::asio::awaitable<void> proxy(stream& s, const routing::rule_view* rule, bool fallback);
    boost::asio::awaitable<bool> connect(stream& s, std::string& error);
    boost::asio::awaitable<bool> send_body(stream& s, bool chunked);
    boost::asio::awaitable<bool> write_upstream(stream& s, std::string_view a, std::string_view b);
    boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read_upstream(stream& s);
    boost::asio::awaitable<bool> forward_body(stream& s);
    void answer(stream& s, unsigned status, std::string_view content_type, std::string_view body,
                std::string_view extra_name = {}, std::string_view extra_value = {});
    void fail(stream& s, unsigned status, std::string_view why);
    void finish(stream& s);
    void release_upstream(stream& s, bool reusable);
    void wake_writer() noexcept { writer_wake_.notify(); }
    void set_deadline(stream& s, steady::duration d) noexcept;

    dataplane_worker& worker_;
    boost::asio::ip::tcp::socket& client_;
    SSL* tls_;
    std::shared_ptr<const tls::certificate_set> certificates_;
    boost::asio::ip::tcp::endpoint peer_;
    std::string peer_ip_;
    std::string via_;                      // "2 <node>"
    std::string sni_;                      // the name the client connected for, normalised
    std::unique_ptr<http2::server_connection> conn_;
    std::string out_;
    boost::unordered_flat_map<std::int32_t, stream_ptr> streams_;
    wakeup writer_wake_;
    wakeup streams_done_;
    std::size_t live_ = 0;                 // stream coroutines running
    bool stopping_ = false;                // the connection is ending: reader and writer stop
    bool draining_ = false;
    steady::time_point idle_deadline_{};   // no stream open: keep-alive timeout
};

} // namespace stork::proxy
