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

} // namespace stork::proxy

namespace stork::proxy {
// "192.0.2.1:80", "[2001:db8::1]:443"
std::string to_text(const boost::asio::ip::tcp::endpoint& ep);
} // namespace stork::proxy
