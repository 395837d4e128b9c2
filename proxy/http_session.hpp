#pragma once

#include "http1/message.hpp"
#include "proxy/byte_buffer.hpp"
#include "proxy/dataplane.hpp"
#include "tls/openssl_handles.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace stork::proxy {

class h2_connection;
struct upstream_target;

// One client connection on one worker, served by one coroutine from accept to close:
// read a head, route it, answer locally or carry it to an upstream and the response
// back, then the next request (docs/data-plane.md, "A request's path").
class http_session {
public:
    // `tls`: accepted on a listen.https address: the ClientHello decides between relaying
    // the connection untouched (passthrough) and terminating TLS.
    static void start(dataplane_worker& worker, boost::asio::ip::tcp::socket socket,
                      boost::asio::ip::tcp::endpoint peer, bool tls = false);

    http_session(dataplane_worker& worker, boost::asio::ip::tcp::socket socket,
                 boost::asio::ip::tcp::endpoint peer, bool tls);
    ~http_session();
    http_session(const http_session&) = delete;
    http_session& operator=(const http_session&) = delete;

    // What the session waits for; decides what a passed deadline means.
    enum class phase : std::uint8_t {
        idle,            // between requests, nothing buffered: keep-alive timeout
        head,            // part of a head buffered: header read timeout (slowloris)
        connect,         // connecting to the upstream
        upstream,        // sending to / waiting for the upstream
        client,          // sending to / waiting for the client mid-exchange
        tunnel,          // an upgraded connection (WebSocket), idle timeout = upstream.read_timeout
        closing,         // lingering close after an error answer
    };

    // For the worker's sweep: the deadline of whatever the session waits for.
    steady::time_point deadline() const noexcept { return deadline_; }
    // The deadline passed: cancel what it waits for; the coroutine sees operation_aborted
    // and answers as its phase requires.
    void expire() noexcept;
    // Draining: close now if idle between requests; otherwise finish the current exchange.
    void drain() noexcept;
    // Shutdown: close both connections now.
    void close_now() noexcept;
    // From the sweep: a connection idle between requests for a while gives back the
    // memory it keeps warm for the next request (parsers' field lists, the head buffer).
    void trim_if_idle(steady::time_point now) noexcept;

    http_session* prev = nullptr;   // the worker's intrusive list
    http_session* next = nullptr;

private:
    static boost::asio::awaitable<void> run(std::unique_ptr<http_session> self);
    boost::asio::awaitable<void> serve();

    // TLS listener: what the ClientHello asks for, then the handshake (false: closed).
    boost::asio::awaitable<bool> open_tls();
    // Reads the ClientHello without taking it off the socket (MSG_PEEK): 1 complete, 0 not
    // a ClientHello / closed / timed out. `server_name` points into in_'s free space.
    boost::asio::awaitable<bool> peek_client_hello(std::string_view& server_name);
    // Relays the untouched connection to `target` (passthrough rule or fallback.https).
    boost::asio::awaitable<void> pass_through(std::string_view sni, const upstream_target& t, bool proxy_protocol,
                                              const routing::rule_view* rule);
    // Both directions between client and upstream until both ends closed (tunnels).
    boost::asio::awaitable<void> relay(std::uint64_t& bytes_in, std::uint64_t& bytes_out);
    // A TLS handshake towards the upstream just connected (false: error set, counted).
    boost::asio::awaitable<bool> upstream_handshake(const upstream_target& t, std::string& error);

    struct exchange;
    // Decides where the request goes: true with `target` filled to proxy it, false with
    // local_ filled to answer it here.
    bool route(exchange& x, upstream_target& target);
    boost::asio::awaitable<int> await_continue(exchange& x);
    boost::asio::awaitable<bool> proxy(exchange& x, const upstream_target& t);
    boost::asio::awaitable<bool> connect_upstream(exchange& x, const upstream_target& t,
                                                  const std::vector<boost::asio::ip::tcp::endpoint>& endpoints,
                                                  bool from_pool, bool& reused, std::string& error);
    boost::asio::awaitable<bool> stream_request_body(exchange& x, http1::chunked_scanner& chunks,
                                                     std::uint64_t& remaining);
    boost::asio::awaitable<int> read_response_head(bool head_method);
    boost::asio::awaitable<bool> forward_response(exchange& x);
    boost::asio::awaitable<bool> tunnel(exchange& x);
    boost::asio::awaitable<bool> bad_gateway(exchange& x, unsigned status, std::string_view why);
    boost::asio::awaitable<bool> write_upstream(std::string_view head, std::string_view body);
    void release_upstream(bool reusable);
    boost::asio::awaitable<bool> answer_locally(exchange& x, unsigned status, std::string_view reason,
                                                std::string_view extra_headers, std::string_view content_type,
                                                std::string_view body);
    boost::asio::awaitable<void> reject(unsigned status, std::string_view why);
    boost::asio::awaitable<void> linger_close();

    boost::asio::awaitable<bool> read_client();
    boost::asio::awaitable<bool> read_client_idle();
    boost::asio::awaitable<bool> write_client(std::string_view head, std::string_view body);

    void set_deadline(phase p, steady::duration d) noexcept;
    void log_and_count(const exchange& x);

    dataplane_worker& worker_;
    boost::asio::ip::tcp::socket client_;
    tls::ssl_ptr tls_;                                      // the client's TLS, once terminated
    std::shared_ptr<const tls::certificate_set> certificates_; // what tls_ was served from
    bool https_ = false;                                    // accepted on listen.https
    std::unique_ptr<h2_connection> h2_;                     // ALPN chose h2: the connection is HTTP/2
    boost::asio::ip::tcp::endpoint peer_;
    std::string peer_ip_;
    byte_buffer in_;
    byte_buffer up_in_;
    http1::request_parser request_parser_;
    http1::response_parser response_parser_;
    std::string out_;
    phase phase_ = phase::idle;
    steady::time_point deadline_ = steady::time_point::max();
    steady::time_point deadline_cut_ = steady::time_point::max(); // HTTP/2 drain: when to cut
    bool timed_out_ = false;
    bool closing_ = false;
    bool trimmed_ = false;      // trim_if_idle() gave the warm memory back
    std::shared_ptr<upstream_connection> upstream_;  // the one in use, for expire()

    // Reused from request to request (no allocation once warm).
    struct local_answer {
        unsigned status = 0;
        std::string headers;
        std::string_view content_type;
        std::string body;
    } local_;
    std::array<char, 256> host_storage_{};
    std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
    std::string connect_error_;
};

} // namespace stork::proxy
