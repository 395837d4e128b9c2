#pragma once

#include "tls/certificate_pair.hpp"
#include "tls/load_error.hpp"
#include "tls/openssl_handles.hpp"

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

    // Every NAME.crt + NAME.key pair of `dir`; `default_name` is the NAME served when SNI
    // is absent or matches nothing. Either the whole set, or every error found.
    static load_result load(const std::filesystem::path& dir, std::string_view default_name);

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

    friend class certificate_set_builder;
};

} // namespace stork::tls
