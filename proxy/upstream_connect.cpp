#include "proxy/upstream_connect.hpp"

#include "dnscheck/address_cache.hpp"
#include "proxy/access_log.hpp"
#include "proxy/tls_io.hpp"
#include "tls/upstream_context.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <optional>


namespace stork::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// The address of an IP literal without allocating (a dotted quad is parsed here; other
// forms go through Asio), or nothing for a name.
std::optional<asio::ip::address> parse_ip_literal(std::string_view text)
{
    std::array<unsigned char, 4> bytes{};
    std::size_t part = 0;
    unsigned value = 0;
    unsigned digits = 0;
    bool dotted_quad = !text.empty();
    for (const char c : text) {
        if (c >= '0' && c <= '9') {
            value = value * 10 + static_cast<unsigned>(c - '0');
            if (++digits > 3 || value > 255) {
                dotted_quad = false;
                break;
            }
        } else if (c == '.' && digits > 0 && part < 3) {
            bytes[part++] = static_cast<unsigned char>(value);
            value = 0;
            digits = 0;
        } else {
            dotted_quad = false;
            break;
        }
    }
    if (dotted_quad && part == 3 && digits > 0) {
        bytes[3] = static_cast<unsigned char>(value);
        return asio::ip::address{asio::ip::address_v4{bytes}};
    }
    if (text.find(':') == std::string_view::npos) {
        return std::nullopt; // a name (IPv4 forms such as "127.1" are names to no one here)
    }
    boost::system::error_code ec;
    const auto a = asio::ip::make_address(text, ec);
    return ec ? std::nullopt : std::optional<asio::ip::address>{a};
}

} // namespace

std::string to_text(const tcp::endpoint& ep)
{
    std::string text;
    append_endpoint(text, ep); // the access log's formatter: RFC 5952, no sprintf
    return text;
}

asio::awaitable<resolve_outcome> resolve_upstream(dataplane_worker& worker, const upstream_target& target)
{
    resolve_outcome out;
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(target.host, ec);
    if (!ec) {
        out.endpoints.emplace_back(address, target.port);
        co_return out;
    }
    if (!worker.resolver) {
        out.error = "cannot resolve " + std::string{target.host} + ": this worker has no DNS resolver";
        co_return out;
    }
    const auto result = co_await worker.resolver->async_resolve(std::string{target.host}, worker.io().get_executor(),
                                                                asio::use_awaitable);
    if (!result) {
        out.error = "cannot resolve " + result.error().message;
        co_return out;
    }
    for (const auto& a : result->addresses) {
        out.endpoints.emplace_back(a, target.port);
    }
    co_return out;
}

bool literal_endpoint(const upstream_target& target, std::vector<tcp::endpoint>& out)
{
    const auto literal = parse_ip_literal(target.host);
    if (literal) {
        out.assign(1, tcp::endpoint{*literal, target.port});
    }
    return literal.has_value();
}

asio::awaitable<std::string> resolve_endpoints(dataplane_worker& worker, const upstream_target& target,
                                               std::vector<tcp::endpoint>& out)
{
    auto resolved = co_await resolve_upstream(worker, target);
    if (!resolved.error.empty()) {
        dataplane_counters::bump(worker.counters.upstream_resolve_failed);
        co_return std::move(resolved.error);
    }
    out = std::move(resolved.endpoints);
    co_return std::string{};
}

asio::awaitable<std::string> upstream_tls_handshake(dataplane_worker& worker, upstream_connection& c,
                                                    std::string_view server_name, const bool& timed_out)
{
    SSL_CTX* ctx = worker.settings->upstream_tls.get();
    c.ssl.reset(ctx != nullptr ? SSL_new(ctx) : nullptr);
    std::string error;
    if (!c.ssl || !tls::prepare_upstream_ssl(c.ssl.get(), server_name, error) ||
        SSL_set_fd(c.ssl.get(), c.socket.native_handle()) != 1) {
        if (error.empty()) {
            error = "cannot start TLS towards " + to_text(c.key.address) + ": " + tls::take_openssl_error();
        }
        dataplane_counters::bump(worker.counters.upstream_tls_failures);
        co_return error;
    }
    SSL_set_connect_state(c.ssl.get());
    if (const auto it = worker.upstream_sessions.find(c.key); it != worker.upstream_sessions.end()) {
        SSL_set_session(c.ssl.get(), it->second.get());
    }
    const auto ec = co_await tls_handshake(c.socket, c.ssl.get());
    if (ec) {
        const auto why = tls::verify_failure(c.ssl.get());
        error = "TLS handshake with " + to_text(c.key.address) + " as " + std::string{server_name} + " failed: " +
                (!why.empty() ? "certificate verification: " + why
                 : timed_out  ? std::string{"timed out"}
                              : ec.message());
        worker.upstream_sessions.erase(c.key);
        dataplane_counters::bump(worker.counters.upstream_tls_failures);
        co_return error;
    }
    if (SSL_session_reused(c.ssl.get()) == 1) {
        dataplane_counters::bump(worker.counters.upstream_tls_resumed);
    }
    co_return std::string{};
}

void keep_upstream_session(dataplane_worker& worker, upstream_connection& c)
{
    c.session_saved = true;
    tls::ssl_session_ptr session{SSL_get1_session(c.ssl.get())};
    if (session && SSL_SESSION_is_resumable(session.get()) == 1) {
        worker.upstream_sessions.insert_or_assign(c.key, std::move(session));
    }
}

} // namespace stork::proxy
