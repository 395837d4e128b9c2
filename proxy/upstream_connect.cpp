#include "proxy/upstream_connect.hpp"

#include "dnscheck/address_cache.hpp"
#include "proxy/access_log.hpp"

#include <boost/asio/use_awaitable.hpp>


namespace stork::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;

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

} // namespace stork::proxy
