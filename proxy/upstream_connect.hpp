#pragma once

#include "proxy/dataplane.hpp"
#include "proxy/upstream_pool.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stork::proxy {

// Where one request goes upstream, decided by routing.
struct upstream_target {
    std::string_view host;         // an IP literal or a DNS name
    std::uint16_t port = 0;
    bool tls = false;              // issue 5; the connector refuses it until then
    std::string_view sni;          // for tls: the name to send and verify
    std::string_view host_header;  // the Host field sent upstream
    bool keep_host = false;        // fallback: the Host field goes on untouched
};

struct resolve_outcome {
    std::vector<boost::asio::ip::tcp::endpoint> endpoints;
    std::string error;             // empty on success
};

// The addresses of `target.host`: an IP literal as it is, a name through the worker's
// c-ares cache (TTL-honouring, lookups coalesced).
boost::asio::awaitable<resolve_outcome> resolve_upstream(dataplane_worker& worker, const upstream_target& target);

// The addresses to connect to for `target`, into `out` (replaced), in two steps so that
// the common case costs no coroutine: literal_endpoint() takes an IP literal at once and
// without allocating (rules naming their `upstream`) and says whether it did; otherwise
// resolve_endpoints() resolves the name (resolve_upstream), returning why it could not
// (counted as a resolve failure) or nothing.
bool literal_endpoint(const upstream_target& target, std::vector<boost::asio::ip::tcp::endpoint>& out);
boost::asio::awaitable<std::string> resolve_endpoints(dataplane_worker& worker, const upstream_target& target,
                                                      std::vector<boost::asio::ip::tcp::endpoint>& out);

// TLS on an upstream connection just connected (tls-design.md §4): SNI and certificate
// verification as `server_name`, the worker's last session for the key offered. Empty on
// success, else why it failed, for the 502 and the log (counted). The caller's deadline
// bounds it by cancelling the socket; `timed_out` is the caller's flag for that.
boost::asio::awaitable<std::string> upstream_tls_handshake(dataplane_worker& worker, upstream_connection& c,
                                                           std::string_view server_name, const bool& timed_out);

// Keeps the TLS session of `c` for the next connection to its key, once per connection,
// when it is first released (by then a TLS 1.3 ticket sent after the handshake has been
// read along with the response).
void keep_upstream_session(dataplane_worker& worker, upstream_connection& c);

} // namespace stork::proxy

namespace stork::proxy {
// "192.0.2.1:80", "[2001:db8::1]:443"
std::string to_text(const boost::asio::ip::tcp::endpoint& ep);
} // namespace stork::proxy
