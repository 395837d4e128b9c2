#pragma once

#include "tls/openssl_handles.hpp"

#include <filesystem>
#include <string>

namespace stork::tls {

// The client side towards upstreams (tls-design.md §4): TLS 1.2 and 1.3, the peer's
// certificate verified against the CA bundle `ca_file` (upstream.ca_file), ALPN
// "http/1.1", and a client session cache without internal store: the proxy keeps the
// last session per upstream key itself (SSL_CTX_sess_set_new_cb) and offers it on the
// next connect. Each connection sets its SNI and the host name to verify.
//
// Null with `error` set (naming the file) when the bundle cannot be read.
ssl_ctx_ptr make_upstream_context(const std::filesystem::path& ca_file, std::string& error);

// Prepares a client SSL on `ctx` for `server_name`: SNI (unless an IP literal, RFC 6066
// §3) and hostname (or IP) verification. False with `error` on failure.
bool prepare_upstream_ssl(SSL* ssl, std::string_view server_name, std::string& error);

// Why verification of `ssl`'s peer failed, in English, or empty when it did not.
std::string verify_failure(const SSL* ssl);

} // namespace stork::tls
