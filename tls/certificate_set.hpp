#pragma once

#include "tls/certificate_pair.hpp"
#include "tls/load_error.hpp"
#include "tls/openssl_handles.hpp"
#include "tls/ticket_keys.hpp"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace stork::tls {

// The server certificates of `tls.certificates` (tls-design.md §1): immutable once loaded,
// shared by every worker as a shared_ptr<const certificate_set>; a reload builds a new set
// and replaces the pointer, and connections already open keep their SSL*, which holds its
// own reference to its SSL_CTX.
//
// An identity is the certificates that carry the same set of DNS names. Each identity has
// one SSL_CTX holding its ECDSA and its RSA certificate side by side, so that OpenSSL
// picks by the client's signature algorithms. A handshake is moved to the identity's
// context by select() (from the listener's client-hello callback, issue 5 §2).
//
// Selection: the exact name, then a wildcard covering exactly one label ("*.example.com"
// covers "a.example.com", neither "example.com" nor "a.b.example.com", RFC 6125 §6.4.3,
// as routing::table does), then the default identity (tls.default). When two identities
// carry the same name, the one whose first certificate's NAME sorts first wins.
class certificate_set {
public:
    struct info {
        std::string name;
        std::vector<std::string> sans;
        key_type type = key_type::ecdsa;
        std::chrono::system_clock::time_point not_after;
        std::size_t identity = 0; // certificates with the same number share one SSL_CTX
    };

    using load_result = std::variant<std::shared_ptr<const certificate_set>, std::vector<load_error>>;

    // How the contexts serve handshakes.
    struct options {
        bool offer_h2 = false;            // ALPN: "h2" when the client offers it, else "http/1.1"
        ticket_keys* tickets = nullptr;   // session ticket keys shared across reloads (outlive the set)
    };

    // Every NAME.crt + NAME.key pair of `dir`; `default_name` is the NAME served when SNI
    // is absent or matches nothing. Either the whole set, or every error found.
    static load_result load(const std::filesystem::path& dir, std::string_view default_name);
    static load_result load(const std::filesystem::path& dir, std::string_view default_name, const options& o);

    // The context a server SSL starts from: the default identity's. Its client-hello
    // callback moves the handshake to select()'s context; it also holds the session cache
    // (OpenSSL keeps resumption on the context an SSL was created from). The set must
    // outlive every handshake started from it (a connection keeps the set's shared_ptr).
    SSL_CTX* initial_context() const noexcept { return identities_[default_].ctx.get(); }

    // Whether a certificate of the set names `sni` (exact or wildcard), the default aside:
    // an SNI nothing covers goes to fallback.https when one is set (issue 5 §5).
    bool names(std::string_view sni) const noexcept;

    // The context to continue a handshake with, for the SNI the client sent (raw, as in
    // the ClientHello). Never null. Allocation-free.
    SSL_CTX* select(std::string_view sni) const noexcept;

    // Whether the identity of `ctx` (a context of this set) has a name covering `host`,
    // with select()'s rules. For HTTP/2 connection coalescing (421, RFC 9113 §9.1.1).
    bool covers(const SSL_CTX* ctx, std::string_view host) const noexcept;

    // One entry per certificate, in NAME order, for logs and metrics.
    std::vector<info> describe() const;

private:
    struct identity {
        std::vector<std::string> sans; // sorted
        ssl_ctx_ptr ctx;
    };
    using name_index = std::map<std::string, std::size_t, std::less<>>;

    certificate_set() = default;
    std::size_t identity_of(std::string_view normalised_host) const noexcept;
    static bool has_name(const identity& id, std::string_view normalised_host) noexcept;

    std::vector<identity> identities_;
    name_index exact_;    // a certificate's name -> index into identities_
    name_index wildcard_; // "*.example.com" stored as "example.com"
    std::size_t default_ = 0;
    std::vector<info> infos_;
    bool offer_h2_ = false;

    static int on_client_hello(SSL* ssl, int* alert, void* arg);
    static int on_alpn(SSL* ssl, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                       unsigned int in_len, void* arg);

    friend class certificate_set_builder;
};

} // namespace stork::tls
