#include "proxy/upstream_connect.hpp"

#include <charconv>

namespace stork::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;

std::string to_text(const tcp::endpoint& ep)
{
    std::string text;
    if (ep.address().is_v6()) {
        text += '[';
        text += ep.address().to_string();
        text += ']';
    } else {
        text += ep.address().to_string();
    }
    text += ':';
    char digits[8];
    const auto r = std::to_chars(digits, digits + sizeof digits, ep.port());
    text.append(digits, r.ptr);
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
    (void)worker;
    out.error = "cannot resolve " + std::string{target.host} + ": no resolver";
    co_return out;
}

} // namespace stork::proxy
