#include "tests/support/tls_client.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>

namespace stork::test {

namespace {

std::string openssl_errors()
{
    std::string s;
    while (const unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        s += (s.empty() ? "" : "; ") + std::string{buf};
    }
    return s.empty() ? "no OpenSSL error" : s;
}

std::string lower(std::string s)
{
    for (auto& c : s) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
}

} // namespace

tls_keepalive::tls_keepalive(std::uint16_t port, const std::string& sni, const std::filesystem::path& ca)
{
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_load_verify_locations(ctx_, ca.c_str(), nullptr) != 1) {
        error_ = "cannot load " + ca.string() + ": " + openssl_errors();
        return;
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        error_ = "connect to 127.0.0.1:" + std::to_string(port) + " failed";
        return;
    }
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, sni.c_str());
    SSL_set1_host(ssl_, sni.c_str());
    static const unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_set_alpn_protos(ssl_, alpn, sizeof alpn);
    if (SSL_connect(ssl_) != 1) {
        error_ = "TLS handshake failed: " + openssl_errors() + " (verify: " +
                 X509_verify_cert_error_string(SSL_get_verify_result(ssl_)) + ")";
        return;
    }
    ok_ = true;
}

tls_keepalive::~tls_keepalive()
{
    if (ssl_ != nullptr) {
        SSL_free(ssl_);
    }
    if (fd_ >= 0) {
        ::close(fd_);
    }
    SSL_CTX_free(ctx_);
}

std::string tls_keepalive::peer_serial() const
{
    if (ssl_ == nullptr) {
        return {};
    }
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (cert == nullptr) {
        return {};
    }
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr);
    char* hex = BN_bn2hex(bn);
    std::string s{hex};
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(cert);
    return s;
}

std::pair<unsigned, std::string> tls_keepalive::get(const std::string& host, const std::string& target)
{
    if (!ok_) {
        return {0, {}};
    }
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
    if (SSL_write(ssl_, request.data(), static_cast<int>(request.size())) <= 0) {
        error_ = "write failed: " + openssl_errors();
        ok_ = false;
        return {0, {}};
    }
    std::string got;
    std::size_t head_end = std::string::npos;
    std::size_t body_size = 0;
    bool chunked = false;
    for (;;) {
        if (head_end == std::string::npos) {
            head_end = got.find("\r\n\r\n");
            if (head_end != std::string::npos) {
                const std::string head = lower(got.substr(0, head_end));
                const auto cl = head.find("\r\ncontent-length:");
                if (cl != std::string::npos) {
                    body_size = static_cast<std::size_t>(std::atol(head.c_str() + cl + 17));
                }
                chunked = head.find("\r\ntransfer-encoding: chunked") != std::string::npos;
            }
        }
        if (head_end != std::string::npos) {
            const std::string body = got.substr(head_end + 4);
            if ((!chunked && body.size() >= body_size) || (chunked && body.ends_with("0\r\n\r\n"))) {
                const unsigned status = static_cast<unsigned>(std::atoi(got.c_str() + got.find(' ') + 1));
                return {status, body};
            }
        }
        char buf[16384];
        const int n = SSL_read(ssl_, buf, sizeof buf);
        if (n <= 0) {
            error_ = "the connection ended before a whole response (" + std::to_string(got.size()) +
                     " bytes): " + openssl_errors();
            ok_ = false;
            return {0, {}};
        }
        got.append(buf, static_cast<std::size_t>(n));
    }
}

} // namespace stork::test
