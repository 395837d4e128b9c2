#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>

namespace stork::test {

// A blocking HTTP/1.1 client on one TLS connection to 127.0.0.1:port (OpenSSL directly,
// ALPN http/1.1, SNI `sni`, the certificate verified for `sni` against `ca`), for what curl
// cannot show: that a connection opened before a certificate reload still carries requests
// after it. Reads and writes time out after 10 s.
class tls_keepalive {
public:
    tls_keepalive(std::uint16_t port, const std::string& sni, const std::filesystem::path& ca);
    ~tls_keepalive();
    tls_keepalive(const tls_keepalive&) = delete;
    tls_keepalive& operator=(const tls_keepalive&) = delete;

    // Connected and usable; error() says why not.
    bool ok() const noexcept { return ok_; }
    const std::string& error() const noexcept { return error_; }

    // The serial (upper-case hex) of the certificate the server presented on this connection.
    std::string peer_serial() const;

    // GET `target` with Host `host` on this connection: the status (0 on any failure, with
    // error() saying why) and the body. Content-Length and chunked responses.
    std::pair<unsigned, std::string> get(const std::string& host, const std::string& target);

private:
    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    int fd_ = -1;
    bool ok_ = false;
    std::string error_;
};

} // namespace stork::test
