#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace stork::tls {

// Owning pointers for OpenSSL's handles (style.md: an RAII wrapper for every C handle).

struct ssl_ctx_deleter {
    void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
};
struct x509_deleter {
    void operator()(X509* p) const noexcept { X509_free(p); }
};
struct pkey_deleter {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct bio_deleter {
    void operator()(BIO* p) const noexcept { BIO_free(p); }
};
struct ssl_deleter {
    void operator()(SSL* p) const noexcept { SSL_free(p); }
};
struct ssl_session_deleter {
    void operator()(SSL_SESSION* p) const noexcept { SSL_SESSION_free(p); }
};

using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_deleter>;
using x509_ptr = std::unique_ptr<X509, x509_deleter>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;
using ssl_ptr = std::unique_ptr<SSL, ssl_deleter>;
using ssl_session_ptr = std::unique_ptr<SSL_SESSION, ssl_session_deleter>;

// The reason of the oldest error on this thread's OpenSSL queue, which is then emptied:
// errors must not leak into the next call (or into a later handshake on this thread).
inline std::string take_openssl_error()
{
    const unsigned long e = ERR_peek_error();
    const char* reason = e != 0 ? ERR_reason_error_string(e) : nullptr;
    ERR_clear_error();
    return reason != nullptr ? reason : "unknown OpenSSL error";
}

} // namespace stork::tls
