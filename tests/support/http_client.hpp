#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace stork::test {

struct http_reply {
    unsigned status = 0;
    std::map<std::string, std::string> headers; // names in lower case
    std::string body;
};

// One blocking HTTP/1.1 exchange on a new connection to 127.0.0.1:port (Beast), for
// tests that talk to a server the way a client would. Throws on network errors.
http_reply http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        std::vector<std::pair<std::string, std::string>> headers = {}, std::string body = {});

// Sends raw bytes and returns everything the server sends until it closes (or 10 s).
std::string raw_exchange(std::uint16_t port, const std::string& bytes);

} // namespace stork::test
