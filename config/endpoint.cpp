#include "config/endpoint.hpp"

#include "config/host_name.hpp"
#include "config/printable.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace stork::config {

namespace {

bool is_ipv4(const std::string& s)
{
    in_addr a{};
    return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s)
{
    in6_addr a{};
    return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

parsed<std::uint16_t> parse_port(std::string_view text, const endpoint_rules& rules)
{
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value > 65535) {
        return invalid{"port " + quoted(text) + " is not a number from 1 to 65535"};
    }
    if (value == 0 && !rules.allow_port_zero) {
        return invalid{"port 0 is not allowed here"};
    }
    return static_cast<std::uint16_t>(value);
}

} // namespace

std::string endpoint::to_string() const
{
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

parsed<endpoint> parse_endpoint(std::string_view text, const endpoint_rules& rules)
{
    const auto quoted = [&] { return config::quoted(text); };
    // Nothing in an address or a host name is a space, a control byte or non-ASCII; a
    // NUL in particular would cut the text short for inet_pton.
    for (char c : text) {
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
            return invalid{quoted() + " has a space, a control byte or a non-ASCII byte"};
        }
    }
    std::string host;
    std::optional<std::string_view> port_text;
    bool bracketed = false;

    if (!text.empty() && text.front() == '[') {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos) {
            return invalid{quoted() + " has '[' without ']'"};
        }
        host = std::string{text.substr(1, close - 1)};
        bracketed = true;
        const std::string_view rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') {
                return invalid{quoted() + " has something other than \":PORT\" after ']'"};
            }
            port_text = rest.substr(1);
        }
    } else if (const std::size_t colon = text.find(':'); colon == std::string_view::npos) {
        host = std::string{text};
    } else if (text.find(':', colon + 1) == std::string_view::npos) {
        host = std::string{text.substr(0, colon)};
        port_text = text.substr(colon + 1);
    } else if (rules.default_port && is_ipv6(std::string{text})) {
        host = std::string{text};
    } else {
        return invalid{quoted() + ": an IPv6 address with a port needs brackets, e.g. [::1]:443"};
    }

    endpoint result;
    if (port_text) {
        auto port = parse_port(*port_text, rules);
        if (!port) {
            return invalid{quoted() + ": " + port.error()};
        }
        result.port = *port;
    } else if (rules.default_port) {
        result.port = *rules.default_port;
    } else {
        return invalid{quoted() + " has no port; write HOST:PORT"};
    }

    if (bracketed) {
        if (!is_ipv6(host)) {
            return invalid{quoted() + ": only an IPv6 address goes between brackets"};
        }
        result.is_ip = true;
    } else if (is_ipv4(host) || is_ipv6(host)) {
        result.is_ip = true;
    } else if (rules.require_ip) {
        return invalid{quoted() + ": needs an IP address here, not a host name"};
    } else if (auto problem = host_name_problem(host)) {
        return invalid{quoted() + ": " + *problem};
    }
    result.host = std::move(host);
    return result;
}

} // namespace stork::config
