#include "proxy/h2_connection.hpp"

#include "http1/message.hpp"
#include "proxy/access_log.hpp"
#include "proxy/local_pages.hpp"
#include "proxy/log.hpp"
#include "proxy/tls_io.hpp"
#include "proxy/upstream_connect.hpp"
#include "routing/host.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <nghttp2/nghttp2.h>

#include <array>
#include <charconv>

namespace stork::proxy {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using namespace std::literals;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::deferred);

constexpr std::size_t upstream_buffer_cap = 64 * 1024 + 16 * 1024;
// A stream stops reading its upstream while this much of its response waits for the
// client's flow-control window, and goes on when the writer has sent it.
constexpr std::size_t queue_high = 256 * 1024;

http2::limits our_limits()
{
    return http2::limits{}; // 128 streams, 64 KiB header list, 64 KiB stream window, 1 MiB connection
}


} // namespace

awaitable<void> wakeup::wait()
{
    if (!pending_) {
        timer_.expires_at(steady::time_point::max());
        co_await timer_.async_wait(nothrow);
    }
    pending_ = false;
}

// One request and its exchange with the upstream.
struct h2_connection::stream {
    explicit stream(asio::any_io_executor ex) : wake{std::move(ex)} {}

    std::int32_t id = 0;
    // The request, copied out of the engine's scratch memory.
    std::string text;                          // method, path, authority, then names and values
    std::string_view method, path, authority;
    std::vector<http1::header> fields;
    std::optional<std::uint64_t> content_length;
    bool has_body = false;
    // Request body bytes received and not yet written upstream.
    std::string body;
    bool body_done = false;
    bool forwarding = false;                   // false: body bytes are dropped (and acknowledged)
    // The client is gone (reset, or the connection ended): stop at the next step.
    bool closed = false;
    bool responded = false;
    bool timed_out = false;
    steady::time_point deadline = steady::time_point::max();
    wakeup wake;
    std::shared_ptr<upstream_connection> upstream;
    std::unique_ptr<byte_buffer> up_in;
    http1::response_parser parser;
    std::string head;                          // the request head sent upstream
    std::string payload;                       // a de-chunked piece of response body
    upstream_target target;
    std::vector<tcp::endpoint> endpoints;
    // For the access log and the metrics.
    route_kind kind = route_kind::not_found;
    const routing::rule_view* rule = nullptr;
    std::shared_ptr<const routing::table> table;
    std::shared_ptr<const dataplane_settings> settings;
    unsigned status = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    tcp::endpoint upstream_address;
    bool has_upstream = false;
    std::chrono::system_clock::time_point wall_start;
    steady::time_point start;
    routing::host_buffer host_storage;
    std::string_view host_name;                // normalised :authority, in host_storage
};

h2_connection::h2_connection(dataplane_worker& worker, tcp::socket& client, SSL* tls,
                             std::shared_ptr<const tls::certificate_set> certificates, tcp::endpoint peer,
                             std::string peer_ip)
    : worker_{worker},
      client_{client},
      tls_{tls},
      certificates_{std::move(certificates)},
      peer_{peer},
      peer_ip_{std::move(peer_ip)},
      via_{"2 " + worker.settings->node},
      writer_wake_{worker.io().get_executor()},
      streams_done_{worker.io().get_executor()}
{
    conn_ = std::make_unique<http2::server_connection>(*this, our_limits());
    if (const char* name = SSL_get_servername(tls_, TLSEXT_NAMETYPE_host_name)) {
        routing::host_buffer buffer;
        if (const auto h = routing::normalise_host(name, routing::host_kind::request, buffer)) {
            sni_.assign(h.name);
        }
    }
    idle_deadline_ = coarse_steady_now() + worker_.settings->header_read;
}

h2_connection::~h2_connection() = default;

awaitable<void> h2_connection::run()
{
    using namespace boost::asio::experimental::awaitable_operators;
    co_await (read_loop() && write_loop());
    // The connection is over: whatever is still running stops at its next step.
    for (auto& [id, s] : streams_) {
        s->closed = true;
        if (s->upstream) {
            boost::system::error_code ignored;
            s->upstream->socket.close(ignored);
        }
        s->wake.notify();
    }
    streams_.clear();
    while (live_ > 0) {
        co_await streams_done_.wait();
    }
}

// The engine takes every byte it is given at once, so the socket is read into one
// per-thread scratch buffer, never into a buffer of the connection's: an idle HTTP/2
// connection holds no read buffer. The wait comes only after a read found nothing (the
// edge-triggered wait is then safe), and no other coroutine runs between a read and the
// engine's receive().
awaitable<void> h2_connection::read_loop()
{
    static thread_local std::array<char, 16 * 1024> scratch;
    while (!stopping_ && (conn_->want_read() || conn_->want_write())) {
        boost::system::error_code ec;
        auto wait = tcp::socket::wait_read;
        const std::size_t n = tls_read_now(tls_, asio::buffer(scratch), wait, ec);
        if (ec) {
            break;
        }
        if (n == 0) {
            auto [wait_ec] = co_await client_.async_wait(wait, nothrow);
            if (wait_ec) {
                break;
            }
            continue;
        }
        dataplane_counters::bump(worker_.counters.bytes_in, n);
        const bool ok = conn_->receive({scratch.data(), n});
        wake_writer();
        if (!ok) {
            break; // the GOAWAY is queued: the writer sends it, then the connection ends
        }
    }
    stopping_ = true;
    wake_writer();
}

awaitable<void> h2_connection::write_loop()
{
    for (;;) {
        out_.clear();
        conn_->produce(out_, 64 * 1024);
        if (out_.empty()) {
            // Streams that waited for their queue to drain may go on.
            for (auto& [id, s] : streams_) {
                if (conn_->queued(id) < queue_high) {
                    s->wake.notify();
                }
            }
            if (stopping_ || (!conn_->want_read() && !conn_->want_write())) {
                break;
            }
            co_await writer_wake_.wait();
            continue;
        }
        std::size_t done = 0;
        bool ok = tls_write_now(tls_, out_, {}, done);
        if (!ok && done != SIZE_MAX) {
            const auto [rest_ok, n] = co_await tls_write_rest(client_, tls_, out_, {}, done);
            ok = rest_ok;
        }
        if (!ok) {
            break;
        }
        dataplane_counters::bump(worker_.counters.bytes_out, out_.size());
        for (auto& [id, s] : streams_) {
            if (conn_->queued(id) < queue_high) {
                s->wake.notify();
            }
        }
    }
    // Ends the reader too (a GOAWAY went out, or the client is gone).
    stopping_ = true;
    boost::system::error_code ignored;
    client_.cancel(ignored);
    out_ = std::string{};
}

void h2_connection::on_request(const http2::request& r)
{
    auto s = std::make_shared<stream>(worker_.io().get_executor());
    s->id = r.stream_id;
    // One string holds the request's text; views are taken once it stops growing.
    std::size_t total = r.method.size() + r.path.size() + r.authority.size();
    for (const auto& f : r.fields) {
        total += f.name.size() + f.value.size();
    }
    s->text.reserve(total);
    s->text += r.method;
    s->text += r.path;
    s->text += r.authority;
    for (const auto& f : r.fields) {
        s->text += f.name;
        s->text += f.value;
    }
    const char* p = s->text.data();
    const auto take = [&p](std::size_t n) {
        std::string_view v{p, n};
        p += n;
        return v;
    };
    s->method = take(r.method.size());
    s->path = take(r.path.size());
    s->authority = take(r.authority.size());
    s->fields.reserve(r.fields.size());
    for (const auto& f : r.fields) {
        const auto name = take(f.name.size());
        s->fields.push_back({name, take(f.value.size())});
    }
    s->content_length = r.content_length;
    s->has_body = !r.end_stream;
    s->body_done = r.end_stream;
    if (worker_.access_log) {
        s->wall_start = std::chrono::system_clock::now();
        s->start = steady::now();
    }
    streams_.insert_or_assign(s->id, s);
    ++live_;
    // Started from the loop, not from inside the engine's callback.
    asio::post(worker_.io(), [this, s] {
        asio::co_spawn(worker_.io(), serve(s), [this](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& what) {
                    log_error(std::string{"http/2 stream: "} + what.what());
                }
            }
            --live_;
            streams_done_.notify();
        });
    });
}

void h2_connection::on_data(std::int32_t id, std::string_view bytes)
{
    const auto it = streams_.find(id);
    if (it == streams_.end()) {
        return;
    }
    auto& s = *it->second;
    s.bytes_in += bytes.size();
    if (!s.forwarding && s.responded) {
        conn_->consumed(id, bytes.size()); // answered here: the body is not wanted
        return;
    }
    s.body += bytes;
    s.wake.notify();
}

void h2_connection::on_end(std::int32_t id)
{
    if (const auto it = streams_.find(id); it != streams_.end()) {
        it->second->body_done = true;
        it->second->wake.notify();
    }
}

void h2_connection::on_close(std::int32_t id, std::uint32_t)
{
    const auto it = streams_.find(id);
    if (it == streams_.end()) {
        return;
    }
    auto s = it->second;
    streams_.erase(it);
    if (!s->closed) {
        s->closed = true;
        // Reset (or ended) before the exchange finished: its upstream connection is in an
        // unknown state.
        if (s->upstream) {
            boost::system::error_code ignored;
            s->upstream->socket.close(ignored);
        }
        s->wake.notify();
    }
    if (streams_.empty()) {
        idle_deadline_ = coarse_steady_now() + worker_.settings->keepalive;
    }
}

void h2_connection::set_deadline(stream& s, steady::duration d) noexcept
{
    s.deadline = coarse_steady_now() + d;
}

steady::time_point h2_connection::sweep(steady::time_point now, bool cut)
{
    if (cut) {
        close_now();
        return steady::time_point::max();
    }
    steady::time_point next = steady::time_point::max();
    for (auto& [id, s] : streams_) {
        if (s->deadline <= now) {
            s->timed_out = true;
            s->deadline = steady::time_point::max();
            if (s->upstream) {
                boost::system::error_code ignored;
                s->upstream->socket.cancel(ignored);
            }
            s->wake.notify();
        }
        next = std::min(next, s->deadline);
    }
    if (streams_.empty()) {
        if (idle_deadline_ <= now) {
            // Idle too long (or never sent a request): say goodbye.
            conn_->shutdown();
            stopping_ = true;
            boost::system::error_code ignored;
            client_.cancel(ignored);
            wake_writer();
            return steady::time_point::max();
        }
        next = std::min(next, idle_deadline_);
    }
    return next;
}

void h2_connection::drain()
{
    if (!draining_) {
        draining_ = true;
        conn_->shutdown();
        wake_writer();
    }
}

void h2_connection::close_now()
{
    stopping_ = true;
    boost::system::error_code ignored;
    client_.close(ignored);
    for (auto& [id, s] : streams_) {
        s->closed = true;
        if (s->upstream) {
            s->upstream->socket.close(ignored);
        }
        s->wake.notify();
    }
    wake_writer();
}

// Local answers: a status, one optional extra field, a short body.
void h2_connection::answer(stream& s, unsigned status, std::string_view content_type, std::string_view body,
                           std::string_view extra_name, std::string_view extra_value)
{
    if (s.closed) {
        return;
    }
    std::array<char, 24> length{};
    const auto [end, ec] = std::to_chars(length.data(), length.data() + length.size(), body.size());
    std::array<http2::header_field, 3> fields{};
    std::size_t n = 0;
    fields[n++] = {"content-type", content_type};
    fields[n++] = {"content-length", std::string_view{length.data(), static_cast<std::size_t>(end - length.data())}};
    if (!extra_name.empty()) {
        fields[n++] = {extra_name, extra_value};
    }
    const bool no_body = body.empty() || s.method == "HEAD";
    conn_->respond(s.id, status, {fields.data(), n}, no_body);
    if (!no_body) {
        conn_->send_data(s.id, body, true);
    }
    s.responded = true;
    s.status = status;
    s.bytes_out += body.size();
    if (!s.body.empty()) {
        conn_->consumed(s.id, s.body.size());
        s.body.clear();
    }
    wake_writer();
}

// An upstream failure: 502/504 when nothing was sent yet, else a reset.
void h2_connection::fail(stream& s, unsigned status, std::string_view why)
{
    if (s.closed) {
        return;
    }
    if (!s.responded) {
        std::string body = std::to_string(status) + " " + std::string{reason_phrase(status)} + ": " +
                           std::string{why} + "\n";
        answer(s, status, "text/plain; charset=utf-8", body);
        return;
    }
    s.status = s.status == 0 ? status : s.status;
    conn_->reset(s.id, NGHTTP2_INTERNAL_ERROR);
    wake_writer();
}

void h2_connection::release_upstream(stream& s, bool reusable)
{
    if (!s.upstream) {
        return;
    }
    auto& c = *s.upstream;
    if (c.ssl && !c.session_saved) {
        keep_upstream_session(worker_, c);
    }
    const bool clean = (!s.up_in || s.up_in->empty()) && !(c.ssl && tls_has_buffered(c.ssl.get()));
    if (reusable && clean && worker_.settings->max_idle_per_key > 0 && !worker_.draining()) {
        worker_.pool.put(std::move(s.upstream), worker_.settings->max_idle_per_key);
    } else {
        boost::system::error_code ignored;
        c.socket.close(ignored);
    }
    s.upstream.reset();
}

void h2_connection::finish(stream& s)
{
    auto& c = worker_.counters;
    const unsigned cls = s.status >= 100 && s.status < 600 ? s.status / 100 - 1 : 4;
    dataplane_counters::bump(c.requests[static_cast<std::size_t>(s.kind)][cls]);
    if (!worker_.access_log) {
        return;
    }
    access_record r;
    r.time = s.wall_start;
    r.worker = worker_.index();
    r.client = peer_;
    r.host = s.authority;
    r.method = s.method;
    r.path = s.path;
    r.status = s.status;
    r.bytes_in = s.bytes_in;
    r.bytes_out = s.bytes_out;
    const std::string upstream = s.has_upstream ? to_text(s.upstream_address) : std::string{};
    r.upstream = upstream;
    r.rule = s.rule ? s.rule->host : std::string_view{};
    r.mode = to_string(s.kind);
    r.duration_us = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(steady::now() - s.start).count());
    worker_.access_log->append(r);
}

awaitable<void> h2_connection::serve(stream_ptr sp)
{
    stream& s = *sp;
    if (s.closed) {
        co_return; // reset, or the connection ended, before the stream got going
    }
    s.table = worker_.table;
    s.settings = worker_.settings;
    const auto host = routing::normalise_host(s.authority, routing::host_kind::request, s.host_storage);
    // Coalescing (RFC 9113 §9.1.1): a client may send a request for another name than its
    // SNI on this connection when our certificate covers that name too. When it does not,
    // the client must open a connection of its own (421, RFC 9110 §15.5.20). A request for
    // the name the client connected for (or a client without SNI) is routed whatever the
    // certificate: the client has accepted it for that name.
    const bool other_name = !sni_.empty() && (!host || host.name != sni_);
    if (other_name && certificates_ && !certificates_->covers(SSL_get_SSL_CTX(tls_), s.authority)) {
        s.kind = route_kind::invalid;
        answer(s, 421, "text/plain; charset=utf-8",
               "421 Misdirected Request: the certificate of this connection does not cover this host name.\n");
        finish(s);
        co_return;
    }
    routing::match_result m;
    if (host) {
        s.host_name = host.name;
        m = s.table->match(host.name, coarse_system_seconds());
    }
    s.rule = m.rule;
    const bool acme = s.path.starts_with(acme_challenge_prefix);
    if (m.rule && (acme || (!m.expired && m.rule->mode != routing::rule_mode::redirect))) {
        s.kind = acme ? route_kind::acme : route_kind::proxy;
        co_await proxy(s, m.rule, false);
    } else if (m.rule && m.expired) {
        s.kind = route_kind::expired;
        answer(s, 503, "text/html; charset=utf-8", expired_page(m.rule->host, m.rule->target), "cache-control",
               "no-store");
    } else if (m.rule) {
        s.kind = route_kind::redirect;
        answer(s, m.rule->redirect_code, "text/plain; charset=utf-8", "This application has moved.\n", "location",
               redirect_location(m.rule->target, s.path));
    } else if (s.settings->fallback_http) {
        s.kind = route_kind::fallback;
        co_await proxy(s, nullptr, true);
    } else {
        s.kind = route_kind::not_found;
        answer(s, 404, "text/plain; charset=utf-8", "No application is served here under this host name.\n");
    }
    finish(s);
}

awaitable<void> h2_connection::proxy(stream& s, const routing::rule_view* rule, bool fallback)
{
    auto& t = s.target;
    std::string_view host_header;
    if (fallback) {
        t.host = s.settings->fallback_http->host;
        t.port = s.settings->fallback_http->port;
        t.tls = false;
        host_header = s.authority;
    } else {
        const auto& r = *rule;
        const bool passthrough = r.mode == routing::rule_mode::passthrough; // its upstream speaks TLS
        t.tls = passthrough || r.upstream_tls;
        if (!r.upstream_host.empty()) {
            t.host = r.upstream_host;
            t.port = r.upstream_port;
        } else {
            t.host = r.target;
            t.port = t.tls ? 443 : 80;
        }
        host_header = r.preserve_host || passthrough ? s.authority : r.target;
        t.sni = r.preserve_host || passthrough ? s.host_name : r.target;
    }
    t.host_header = host_header;

    // The HTTP/1.1 head (docs/data-plane.md "Head rewriting"; HTTP/2 has no hop-by-hop
    // fields but TE).
    auto& h = s.head;
    h.clear();
    h += s.method;
    h += ' ';
    h += s.path;
    h += " HTTP/1.1\r\n"sv;
    append_field(h, "Host", host_header);
    std::string forwarded_for;
    for (const auto& f : s.fields) {
        if (f.name == "te" || f.name == "x-forwarded-proto" || f.name == "x-forwarded-host" ||
            f.name == "connection" || f.name == "transfer-encoding") {
            continue;
        }
        if (f.name == "x-forwarded-for") {
            forwarded_for += f.value;
            forwarded_for += ", "sv;
            continue;
        }
        append_field(h, f.name, f.value);
    }
    const bool chunked = s.has_body && !s.content_length;
    if (s.content_length) {
        h += "content-length: "sv;
        append_number(h, *s.content_length);
        h += "\r\n"sv;
    } else if (chunked) {
        h += "transfer-encoding: chunked\r\n"sv;
    }
    h += "X-Forwarded-For: "sv;
    h += forwarded_for;
    h += peer_ip_;
    h += "\r\nX-Forwarded-Proto: https\r\n"sv;
    append_field(h, "X-Forwarded-Host", s.authority);
    append_field(h, "Via", via_);
    h += "\r\n"sv;

    s.forwarding = true;
    std::string error;
    if (!co_await connect(s, error)) {
        s.forwarding = false;
        fail(s, 502, error);
        co_return;
    }
    s.up_in = std::make_unique<byte_buffer>(worker_.buffers, upstream_buffer_cap);
    set_deadline(s, s.settings->read_timeout);
    if (!co_await write_upstream(s, h, {})) {
        release_upstream(s, false);
        fail(s, 502, "the upstream closed the connection before the request was sent");
        co_return;
    }
    if (s.has_body && !co_await send_body(s, chunked)) {
        release_upstream(s, false);
        if (!s.closed) {
            fail(s, s.timed_out ? 504 : 502, s.timed_out ? "the upstream did not take the request body in time"
                                                          : "the upstream closed the connection while receiving "
                                                            "the request body");
        }
        co_return;
    }
    s.forwarding = false;

    // The response head, after any interim (1xx) responses.
    const bool head_method = s.method == "HEAD";
    for (;;) {
        s.parser.reset();
        auto state = s.up_in->empty() ? http1::parse_state::incomplete : s.parser.parse(s.up_in->data(), head_method);
        while (state == http1::parse_state::incomplete && !s.closed) {
            set_deadline(s, s.settings->read_timeout);
            auto [ec, n] = co_await read_upstream(s);
            if (ec) {
                break;
            }
            state = s.parser.parse(s.up_in->data(), head_method);
        }
        if (s.closed) {
            release_upstream(s, false);
            co_return;
        }
        if (state != http1::parse_state::complete) {
            const bool nothing = s.up_in->empty();
            release_upstream(s, false);
            if (s.timed_out) {
                dataplane_counters::bump(worker_.counters.upstream_response_timeouts);
                fail(s, 504, "the upstream did not answer in time");
            } else {
                fail(s, 502, nothing ? "the upstream closed the connection without answering"
                                     : "the upstream sent an invalid response");
            }
            co_return;
        }
        const auto& r = s.parser.head();
        if (r.status == 101) {
            release_upstream(s, false);
            fail(s, 502, "the upstream switched protocols, which HTTP/2 cannot carry");
            co_return;
        }
        if (r.status >= 200) {
            break;
        }
        s.up_in->consume(r.head_bytes); // interim responses are not passed on
    }
    co_await forward_body(s);
}

awaitable<bool> h2_connection::connect(stream& s, std::string& error)
{
    auto& t = s.target;
    if (!literal_endpoint(t, s.endpoints)) {
        error = co_await resolve_endpoints(worker_, t, s.endpoints);
        if (!error.empty()) {
            co_return false;
        }
    }
    const std::string sni{t.tls ? t.sni : ""sv};
    for (const auto& ep : s.endpoints) {
        if (auto c = worker_.pool.take(upstream_key{ep, t.tls, sni})) {
            s.upstream = std::move(c);
            s.upstream_address = ep;
            s.has_upstream = true;
            dataplane_counters::bump(worker_.counters.upstream_reused);
            co_return true;
        }
    }
    for (const auto& ep : s.endpoints) {
        if (s.closed) {
            co_return false;
        }
        s.upstream = std::make_shared<upstream_connection>(worker_.io().get_executor(), upstream_key{ep, t.tls, sni});
        s.upstream_address = ep;
        s.has_upstream = true;
        set_deadline(s, s.settings->connect_timeout);
        auto [ec] = co_await s.upstream->socket.async_connect(ep, nothrow);
        if (s.closed) {
            s.upstream.reset(); // the client reset the stream meanwhile
            co_return false;
        }
        if (!ec) {
            boost::system::error_code ignored;
            s.upstream->socket.set_option(tcp::no_delay{true}, ignored);
            s.upstream->socket.non_blocking(true, ignored);
            dataplane_counters::bump(worker_.counters.upstream_opened);
            if (t.tls) {
                set_deadline(s, s.settings->connect_timeout);
                error = co_await upstream_tls_handshake(worker_, *s.upstream, t.sni, s.timed_out);
                if (!error.empty()) {
                    log_warning("upstream: " + error);
                    s.upstream.reset();
                    co_return false;
                }
            }
            co_return true;
        }
        if (s.timed_out) {
            dataplane_counters::bump(worker_.counters.upstream_connect_timeout);
            error = "connecting to " + to_text(ep) + " timed out";
            s.upstream.reset();
            break;
        }
        dataplane_counters::bump(ec == asio::error::connection_refused ? worker_.counters.upstream_connect_refused
                                                                       : worker_.counters.upstream_other_errors);
        error = "connecting to " + to_text(ep) + ": " + ec.message();
        s.upstream.reset();
    }
    if (!error.empty()) {
        log_warning("upstream: " + error);
    }
    co_return false;
}

awaitable<bool> h2_connection::write_upstream(stream& s, std::string_view a, std::string_view b)
{
    if (!s.upstream) {
        co_return false;
    }
    auto& c = *s.upstream;
    SSL* ssl = c.ssl.get();
    std::size_t done = 0;
    if (ssl ? tls_write_now(ssl, a, b, done) : write_now(c.socket, a, b, done)) {
        co_return true;
    }
    if (done == SIZE_MAX) {
        co_return false;
    }
    const auto [ok, n] = ssl ? co_await tls_write_rest(c.socket, ssl, a, b, done) : co_await write_rest(c.socket, a, b, done);
    co_return ok;
}

awaitable<std::pair<boost::system::error_code, std::size_t>> h2_connection::read_upstream(stream& s)
{
    auto& c = *s.upstream;
    const auto room = s.up_in->prepare();
    if (room.size() == 0) {
        co_return std::pair{boost::system::error_code{asio::error::no_buffer_space}, std::size_t{0}};
    }
    std::pair<boost::system::error_code, std::size_t> r;
    if (c.ssl) {
        r = co_await tls_read_some(c.socket, c.ssl.get(), room);
    } else {
        auto [ec, n] = co_await c.socket.async_read_some(room, nothrow);
        r = {ec, n};
    }
    if (!r.first) {
        s.up_in->commit(r.second);
    }
    co_return r;
}

// The request body, as the client sends it, written upstream (chunked when the client gave
// no length); each piece is acknowledged to the client once written.
awaitable<bool> h2_connection::send_body(stream& s, bool chunked)
{
    std::string piece;
    for (;;) {
        while (s.body.empty() && !s.body_done && !s.closed && !s.timed_out) {
            set_deadline(s, s.settings->read_timeout);
            co_await s.wake.wait();
        }
        if (s.closed || s.timed_out) {
            co_return false;
        }
        if (!s.body.empty()) {
            piece.swap(s.body);
            s.body.clear();
            set_deadline(s, s.settings->read_timeout);
            bool ok = true;
            if (chunked) {
                std::array<char, 20> size{};
                const auto [end, ec] = std::to_chars(size.data(), size.data() + size.size() - 2, piece.size(), 16);
                char* e = end;
                *e++ = '\r';
                *e++ = '\n';
                ok = co_await write_upstream(s, {size.data(), static_cast<std::size_t>(e - size.data())}, piece) &&
                     co_await write_upstream(s, "\r\n", {});
            } else {
                ok = co_await write_upstream(s, piece, {});
            }
            if (!ok) {
                co_return false;
            }
            conn_->consumed(s.id, piece.size());
            wake_writer(); // the WINDOW_UPDATE
            piece.clear();
        }
        if (s.body_done && s.body.empty()) {
            if (chunked && !co_await write_upstream(s, "0\r\n\r\n", {})) {
                co_return false;
            }
            co_return true;
        }
    }
}

// The response head and body, to the client; the upstream connection back to the pool.
awaitable<bool> h2_connection::forward_body(stream& s)
{
    const auto& r = s.parser.head();
    s.status = r.status;
    // The fields: the upstream's, minus its hop-by-hop ones (the engine drops the
    // connection-specific names HTTP/2 forbids, RFC 9113 §8.2.2).
    std::array<std::string_view, 32> connection_values{};
    std::size_t nconn = 0;
    for (const auto& f : r.headers) {
        if (nconn < connection_values.size() && http1::iequals(f.name, "connection")) {
            connection_values[nconn++] = f.value;
        }
    }
    std::vector<http2::header_field> fields;
    fields.reserve(r.headers.size());
    for (const auto& f : r.headers) {
        if (http1::is_hop_by_hop(f.name, {connection_values.data(), nconn})) {
            continue;
        }
        fields.push_back({f.name, f.value});
    }
    const auto framing = r.framing;
    const bool no_body = framing == http1::body_framing::none ||
                         (framing == http1::body_framing::length && r.content_length == 0);
    const bool reusable = r.keep_alive && framing != http1::body_framing::until_close;
    conn_->respond(s.id, r.status, fields, no_body);
    s.responded = true;
    std::uint64_t remaining = r.content_length;
    s.up_in->consume(r.head_bytes);
    wake_writer();
    if (no_body) {
        release_upstream(s, reusable && s.up_in->empty());
        co_return true;
    }
    http1::chunked_scanner chunks;
    bool done = false;
    for (;;) {
        // What is buffered goes to the client.
        if (!s.up_in->empty()) {
            std::string_view piece;
            if (framing == http1::body_framing::length) {
                const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, s.up_in->size()));
                piece = s.up_in->data().substr(0, n);
                remaining -= n;
                done = remaining == 0;
                conn_->send_data(s.id, piece, done);
                s.bytes_out += n;
                s.up_in->consume(n);
            } else if (framing == http1::body_framing::chunked) {
                s.payload.clear();
                const auto step = chunks.decode(s.up_in->data(), s.payload);
                if (step.failure != http1::error::none) {
                    release_upstream(s, false);
                    fail(s, 502, "the upstream sent a malformed chunked body");
                    co_return false;
                }
                done = step.done;
                if (!s.payload.empty() || done) {
                    conn_->send_data(s.id, s.payload, done);
                }
                s.bytes_out += s.payload.size();
                s.up_in->consume(step.consumed);
            } else {
                conn_->send_data(s.id, s.up_in->data(), false);
                s.bytes_out += s.up_in->size();
                s.up_in->consume(s.up_in->size());
            }
            wake_writer();
        }
        if (done) {
            release_upstream(s, reusable && s.up_in->empty());
            co_return true;
        }
        // Backpressure: wait while the client's window holds back what is queued.
        while (!s.closed && conn_->queued(s.id) >= queue_high) {
            set_deadline(s, s.settings->read_timeout);
            co_await s.wake.wait();
            if (s.timed_out) {
                break;
            }
        }
        if (s.closed || s.timed_out) {
            release_upstream(s, false);
            if (s.timed_out && !s.closed) {
                conn_->reset(s.id, NGHTTP2_CANCEL);
                wake_writer();
            }
            co_return false;
        }
        set_deadline(s, s.settings->read_timeout);
        auto [ec, n] = co_await read_upstream(s);
        if (ec) {
            if (framing == http1::body_framing::until_close && ec == asio::error::eof && !s.closed) {
                conn_->send_data(s.id, {}, true);
                wake_writer();
                release_upstream(s, false);
                co_return true;
            }
            release_upstream(s, false);
            if (!s.closed) {
                log_warning("upstream " + to_text(s.upstream_address) + " failed in the middle of a response body: " +
                            (s.timed_out ? "timed out"s : ec.message()));
                fail(s, 502, "the upstream failed in the middle of the response");
            }
            co_return false;
        }
    }
}

} // namespace stork::proxy
