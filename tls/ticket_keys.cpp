#include "tls/ticket_keys.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace stork::tls {

namespace {

// The ex_data slot of an SSL_CTX that points to its ticket_keys.
int context_slot()
{
    static const int slot = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return slot;
}

} // namespace

ticket_keys::ticket_keys() : current_{make_key()} {}

ticket_keys::key ticket_keys::make_key()
{
    key k;
    if (RAND_bytes(k.name.data(), static_cast<int>(k.name.size())) != 1 ||
        RAND_bytes(k.aes.data(), static_cast<int>(k.aes.size())) != 1 ||
        RAND_bytes(k.hmac.data(), static_cast<int>(k.hmac.size())) != 1) {
        throw std::runtime_error{"OpenSSL has no randomness for session ticket keys"};
    }
    return k;
}

void ticket_keys::rotate()
{
    key fresh = make_key();
    const std::lock_guard lock{mutex_};
    previous_ = current_;
    has_previous_ = true;
    current_ = fresh;
    ++generation_;
}

std::uint64_t ticket_keys::generation() const
{
    const std::lock_guard lock{mutex_};
    return generation_;
}

void ticket_keys::install(SSL_CTX* ctx)
{
    SSL_CTX_set_ex_data(ctx, context_slot(), this);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &ticket_keys::callback);
}

// OpenSSL calls this on the SSL's session context (the one the SSL was created from).
int ticket_keys::callback(SSL* ssl, unsigned char name[16], unsigned char iv[16], EVP_CIPHER_CTX* cipher,
                          EVP_MAC_CTX* mac, int encrypt)
{
    const auto* self = static_cast<const ticket_keys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_slot()));
    return self != nullptr ? self->use(name, iv, cipher, mac, encrypt) : -1;
}

// Returns (OpenSSL's contract): encrypting, 1 = done, -1 = failure; decrypting, 0 = unknown
// key (full handshake), 1 = valid, 2 = valid and issue a fresh ticket. Always 2: a TLS 1.3
// client uses a ticket once (RFC 8446 §4.6.1 recommends it, OpenSSL's client does), so a
// resumed connection that got no new ticket makes the client's next one a full handshake
// (seen as every other handshake full under peerbench g). nginx's default behaves the same.
int ticket_keys::use(unsigned char name[16], unsigned char iv[16], EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                     int encrypt) const
{
    key k;
    int verdict = 1;
    {
        const std::lock_guard lock{mutex_};
        if (encrypt != 0) {
            k = current_;
        } else if (std::equal(current_.name.begin(), current_.name.end(), name)) {
            k = current_;
            verdict = 2;
        } else if (has_previous_ && std::equal(previous_.name.begin(), previous_.name.end(), name)) {
            k = previous_;
            verdict = 2;
        } else {
            return 0;
        }
    }
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac.data(), k.hmac.size()),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (encrypt != 0) {
        if (RAND_bytes(iv, 16) != 1) {
            return -1;
        }
        std::copy(k.name.begin(), k.name.end(), name);
        if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes.data(), iv) != 1 ||
            EVP_MAC_CTX_set_params(mac, params) != 1) {
            return -1;
        }
        return 1;
    }
    if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes.data(), iv) != 1 ||
        EVP_MAC_CTX_set_params(mac, params) != 1) {
        return -1;
    }
    return verdict;
}

} // namespace stork::tls
