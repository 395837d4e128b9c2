#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <mutex>

namespace stork::tls {

// The keys that encrypt TLS session tickets (RFC 5077, RFC 8446 §4.6.1), shared by every
// SSL_CTX of every certificate set: a reload replaces the contexts, and tickets issued
// before it must still resume. Tickets are issued under the current key; the previous key
// is still accepted (and the ticket renewed), so a ticket lives one to two rotation
// periods. rotate() runs on the control thread while workers encrypt and decrypt tickets:
// a mutex guards the two keys (taken once per ticket, far cheaper than the handshake).
class ticket_keys {
public:
    // Random keys (RAND_bytes). Throws std::runtime_error if OpenSSL has no randomness.
    ticket_keys();
    ticket_keys(const ticket_keys&) = delete;
    ticket_keys& operator=(const ticket_keys&) = delete;

    void rotate();

    // Makes `ctx` issue and accept tickets under these keys. The keys must outlive ctx.
    void install(SSL_CTX* ctx);

    // Bumped by every rotate(), for tests and logs.
    std::uint64_t generation() const;

private:
    struct key {
        std::array<unsigned char, 16> name{};
        std::array<unsigned char, 32> aes{};
        std::array<unsigned char, 32> hmac{};
    };
    static key make_key();
    static int callback(SSL* ssl, unsigned char name[16], unsigned char iv[16], EVP_CIPHER_CTX* cipher,
                        EVP_MAC_CTX* mac, int encrypt);
    int use(unsigned char name[16], unsigned char iv[16], EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
            int encrypt) const;

    mutable std::mutex mutex_;
    key current_;
    key previous_;
    bool has_previous_ = false;
    std::uint64_t generation_ = 0;
};

} // namespace stork::tls
