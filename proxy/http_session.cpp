#include "proxy/http_session.hpp"

#include "proxy/access_log.hpp"
#include "proxy/h2_connection.hpp"
#include "proxy/local_pages.hpp"
#include "proxy/log.hpp"
#include "proxy/proxy_protocol.hpp"
#include "proxy/tls_io.hpp"
#include "proxy/upstream_connect.hpp"
#include "routing/host.hpp"
#include "tls/client_hello.hpp"
#include "tls/upstream_context.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <optional>
#include <charconv>
#include <cstring>

#include <sys/socket.h>

namespace stork::proxy {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using namespace std::literals;

namespace {

// Socket operations are awaited as deferred operations: Asio 1.81's awaitable resumes
// straight from their completion, without the intermediate coroutine frame that
// use_awaitable creates per operation. as_tuple: errors are values, not exceptions.
constexpr auto nothrow = asio::as_tuple(asio::deferred);
// For the awaitable operators (||, &&), which combine awaitables.
constexpr auto as_awaitable = asio::as_tuple(asio::use_awaitable);

// Buffers start at the worker's block size, 16 KiB (a whole request head nearly always fits) and may grow
// to hold the largest head allowed plus what follows it in the same read.
constexpr std::size_t client_buffer_cap = 64 * 1024 + 16 * 1024;
constexpr std::size_t upstream_buffer_cap = 64 * 1024 + 16 * 1024;

// Bytes of a request body storkd reads and discards to answer it locally (404, 503,
// redirect) and keep the connection; a larger body closes the connection instead.
constexpr std::uint64_t discard_body_limit = 64 * 1024;



// Log lines of the rare paths, out of line: string temporaries built inside a coroutine
// would sit in its frame, and a frame over 1 KiB is not recycled by Asio (malloc per
// request).
[[gnu::noinline, gnu::cold]] void warn_body_failure(const tcp::endpoint& upstream, bool timed_out,
                                                    const boost::system::error_code& ec)
{
    log_warning("upstream " + to_text(upstream) + " failed in the middle of a response body: " +
                (timed_out ? "timed out"s : ec.message()));
}

[[gnu::noinline, gnu::cold]] void warn_bad_chunk(const tcp::endpoint& upstream, http1::error e)
{
    log_warning("upstream " + to_text(upstream) + " sent a malformed chunked body: " +
                std::string{http1::describe(e)});
}

[[gnu::noinline, gnu::cold]] void warn_text(std::string_view prefix, std::string_view text)
{
    log_warning(std::string{prefix} + std::string{text});
}

unsigned status_class(unsigned status) noexcept
{
    return status >= 100 && status < 600 ? status / 100 - 1 : 4;
}

} // namespace

// What one request needs once its head has left the buffer (the head's views point
// into the client buffer, which moves while a body streams).
struct http_session::exchange {
    std::shared_ptr<const routing::table> table;   // keeps `rule` alive
    std::shared_ptr<const dataplane_settings> settings; // keeps the fallback's name alive
    const routing::rule_view* rule = nullptr;
    route_kind kind = route_kind::not_found;
    unsigned status = 0;
    unsigned minor = 1;
    bool head_method = false;
    bool keep_alive = true;
    bool expect_continue = false;
    bool upgrade = false;
    http1::body_framing framing = http1::body_framing::none;
    std::uint64_t content_length = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    bool request_body_done = true;     // the whole request body was read from the client
    bool close_after = false;          // the client connection ends after this exchange
    tcp::endpoint upstream;            // where it went, for the access log
    bool has_upstream = false;
    std::chrono::system_clock::time_point wall_start;
    steady::time_point start;
    // For the access log only (filled when it is on).
    std::string host, method, path;
};

void http_session::start(dataplane_worker& worker, tcp::socket socket, tcp::endpoint peer, bool tls)
{
    auto session = std::make_unique<http_session>(worker, std::move(socket), peer, tls);
    asio::co_spawn(worker.io(), run(std::move(session)), [](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& what) {
                log_error(std::string{"http session: "} + what.what());
            }
        }
    });
}

http_session::http_session(dataplane_worker& worker, tcp::socket socket, tcp::endpoint peer, bool tls)
    : worker_{worker},
      client_{std::move(socket)},
      https_{tls},
      peer_{peer},
      in_{worker.buffers, client_buffer_cap},
      up_in_{worker.buffers, upstream_buffer_cap}
{
    worker_.attach(this);
    boost::system::error_code ignored;
    client_.set_option(tcp::no_delay{true}, ignored);
    client_.non_blocking(true, ignored); // write_now() must never block
    peer_ip_ = peer_.address().to_string();
}

http_session::~http_session()
{
    worker_.detach(this);
}

awaitable<void> http_session::run(std::unique_ptr<http_session> self)
{
    if (!self->https_) {
        co_await self->serve();
    } else if (co_await self->open_tls()) {
        const unsigned char* alpn = nullptr;
        unsigned alpn_len = 0;
        SSL_get0_alpn_selected(self->tls_.get(), &alpn, &alpn_len);
        if (alpn_len == 2 && alpn[0] == 'h' && alpn[1] == '2') {
            self->h2_ = std::make_unique<h2_connection>(self->worker_, self->client_, self->tls_.get(),
                                                        self->certificates_, self->peer_, self->peer_ip_);
            self->deadline_ = coarse_steady_now() + self->worker_.settings->header_read;
            co_await self->h2_->run();
            self->h2_.reset();
        } else {
            co_await self->serve();
        }
    }
    if (self->tls_) {
        tls_close_notify(self->tls_.get());
    }
    boost::system::error_code ignored;
    self->client_.close(ignored);
}

void http_session::set_deadline(phase p, steady::duration d) noexcept
{
    phase_ = p;
    deadline_ = coarse_steady_now() + d;
}

void http_session::expire() noexcept
{
    if (h2_) {
        const auto now = coarse_steady_now();
        deadline_ = h2_->sweep(now, worker_.draining() && closing_ && now >= deadline_cut_);
        return;
    }
    timed_out_ = true;
    deadline_ = steady::time_point::max();
    boost::system::error_code ignored;
    client_.cancel(ignored);
    if (upstream_) {
        upstream_->socket.cancel(ignored);
    }
}

void http_session::trim_if_idle(steady::time_point now) noexcept
{
    constexpr auto after = std::chrono::seconds{1};
    if (phase_ != phase::idle || h2_ || trimmed_ || in_.has_block() ||
        now + worker_.settings->keepalive < deadline_ + after) {
        return;
    }
    trimmed_ = true;
    request_parser_.release_memory();
    response_parser_.release_memory();
    out_ = std::string{};
    local_.headers = std::string{};
    local_.body = std::string{};
    endpoints_ = std::vector<tcp::endpoint>{};
    connect_error_ = std::string{};
}

void http_session::drain() noexcept
{
    closing_ = true;
    if (h2_) {
        deadline_cut_ = coarse_steady_now() + worker_.settings->drain;
        h2_->drain();
        return;
    }
    if (phase_ == phase::idle) {
        boost::system::error_code ignored;
        client_.cancel(ignored);
    }
}

void http_session::close_now() noexcept
{
    closing_ = true;
    if (h2_) {
        h2_->close_now();
    }
    deadline_ = steady::time_point::max();
    boost::system::error_code ignored;
    client_.close(ignored);
    if (upstream_) {
        upstream_->socket.close(ignored);
    }
}

namespace {

// Where an idle connection's next bytes are read, on each worker's thread: a connection
// waiting for its next request holds no buffer block (16 KiB of the ≤ 16 KiB an idle TLS
// connection may cost, issue 5 §7); the bytes are copied into one once they are there.
thread_local std::array<char, 16 * 1024> idle_scratch;

} // namespace

// Reads with no block held (TLS): non-blocking attempts into the scratch buffer, a
// readiness wait when there is nothing, and a block taken only for bytes that arrived.
awaitable<bool> http_session::read_client_idle()
{
    for (;;) {
        boost::system::error_code ec;
        std::size_t n = 0;
        auto wait = tcp::socket::wait_read;
        n = tls_read_now(tls_.get(), asio::buffer(idle_scratch), wait, ec);
        if (n == 0 && !ec) {
            ec = asio::error::would_block;
        }
        if (!ec && n > 0) {
            const auto room = in_.prepare(); // a whole block: at least idle_scratch's size
            std::memcpy(room.data(), idle_scratch.data(), n);
            in_.commit(n);
            dataplane_counters::bump(worker_.counters.bytes_in, n);
            co_return true;
        }
        if (ec != asio::error::would_block && ec != asio::error::try_again) {
            co_return false;
        }
        auto [wait_ec] = co_await client_.async_wait(wait, nothrow);
        if (wait_ec) {
            co_return false;
        }
    }
}

awaitable<bool> http_session::read_client()
{
    // TLS only: a TLS wait is an async_wait anyway. Plaintext keeps Asio's speculative
    // async_read_some, which an async_wait would cost an epoll_ctl per request over.
    if (tls_ && !in_.has_block()) {
        co_return co_await read_client_idle();
    }
    const auto room = in_.prepare();
    if (room.size() == 0) {
        co_return false;
    }
    boost::system::error_code ec;
    std::size_t n = 0;
    if (tls_) {
        std::tie(ec, n) = co_await tls_read_some(client_, tls_.get(), room);
    } else {
        std::tie(ec, n) = co_await client_.async_read_some(room, nothrow);
    }
    if (ec) {
        co_return false;
    }
    in_.commit(n);
    dataplane_counters::bump(worker_.counters.bytes_in, n);
    co_return true;
}

awaitable<bool> http_session::write_client(std::string_view head, std::string_view body)
{
    std::size_t done = 0;
    if (tls_ ? tls_write_now(tls_.get(), head, body, done) : write_now(client_, head, body, done)) {
        dataplane_counters::bump(worker_.counters.bytes_out, head.size() + body.size());
        co_return true;
    }
    if (done == SIZE_MAX) {
        co_return false;
    }
    const auto [ok, n] = tls_ ? co_await tls_write_rest(client_, tls_.get(), head, body, done)
                              : co_await write_rest(client_, head, body, done);
    dataplane_counters::bump(worker_.counters.bytes_out, done + n);
    co_return ok;
}

awaitable<void> http_session::serve()
{
    for (;;) {
        // A complete head, from what is buffered and what arrives.
        request_parser_.reset();
        auto state = in_.empty() ? http1::parse_state::incomplete : request_parser_.parse(in_.data());
        if (state == http1::parse_state::incomplete) {
            if (in_.empty()) {
                if (closing_ || worker_.draining()) {
                    co_return;
                }
                in_.release_if_empty();
                up_in_.release_if_empty();
                set_deadline(phase::idle, worker_.settings->keepalive);
            } else {
                set_deadline(phase::head, worker_.settings->header_read);
            }
            while (state == http1::parse_state::incomplete) {
                if (!co_await read_client()) {
                    if (timed_out_ && phase_ == phase::head) {
                        timed_out_ = false;
                        co_await reject(408, "the request head did not arrive in time");
                    }
                    co_return;
                }
                if (phase_ == phase::idle) {
                    trimmed_ = false;
                    set_deadline(phase::head, worker_.settings->header_read);
                }
                state = request_parser_.parse(in_.data());
            }
        }
        if (state == http1::parse_state::failed) {
            const auto e = request_parser_.failure();
            co_await reject(http1::status_for(e), http1::describe(e));
            co_return;
        }

        exchange x;
        if (worker_.access_log) {
            x.wall_start = std::chrono::system_clock::now();
            x.start = steady::now();
        }
        upstream_target target;
        bool keep = false;
        if (route(x, target)) {
            keep = co_await proxy(x, target);
        } else {
            in_.consume(request_parser_.head().head_bytes);
            keep = co_await answer_locally(x, local_.status, reason_phrase(local_.status), local_.headers,
                                           local_.content_type, local_.body);
        }
        log_and_count(x);
        if (!keep || x.close_after || closing_ || worker_.draining()) {
            co_return;
        }
    }
}

awaitable<void> http_session::reject(unsigned status, std::string_view why)
{
    std::string body{why};
    body += '\n';
    render_response(out_, status, reason_phrase(status), {}, "text/plain; charset=utf-8", body, true);
    set_deadline(phase::client, worker_.settings->header_read);
    co_await write_client(out_, {});
    exchange x;
    x.kind = route_kind::invalid;
    x.status = status;
    x.close_after = true;
    log_and_count(x);
    co_await linger_close();
}

// After an error answer the client may still be sending; closing with unread bytes
// would make the kernel send RST, which can destroy the answer before the client reads
// it. So: stop sending, read and drop for a short while, then close.
awaitable<void> http_session::linger_close()
{
    boost::system::error_code ignored;
    if (tls_) {
        tls_close_notify(tls_.get());
    }
    client_.shutdown(tcp::socket::shutdown_send, ignored);
    set_deadline(phase::closing, 2s);
    std::size_t dropped = 0;
    while (dropped < 256 * 1024) {
        in_.consume(in_.size());
        auto [ec, n] = co_await client_.async_read_some(in_.prepare(), nothrow);
        if (ec) {
            break;
        }
        dropped += n;
    }
}

awaitable<bool> http_session::answer_locally(exchange& x, unsigned status, std::string_view reason,
                                             std::string_view extra_headers, std::string_view content_type,
                                             std::string_view body)
{
    // A small body is read and dropped so the connection can stay; a large or chunked one
    // ends the connection after the answer.
    bool close = !x.keep_alive;
    if (x.framing == http1::body_framing::chunked ||
        (x.framing == http1::body_framing::length && x.content_length > discard_body_limit)) {
        close = true;
    }
    render_response(out_, status, reason, extra_headers, content_type, body, close);
    if (x.head_method) {
        out_.resize(out_.size() - body.size()); // HEAD: the GET's Content-Length, no body
    }
    x.status = status;
    set_deadline(phase::client, worker_.settings->read_timeout);
    if (!co_await write_client(out_, {})) {
        co_return false;
    }
    x.bytes_out += out_.size();
    if (close) {
        x.close_after = true;
        co_return false;
    }
    if (x.framing == http1::body_framing::length) {
        std::uint64_t left = x.content_length;
        while (left > 0) {
            if (in_.empty()) {
                set_deadline(phase::client, worker_.settings->read_timeout);
                if (!co_await read_client()) {
                    co_return false;
                }
            }
            const auto n = std::min<std::uint64_t>(left, in_.size());
            in_.consume(n);
            left -= n;
            x.bytes_in += n;
        }
    }
    co_return true;
}

void http_session::log_and_count(const exchange& x)
{
    auto& c = worker_.counters;
    if (x.kind != route_kind::passthrough) { // a relayed connection has no status: counted apart
        dataplane_counters::bump(c.requests[static_cast<std::size_t>(x.kind)][status_class(x.status)]);
    }
    if (!worker_.access_log) {
        return;
    }
    access_record r;
    r.time = x.wall_start == std::chrono::system_clock::time_point{} ? std::chrono::system_clock::now() : x.wall_start;
    r.worker = worker_.index();
    r.client = peer_;
    r.host = x.host;
    r.method = x.method;
    r.path = x.path;
    r.status = x.status;
    r.bytes_in = x.bytes_in;
    r.bytes_out = x.bytes_out;
    std::string upstream = x.has_upstream ? to_text(x.upstream) : std::string{};
    r.upstream = upstream;
    r.rule = x.rule ? x.rule->host : std::string_view{};
    r.mode = to_string(x.kind);
    r.duration_us = x.start == steady::time_point{}
                        ? 0
                        : static_cast<std::uint64_t>(
                              std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - x.start).count());
    worker_.access_log->append(r);
}

bool http_session::route(exchange& x, upstream_target& target)
{
    const http1::request_head& h = request_parser_.head();
    x.minor = h.minor;
    x.head_method = h.method == "HEAD";
    x.keep_alive = h.keep_alive;
    x.expect_continue = h.expect_continue;
    x.upgrade = h.upgrade;
    x.framing = h.framing;
    x.content_length = h.content_length;
    x.bytes_in = h.head_bytes;
    x.request_body_done = h.framing == http1::body_framing::none;
    if (worker_.access_log) {
        x.host.assign(h.host);
        x.method.assign(h.method);
        x.path.assign(h.target);
    }
    auto& a = local_;
    a.headers.clear();
    a.body.clear();
    a.content_type = "text/plain; charset=utf-8";

    if (h.method == "CONNECT") {
        x.kind = route_kind::invalid;
        a.status = 405;
        a.headers = "Allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n";
        a.body = "CONNECT is not supported here.\n";
        return false;
    }

    // Route on the Host field (design.md §3). A Host that is not a valid name (an IP
    // address, garbage) has no rule: it goes where unknown hosts go.
    const auto host = routing::normalise_host(h.host, routing::host_kind::request, host_storage_);
    x.table = worker_.table;
    routing::match_result m;
    if (host) {
        m = x.table->match(host.name, coarse_system_seconds());
    }
    x.rule = m.rule;
    const bool acme = h.target.starts_with(acme_challenge_prefix);
    const auto& settings = *worker_.settings;

    if (m.rule && (acme || (!m.expired && m.rule->mode != routing::rule_mode::redirect))) {
        // proxy, passthrough seen on the plain listener, or a certificate challenge: to
        // the new region.
        const auto& r = *m.rule;
        x.kind = acme ? route_kind::acme : route_kind::proxy;
        // A passthrough rule's upstream is a TLS endpoint. Requests for its host that reach
        // HTTP anyway (plain listener, or TLS terminated because the ClientHello named
        // another host) go there over TLS when they came over TLS, else to target:80.
        const bool passthrough = r.mode == routing::rule_mode::passthrough;
        const bool plain_passthrough = passthrough && !https_;
        target.tls = passthrough ? https_ : r.upstream_tls;
        if (!r.upstream_host.empty() && !plain_passthrough) {
            target.host = r.upstream_host;
            target.port = r.upstream_port;
        } else {
            target.host = r.target;
            target.port = target.tls ? 443 : 80;
        }
        target.host_header = r.preserve_host || passthrough ? h.host : r.target;
        // The name sent and verified: the Host sent upstream, without its port.
        target.sni = r.preserve_host || passthrough ? host.name : r.target;
        return true;
    }
    if (m.rule && m.expired) {
        x.kind = route_kind::expired;
        a.status = 503;
        a.headers = "Cache-Control: no-store\r\n";
        a.content_type = "text/html; charset=utf-8";
        a.body = expired_page(m.rule->host, m.rule->target);
        return false;
    }
    if (m.rule) {
        x.kind = route_kind::redirect;
        a.status = m.rule->redirect_code;
        a.headers = "Location: " + redirect_location(m.rule->target, h.target) + "\r\n";
        a.body = "This application has moved.\n";
        return false;
    }
    if (settings.fallback_http) {
        x.kind = route_kind::fallback;
        x.settings = worker_.settings; // a reload may replace them while this request waits
        target.host = settings.fallback_http->host;
        target.port = settings.fallback_http->port;
        target.tls = false;
        target.host_header = h.host;
        target.keep_host = true;
        return true;
    }
    x.kind = route_kind::not_found;
    a.status = 404;
    a.body = "No application is served here under this host name.\n";
    return false;
}

namespace {

// The values of a message's Connection fields, which name more hop-by-hop fields. A
// message with more than 32 Connection lines is not worth more: the rest are ignored.
class connection_values {
public:
    explicit connection_values(std::span<const http1::header> fields) noexcept
    {
        for (const auto& f : fields) {
            if (count_ < values_.size() && http1::iequals(f.name, "connection")) {
                values_[count_++] = f.value;
            }
        }
    }
    std::span<const std::string_view> values() const noexcept { return {values_.data(), count_}; }

private:
    std::array<std::string_view, 32> values_{};
    std::size_t count_ = 0;
};

// The head sent upstream (docs/data-plane.md, "Head rewriting").
void build_request_head(std::string& out, const http1::request_head& h, const upstream_target& t, bool upgrade,
                        std::string_view client_ip, std::string_view via, std::string_view proto)
{
    const connection_values connection_storage{h.headers};
    const auto connection = connection_storage.values();

    out.clear();
    out += h.method;
    out += ' ';
    out += h.target;
    out += h.minor == 0 ? " HTTP/1.0\r\n"sv : " HTTP/1.1\r\n"sv;
    append_field(out, "Host", t.keep_host ? h.host : t.host_header);

    std::string_view forwarded_for_first;
    bool forwarded_for_many = false;
    std::string_view via_first;
    for (const auto& f : h.headers) {
        const auto name = f.name;
        if (http1::iequals(name, "host") || http1::iequals(name, "x-forwarded-proto") ||
            http1::iequals(name, "x-forwarded-host")) {
            continue;
        }
        if (http1::iequals(name, "x-forwarded-for")) {
            if (forwarded_for_first.empty()) {
                forwarded_for_first = f.value;
            } else {
                forwarded_for_many = true;
            }
            continue;
        }
        if (http1::iequals(name, "via")) {
            if (via_first.empty()) {
                via_first = f.value;
            }
            out += "Via: "sv;
            out += f.value;
            out += "\r\n"sv;
            continue;
        }
        if (http1::is_hop_by_hop(name, connection)) {
            // The body goes on chunked exactly as it came; an upgrade keeps its offer.
            const bool keep = http1::iequals(name, "transfer-encoding") || (upgrade && http1::iequals(name, "upgrade"));
            if (!keep) {
                continue;
            }
        }
        out += name;
        out += ": "sv;
        out += f.value;
        out += "\r\n"sv;
    }
    // X-Forwarded-For: every earlier value, in order, then the client.
    out += "X-Forwarded-For: "sv;
    if (!forwarded_for_first.empty()) {
        if (forwarded_for_many) {
            for (const auto& f : h.headers) {
                if (http1::iequals(f.name, "x-forwarded-for") && !f.value.empty()) {
                    out += f.value;
                    out += ", "sv;
                }
            }
        } else {
            out += forwarded_for_first;
            out += ", "sv;
        }
    }
    out += client_ip;
    out += "\r\n"sv;
    append_field(out, "X-Forwarded-Proto", proto);
    append_field(out, "X-Forwarded-Host", h.host);
    append_field(out, "Via", via);
    if (upgrade) {
        out += "Connection: upgrade\r\n"sv;
    } else if (h.minor == 0) {
        out += "Connection: close\r\n"sv;
    }
    out += "\r\n"sv;
}

// The head sent to the client: the upstream's, minus hop-by-hop fields.
void build_response_head(std::string& out, const http1::response_head& r, bool close, bool keep_alive_10,
                         bool upgraded)
{
    const connection_values connection_storage{r.headers};
    const auto connection = connection_storage.values();
    out.clear();
    out += "HTTP/1.1 "sv;
    append_number(out, r.status);
    out += ' ';
    out += r.reason;
    out += "\r\n"sv;
    for (const auto& f : r.headers) {
        if (http1::is_hop_by_hop(f.name, connection)) {
            const bool keep = (r.framing == http1::body_framing::chunked && http1::iequals(f.name, "transfer-encoding")) ||
                              (upgraded && http1::iequals(f.name, "upgrade"));
            if (!keep) {
                continue;
            }
        }
        out += f.name;
        out += ": "sv;
        out += f.value;
        out += "\r\n"sv;
    }
    if (upgraded) {
        out += "Connection: upgrade\r\n"sv;
    } else if (close) {
        out += "Connection: close\r\n"sv;
    } else if (keep_alive_10) {
        out += "Connection: keep-alive\r\n"sv;
    }
    out += "\r\n"sv;
}

} // namespace

awaitable<bool> http_session::bad_gateway(exchange& x, unsigned status, std::string_view why)
{
    x.status = status;
    std::string body = std::to_string(status) + " " + std::string{reason_phrase(status)} + ": " + std::string{why} + "\n";
    // The request body may be half read: the connection cannot carry another request.
    const bool close = !x.request_body_done || !x.keep_alive;
    render_response(out_, status, reason_phrase(status), {}, "text/plain; charset=utf-8", body, close);
    if (x.head_method) {
        out_.resize(out_.size() - body.size()); // HEAD: the GET's Content-Length, no body
    }
    set_deadline(phase::client, worker_.settings->read_timeout);
    const bool ok = co_await write_client(out_, {});
    x.bytes_out += out_.size();
    if (close) {
        x.close_after = true;
    }
    co_return ok && !close;
}

void http_session::release_upstream(bool reusable)
{
    if (!upstream_) {
        return;
    }
    if (upstream_->ssl && !upstream_->session_saved) {
        keep_upstream_session(worker_, *upstream_);
    }
    // Bytes beyond the response (in up_in_, or already read by OpenSSL) make the
    // connection unusable: they would be taken for the next response.
    const bool clean = up_in_.empty() && !(upstream_->ssl && tls_has_buffered(upstream_->ssl.get()));
    if (reusable && worker_.settings->max_idle_per_key > 0 && !worker_.draining() && clean) {
        worker_.pool.put(std::move(upstream_), worker_.settings->max_idle_per_key);
    } else {
        boost::system::error_code ignored;
        upstream_->socket.close(ignored);
    }
    upstream_.reset();
    up_in_.consume(up_in_.size());
}

// Sends `head` and `body` upstream.
awaitable<bool> http_session::write_upstream(std::string_view head, std::string_view body)
{
    std::size_t done = 0;
    SSL* ssl = upstream_->ssl.get();
    if (ssl ? tls_write_now(ssl, head, body, done) : write_now(upstream_->socket, head, body, done)) {
        co_return true;
    }
    if (done == SIZE_MAX) {
        co_return false;
    }
    const auto [ok, n] = ssl ? co_await tls_write_rest(upstream_->socket, ssl, head, body, done)
                             : co_await write_rest(upstream_->socket, head, body, done);
    co_return ok;
}

// Reads until a response head is complete. 1: complete; 0: the connection ended before
// any byte of it; -1: it ended or failed after some bytes, or the head is invalid.
awaitable<int> http_session::read_response_head(bool head_method)
{
    response_parser_.reset();
    auto state = up_in_.empty() ? http1::parse_state::incomplete : response_parser_.parse(up_in_.data(), head_method);
    while (state == http1::parse_state::incomplete) {
        set_deadline(phase::upstream, worker_.settings->read_timeout);
        const auto room = up_in_.prepare();
        if (room.size() == 0) {
            co_return -1;
        }
        boost::system::error_code ec;
        std::size_t n = 0;
        if (upstream_->ssl) {
            std::tie(ec, n) = co_await tls_read_some(upstream_->socket, upstream_->ssl.get(), room);
        } else {
            std::tie(ec, n) = co_await upstream_->socket.async_read_some(room, nothrow);
        }
        if (ec) {
            co_return up_in_.empty() ? 0 : -1;
        }
        up_in_.commit(n);
        state = response_parser_.parse(up_in_.data(), head_method);
    }
    co_return state == http1::parse_state::complete ? 1 : -1;
}

awaitable<bool> http_session::connect_upstream(exchange& x, const upstream_target& t,
                                               const std::vector<tcp::endpoint>& endpoints, bool from_pool,
                                               bool& reused, std::string& error)
{
    reused = false;
    if (from_pool) {
        for (const auto& ep : endpoints) {
            if (auto c = worker_.pool.take(upstream_key{ep, t.tls, std::string{t.tls ? t.sni : ""sv}})) {
                upstream_ = std::move(c);
                reused = true;
                dataplane_counters::bump(worker_.counters.upstream_reused);
                x.upstream = upstream_->key.address;
                x.has_upstream = true;
                co_return true;
            }
        }
    }
    std::string last_error;
    for (const auto& ep : endpoints) {
        upstream_ = std::make_shared<upstream_connection>(
            worker_.io().get_executor(), upstream_key{ep, t.tls, std::string{t.tls ? t.sni : ""sv}});
        x.upstream = ep;
        x.has_upstream = true;
        set_deadline(phase::connect, worker_.settings->connect_timeout);
        auto [ec] = co_await upstream_->socket.async_connect(ep, nothrow);
        if (!ec) {
            boost::system::error_code ignored;
            upstream_->socket.set_option(tcp::no_delay{true}, ignored);
            upstream_->socket.non_blocking(true, ignored);
            dataplane_counters::bump(worker_.counters.upstream_opened);
            if (t.tls && !co_await upstream_handshake(t, last_error)) {
                upstream_.reset();
                break; // another address of the same name would present the same certificate
            }
            co_return true;
        }
        if (timed_out_) {
            timed_out_ = false;
            dataplane_counters::bump(worker_.counters.upstream_connect_timeout);
            last_error = "connecting to " + to_text(ep) + " timed out";
            upstream_.reset();
            break; // the timeout covers the whole attempt
        }
        if (ec == asio::error::connection_refused) {
            dataplane_counters::bump(worker_.counters.upstream_connect_refused);
        } else {
            dataplane_counters::bump(worker_.counters.upstream_other_errors);
        }
        last_error = "connecting to " + to_text(ep) + ": " + ec.message();
        upstream_.reset();
    }
    warn_text("upstream: ", last_error);
    error = std::move(last_error);
    co_return false;
}

// The response head is complete in up_in_: forward it and its body to the client.
awaitable<bool> http_session::forward_response(exchange& x)
{
    const http1::response_head& r = response_parser_.head();
    x.status = r.status;
    const bool client_close =
        x.close_after || !x.keep_alive || r.framing == http1::body_framing::until_close || closing_ || worker_.draining();
    build_response_head(out_, r, client_close, x.minor == 0 && x.keep_alive, false);
    const auto framing = r.framing;
    std::uint64_t remaining = r.content_length;
    const bool upstream_keep_alive = r.keep_alive && x.minor == 1;
    up_in_.consume(r.head_bytes);

    http1::chunked_scanner chunks;
    bool done = framing == http1::body_framing::none || (framing == http1::body_framing::length && remaining == 0);
    std::size_t first = 0;
    if (framing == http1::body_framing::length) {
        first = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, up_in_.size()));
        remaining -= first;
        done = remaining == 0;
    } else if (framing == http1::body_framing::chunked) {
        const auto step = chunks.scan(up_in_.data());
        if (step.failure != http1::error::none) {
            release_upstream(false);
            co_return co_await bad_gateway(x, 502, "the upstream sent a malformed chunked body");
        }
        first = step.consumed;
        done = step.done;
    } else if (framing == http1::body_framing::until_close) {
        first = up_in_.size();
    }
    set_deadline(phase::client, worker_.settings->read_timeout);
    if (!co_await write_client(out_, up_in_.data().substr(0, first))) {
        release_upstream(false);
        co_return false;
    }
    x.bytes_out += out_.size() + first;
    up_in_.consume(first);

    while (!done) {
        set_deadline(phase::upstream, worker_.settings->read_timeout);
        boost::system::error_code ec;
        std::size_t n = 0;
        if (upstream_->ssl) {
            std::tie(ec, n) = co_await tls_read_some(upstream_->socket, upstream_->ssl.get(), up_in_.prepare());
        } else {
            std::tie(ec, n) = co_await upstream_->socket.async_read_some(up_in_.prepare(), nothrow);
        }
        if (ec) {
            if (framing == http1::body_framing::until_close && ec == asio::error::eof) {
                break;
            }
            // The head went out: the client's framing is broken, so its connection ends.
            if (timed_out_) {
                dataplane_counters::bump(worker_.counters.upstream_response_timeouts);
            }
            warn_body_failure(x.upstream, timed_out_, ec);
            release_upstream(false);
            x.close_after = true;
            co_return false;
        }
        up_in_.commit(n);
        std::size_t chunk = 0;
        if (framing == http1::body_framing::length) {
            chunk = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, up_in_.size()));
            remaining -= chunk;
            done = remaining == 0;
        } else if (framing == http1::body_framing::chunked) {
            const auto step = chunks.scan(up_in_.data());
            if (step.failure != http1::error::none) {
                warn_bad_chunk(x.upstream, step.failure);
                release_upstream(false);
                x.close_after = true;
                co_return false;
            }
            chunk = step.consumed;
            done = step.done;
        } else {
            chunk = up_in_.size();
        }
        set_deadline(phase::client, worker_.settings->read_timeout);
        if (!co_await write_client(up_in_.data().substr(0, chunk), {})) {
            release_upstream(false);
            co_return false;
        }
        x.bytes_out += chunk;
        up_in_.consume(chunk);
    }
    const bool reusable = upstream_keep_alive && framing != http1::body_framing::until_close && x.request_body_done;
    ++upstream_->exchanges;
    release_upstream(reusable);
    if (client_close) {
        x.close_after = true;
        co_return false;
    }
    co_return true;
}

// Reads the rest of the request body from the client and sends it upstream.
awaitable<bool> http_session::stream_request_body(exchange& x, http1::chunked_scanner& chunks, std::uint64_t& remaining)
{
    while (!x.request_body_done) {
        if (in_.empty()) {
            set_deadline(phase::client, worker_.settings->read_timeout);
            if (!co_await read_client()) {
                release_upstream(false);
                x.close_after = true;
                co_return false;
            }
        }
        std::size_t n = 0;
        if (x.framing == http1::body_framing::length) {
            n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, in_.size()));
            remaining -= n;
            x.request_body_done = remaining == 0;
        } else {
            const auto step = chunks.scan(in_.data());
            if (step.failure != http1::error::none) {
                // Part of the body is upstream already: that connection dies with it, so
                // the upstream never sees a complete message.
                release_upstream(false);
                co_await reject(400, http1::describe(step.failure));
                x.close_after = true;
                co_return false;
            }
            n = step.consumed;
            x.request_body_done = step.done;
        }
        set_deadline(phase::upstream, worker_.settings->read_timeout);
        if (!co_await write_upstream(in_.data().substr(0, n), {})) {
            release_upstream(false);
            x.request_body_done = false; // so the 502 says Connection: close
            co_await bad_gateway(x, 502, "the upstream closed the connection while receiving the request body");
            x.close_after = true;
            co_return false;
        }
        x.bytes_in += n;
        in_.consume(n);
    }
    co_return true;
}

awaitable<bool> http_session::proxy(exchange& x, const upstream_target& t)
{
    const http1::request_head& h = request_parser_.head();
    build_request_head(out_, h, t, x.upgrade, peer_ip_, worker_.settings->via, https_ ? "https"sv : "http"sv);
    in_.consume(h.head_bytes); // `h` is not used below this line

    // What of the body is here already. A chunked body is checked as far as it is
    // buffered before the first byte goes upstream.
    http1::chunked_scanner chunks;
    std::uint64_t remaining = x.content_length;
    std::size_t first = 0;
    if (x.framing == http1::body_framing::length) {
        first = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, in_.size()));
        remaining -= first;
        x.request_body_done = remaining == 0;
    } else if (x.framing == http1::body_framing::chunked) {
        const auto step = chunks.scan(in_.data());
        if (step.failure != http1::error::none) {
            co_await reject(400, http1::describe(step.failure));
            x.close_after = true;
            x.status = 400;
            co_return false;
        }
        first = step.consumed;
        x.request_body_done = step.done;
    }

    // Answered here, before anything went upstream: the buffered part of the body belongs
    // to this request and must never be parsed as the next one (bad_gateway closes the
    // connection when the rest of the body is still to come).
    const auto drop_buffered_body = [&] {
        in_.consume(first);
        x.bytes_in += first;
        first = 0;
    };
    if (!literal_endpoint(t, endpoints_)) {
        if (auto error = co_await resolve_endpoints(worker_, t, endpoints_); !error.empty()) {
            warn_text("upstream: ", error);
            drop_buffered_body();
            co_return co_await bad_gateway(x, 502, error);
        }
    }

    for (int attempt = 0;; ++attempt) {
        bool reused = false;
        if (!co_await connect_upstream(x, t, endpoints_, attempt == 0, reused, connect_error_)) {
            drop_buffered_body();
            co_return co_await bad_gateway(x, 502, connect_error_);
        }
        // A pooled connection may have been closed by the upstream just as we took it;
        // a request without a body is then safe to send again on a new connection.
        const bool may_retry = reused && attempt == 0 && x.framing == http1::body_framing::none;

        const bool wait_for_continue =
            x.expect_continue && !x.request_body_done && first == 0 && x.minor == 1;
        set_deadline(phase::upstream, worker_.settings->read_timeout);
        if (!co_await write_upstream(out_, in_.data().substr(0, first))) {
            release_upstream(false);
            if (may_retry) {
                continue;
            }
            drop_buffered_body(); // never to be parsed as the next request
            co_return co_await bad_gateway(x, 502, "the upstream closed the connection before the request was sent");
        }
        x.bytes_in += first;
        in_.consume(first);

        bool have_final = false;
        if (wait_for_continue) {
            const int waited = co_await await_continue(x);
            if (waited < 0) {
                co_return false;
            }
            have_final = waited == 1;
        }
        if (!have_final && !x.request_body_done) {
            if (!co_await stream_request_body(x, chunks, remaining)) {
                co_return false;
            }
        }

        // The response head, after any interim (1xx) responses.
        while (!have_final) {
            const int got = co_await read_response_head(x.head_method);
            if (got == 0 && may_retry && !timed_out_) {
                release_upstream(false);
                break;
            }
            if (got != 1) {
                const bool timed_out = timed_out_;
                timed_out_ = false;
                release_upstream(false);
                if (timed_out) {
                    dataplane_counters::bump(worker_.counters.upstream_response_timeouts);
                    co_return co_await bad_gateway(x, 504, "the upstream did not answer in time");
                }
                co_return co_await bad_gateway(x, 502, got == 0 ? "the upstream closed the connection without answering"
                                                                : "the upstream sent an invalid response");
            }
            const auto& r = response_parser_.head();
            if (r.status == 101) {
                if (!x.upgrade) {
                    release_upstream(false);
                    co_return co_await bad_gateway(x, 502, "the upstream switched protocols without being asked");
                }
                co_return co_await tunnel(x);
            }
            if (r.status >= 200) {
                have_final = true;
                break;
            }
            // 1xx: passed on to HTTP/1.1 clients, then the real answer follows.
            if (x.minor == 1 && !co_await write_client(up_in_.data().substr(0, r.head_bytes), {})) {
                release_upstream(false);
                co_return false;
            }
            up_in_.consume(r.head_bytes);
        }
        if (!have_final) {
            continue; // retry on a fresh connection
        }
        co_return co_await forward_response(x);
    }
}

// Expect: 100-continue, head sent, no body byte yet. The upstream may answer 100 (or
// refuse at once), or the client may send its body without waiting (curl does after
// 1 s): whichever comes first. 0: go on with the body; 1: a final response is in (the
// client's body is never read, so its connection ends after it); -1: done, failed.
awaitable<int> http_session::await_continue(exchange& x)
{
    using namespace boost::asio::experimental::awaitable_operators;
    set_deadline(phase::upstream, worker_.settings->read_timeout);
    for (;;) {
        // Bytes OpenSSL already holds make a side ready without its socket being readable.
        SSL* up = upstream_->ssl.get();
        if (!(up && tls_has_buffered(up))) {
            if (tls_ && tls_has_buffered(tls_.get())) {
                co_return 0;
            }
            const auto first_ready = co_await (upstream_->socket.async_wait(tcp::socket::wait_read, as_awaitable) ||
                                               client_.async_wait(tcp::socket::wait_read, as_awaitable));
            if (first_ready.index() != 0) {
                co_return 0;
            }
        }
        if (up == nullptr) {
            break;
        }
        // TLS: what arrived may be no data at all (the TLS 1.3 session ticket sent after
        // the handshake): then wait again.
        char byte = 0;
        std::size_t n = 0;
        const int ret = SSL_peek_ex(up, &byte, 1, &n);
        if (ret == 1 || SSL_get_error(up, ret) != SSL_ERROR_WANT_READ) {
            ERR_clear_error();
            break;
        }
        ERR_clear_error();
    }
    const int got = co_await read_response_head(x.head_method);
    if (got != 1) {
        release_upstream(false);
        co_await bad_gateway(x, 502, "the upstream sent no valid response");
        co_return -1;
    }
    const auto& r = response_parser_.head();
    if (r.status == 100) {
        if (!co_await write_client(up_in_.data().substr(0, r.head_bytes), {})) {
            release_upstream(false);
            co_return -1;
        }
        up_in_.consume(r.head_bytes);
        co_return 0;
    }
    if (r.status >= 200) {
        x.close_after = true;
        co_return 1;
    }
    co_return 0; // another 1xx: the response loop passes it on
}

// 101 Switching Protocols: from now on the two connections are one byte stream each way.
awaitable<bool> http_session::tunnel(exchange& x)
{
    const auto& r = response_parser_.head();
    x.status = 101;
    build_response_head(out_, r, false, false, true);
    up_in_.consume(r.head_bytes);
    set_deadline(phase::client, worker_.settings->read_timeout);
    if (!co_await write_client(out_, up_in_.data())) {
        release_upstream(false);
        co_return false;
    }
    x.bytes_out += out_.size() + up_in_.size();
    up_in_.consume(up_in_.size());
    if (!in_.empty()) {
        if (!co_await write_upstream(in_.data(), {})) {
            release_upstream(false);
            co_return false;
        }
        x.bytes_in += in_.size();
        in_.consume(in_.size());
    }
    dataplane_counters::bump(worker_.counters.tunnels_active);
    co_await relay(x.bytes_in, x.bytes_out);
    worker_.counters.tunnels_active.store(worker_.counters.tunnels_active.load(std::memory_order_relaxed) - 1,
                                          std::memory_order_relaxed);
    release_upstream(false);
    x.close_after = true;
    co_return false;
}

namespace {

// One direction of a relay: what `from` sends goes to `to`, until `from` ends (its end is
// passed on as a half close) or something fails (both ends are then closed).
awaitable<void> pump(tcp::socket& from, SSL* from_tls, tcp::socket& to, SSL* to_tls, byte_buffer& buffer,
                     std::uint64_t& bytes, steady::time_point& deadline, steady::duration idle)
{
    boost::system::error_code ignored;
    for (;;) {
        boost::system::error_code ec;
        std::size_t n = 0;
        if (from_tls != nullptr) {
            std::tie(ec, n) = co_await tls_read_some(from, from_tls, buffer.prepare());
        } else {
            std::tie(ec, n) = co_await from.async_read_some(buffer.prepare(), nothrow);
        }
        if (ec) {
            if (ec == asio::error::eof) {
                if (to_tls != nullptr) {
                    tls_close_notify(to_tls);
                }
                to.shutdown(tcp::socket::shutdown_send, ignored);
            } else {
                // Reset or timeout: end both directions.
                from.close(ignored);
                to.close(ignored);
            }
            co_return;
        }
        buffer.commit(n);
        deadline = coarse_steady_now() + idle;
        bool ok = true;
        std::size_t written = 0;
        const auto data = buffer.data();
        if (to_tls != nullptr ? tls_write_now(to_tls, data, {}, written) : write_now(to, data, {}, written)) {
            written = data.size();
        } else if (written != SIZE_MAX) {
            const auto [rest_ok, rest] = to_tls != nullptr ? co_await tls_write_rest(to, to_tls, data, {}, written)
                                                           : co_await write_rest(to, data, {}, written);
            ok = rest_ok;
            written += rest;
        } else {
            ok = false;
            written = 0;
        }
        bytes += written;
        buffer.consume(buffer.size());
        if (!ok) {
            from.close(ignored);
            to.close(ignored);
            co_return;
        }
    }
}

} // namespace

awaitable<void> http_session::relay(std::uint64_t& bytes_in, std::uint64_t& bytes_out)
{
    using namespace boost::asio::experimental::awaitable_operators;
    set_deadline(phase::tunnel, worker_.settings->read_timeout);
    const auto idle = worker_.settings->read_timeout;
    auto upstream = upstream_; // close_now() may reset upstream_ meanwhile
    SSL* up_tls = upstream->ssl.get();
    co_await (pump(client_, tls_.get(), upstream->socket, up_tls, in_, bytes_in, deadline_, idle) &&
              pump(upstream->socket, up_tls, client_, tls_.get(), up_in_, bytes_out, deadline_, idle));
}

awaitable<bool> http_session::open_tls()
{
    set_deadline(phase::head, worker_.settings->header_read);
    certificates_ = worker_.certificates;
    const auto settings = worker_.settings;
    const auto table = worker_.table;
    if (table->passthrough_rules() > 0 || settings->fallback_https) {
        std::string_view sni;
        if (!co_await peek_client_hello(sni)) {
            dataplane_counters::bump(worker_.counters.tls_handshake_failures);
            co_return false;
        }
        const auto host = routing::normalise_host(sni, routing::host_kind::request, host_storage_);
        routing::match_result m;
        if (host) {
            m = table->match(host.name, coarse_system_seconds());
        }
        upstream_target t;
        if (m.rule && !m.expired && m.rule->mode == routing::rule_mode::passthrough) {
            const auto& r = *m.rule;
            t.host = r.upstream_host.empty() ? r.target : r.upstream_host;
            t.port = r.upstream_host.empty() ? 443 : r.upstream_port;
            co_await pass_through(host.name, t, r.proxy_protocol, m.rule);
            co_return false;
        }
        if (settings->fallback_https && !(certificates_ && certificates_->names(sni))) {
            t.host = settings->fallback_https->host;
            t.port = settings->fallback_https->port;
            co_await pass_through(host ? host.name : sni, t, false, nullptr);
            co_return false;
        }
    }
    if (!certificates_) {
        co_return false; // no certificates published yet (cannot happen once started)
    }
    tls_.reset(SSL_new(certificates_->initial_context()));
    if (!tls_ || SSL_set_fd(tls_.get(), client_.native_handle()) != 1) {
        ERR_clear_error();
        tls_.reset();
        co_return false;
    }
    SSL_set_accept_state(tls_.get());
    const auto ec = co_await tls_handshake(client_, tls_.get());
    if (ec) {
        // Not ours to log one by one (scanners, clients without a shared cipher): counted.
        dataplane_counters::bump(worker_.counters.tls_handshake_failures);
        tls_.reset(); // no close_notify on a connection that never was TLS
        co_return false;
    }
    dataplane_counters::bump(worker_.counters.tls_handshakes);
    if (SSL_session_reused(tls_.get()) == 1) {
        dataplane_counters::bump(worker_.counters.tls_resumed);
    }
    timed_out_ = false;
    co_return true;
}

awaitable<bool> http_session::peek_client_hello(std::string_view& server_name)
{
    std::string scratch;
    tls::client_hello hello;
    tls::hello_error error = tls::hello_error::none;
    for (;;) {
        const auto room = in_.prepare();
        const std::size_t cap = std::min(room.size(), tls::max_hello_bytes);
        const ssize_t n = ::recv(client_.native_handle(), room.data(), cap, MSG_PEEK);
        if (n == 0) {
            co_return false;
        }
        if (n > 0) {
            const std::string_view bytes{static_cast<const char*>(room.data()), static_cast<std::size_t>(n)};
            const auto state = tls::parse_client_hello(bytes, scratch, hello, error);
            if (state == tls::hello_state::failed) {
                co_return false;
            }
            if (state == tls::hello_state::complete) {
                if (hello.server_name.data() == scratch.data() && !scratch.empty()) {
                    // Reassembled from several records: keep the name in the session.
                    const std::size_t len = std::min(hello.server_name.size(), host_storage_.size());
                    std::copy_n(hello.server_name.data(), len, host_storage_.data());
                    server_name = {host_storage_.data(), len};
                } else {
                    server_name = hello.server_name;
                }
                co_return true;
            }
            if (static_cast<std::size_t>(n) >= cap) {
                co_return false; // larger than we accept
            }
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            co_return false;
        }
        // Peeked bytes stay in the socket: the wait ends when more arrive (edge-triggered).
        auto [ec] = co_await client_.async_wait(tcp::socket::wait_read, nothrow);
        if (ec) {
            co_return false;
        }
    }
}

awaitable<void> http_session::pass_through(std::string_view sni, const upstream_target& t, bool proxy_protocol,
                                           const routing::rule_view* rule)
{
    exchange x;
    x.kind = route_kind::passthrough;
    x.rule = rule;
    x.table = worker_.table;
    if (worker_.access_log) {
        x.wall_start = std::chrono::system_clock::now();
        x.start = steady::now();
        x.host.assign(sni);
    }
    dataplane_counters::bump(worker_.counters.passthrough_connections);
    if (!literal_endpoint(t, endpoints_)) {
        if (const auto error = co_await resolve_endpoints(worker_, t, endpoints_); !error.empty()) {
            warn_text("passthrough: ", error);
            log_and_count(x);
            co_return;
        }
    }
    bool reused = false;
    if (!co_await connect_upstream(x, t, endpoints_, false, reused, connect_error_)) {
        log_and_count(x);
        co_return;
    }
    if (proxy_protocol) {
        std::array<std::byte, proxy_v2_max_size> header{};
        boost::system::error_code ec;
        const auto local = client_.local_endpoint(ec);
        const std::size_t n = ec ? 0 : encode_proxy_v2(peer_, local, header);
        if (n == 0 || !co_await write_upstream({reinterpret_cast<const char*>(header.data()), n}, {})) {
            release_upstream(false);
            log_and_count(x);
            co_return;
        }
    }
    // The ClientHello was only peeked: it is still in the socket, and goes first.
    co_await relay(x.bytes_in, x.bytes_out);
    release_upstream(false);
    log_and_count(x);
}

awaitable<bool> http_session::upstream_handshake(const upstream_target& t, std::string& error)
{
    set_deadline(phase::connect, worker_.settings->connect_timeout);
    error = co_await upstream_tls_handshake(worker_, *upstream_, t.sni, timed_out_);
    timed_out_ = false;
    co_return error.empty();
}

} // namespace stork::proxy
