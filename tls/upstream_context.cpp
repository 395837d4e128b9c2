#include "tls/upstream_context.hpp"

#include <openssl/x509v3.h>

#include <arpa/inet.h>

namespace stork::tls {

ssl_ctx_ptr make_upstream_context(const std::filesystem::path& ca_file, std::string& error)
{
    ssl_ctx_ptr ctx{SSL_CTX_new(TLS_client_method())};
    if (!ctx || SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1) {
        error = "cannot create the upstream TLS context: " + take_openssl_error();
        return {};
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(ca_file, ec)) {
        error = ca_file.string() + ": upstream.ca_file is not a readable file";
        return {};
    }
    if (SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1) {
        error = ca_file.string() + ": cannot load the CA bundle: " + take_openssl_error();
        return {};
    }
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // Read as much as the socket holds in one read(): without it OpenSSL reads each record
    // in two (its 5-byte header, then the rest), a second syscall per record.
    SSL_CTX_set_read_ahead(ctx.get(), 1);
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    static constexpr unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(ctx.get(), alpn, sizeof alpn - 1);
    return ctx;
}

bool prepare_upstream_ssl(SSL* ssl, std::string_view server_name, std::string& error)
{
    const std::string name{server_name};
    unsigned char probe[16];
    const bool literal = inet_pton(AF_INET, name.c_str(), probe) == 1 || inet_pton(AF_INET6, name.c_str(), probe) == 1;
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (literal) {
        if (X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) != 1) {
            error = "cannot verify the upstream against " + name + ": " + take_openssl_error();
            return false;
        }
        return true;
    }
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set_tlsext_host_name(ssl, name.c_str()) != 1 || X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0) != 1) {
        error = "cannot use " + name + " as the upstream's TLS name: " + take_openssl_error();
        return false;
    }
    return true;
}

std::string verify_failure(const SSL* ssl)
{
    const long result = SSL_get_verify_result(ssl);
    if (result == X509_V_OK) {
        return {};
    }
    return X509_verify_cert_error_string(result);
}

} // namespace stork::tls
