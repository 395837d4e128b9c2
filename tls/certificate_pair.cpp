#include "tls/certificate_pair.hpp"

#include "routing/host.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iterator>
#include <optional>

namespace stork::tls {

std::string_view describe(key_type t) noexcept
{
    switch (t) {
    case key_type::ecdsa:
        return "ECDSA";
    case key_type::rsa:
        return "RSA";
    }
    return "unknown";
}

namespace {

struct general_names_deleter {
    void operator()(GENERAL_NAMES* p) const noexcept { GENERAL_NAMES_free(p); }
};
using general_names_ptr = std::unique_ptr<GENERAL_NAMES, general_names_deleter>;

// The whole file; nothing when it cannot be opened or read.
std::optional<std::string> read_whole(const std::filesystem::path& file)
{
    std::ifstream in{file, std::ios::binary};
    if (!in) {
        return std::nullopt;
    }
    std::string content{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
    if (in.bad()) {
        return std::nullopt;
    }
    return content;
}

bio_ptr memory_bio(const std::string& content)
{
    return bio_ptr{BIO_new_mem_buf(content.data(), static_cast<int>(content.size()))};
}

// Every PEM "CERTIFICATE" block of the file, in order. PEM_read_bio_X509 skips blocks of
// other types and stops with PEM_R_NO_START_LINE at the end of the input; any other
// error means a block that is there but broken.
std::vector<x509_ptr> read_chain(const std::filesystem::path& file, std::vector<load_error>& errors)
{
    const auto content = read_whole(file);
    if (!content) {
        errors.push_back({file, "cannot be read"});
        return {};
    }
    const bio_ptr bio = memory_bio(*content);
    std::vector<x509_ptr> chain;
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        chain.emplace_back(cert);
    }
    const unsigned long e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
        ERR_clear_error();
        if (chain.empty()) {
            errors.push_back({file, "no PEM certificate in the file"});
        }
        return chain;
    }
    errors.push_back({file, "certificate " + std::to_string(chain.size() + 1) +
                                " of the file is not valid PEM: " + take_openssl_error()});
    return {};
}

// Called by OpenSSL when the key is encrypted: stork has nobody to ask for a passphrase
// at start or at reload, so the key is refused and the caller says why.
int refuse_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* asked)
{
    *static_cast<bool*>(asked) = true;
    return -1;
}

pkey_ptr read_key(const std::filesystem::path& file, std::vector<load_error>& errors)
{
    const auto content = read_whole(file);
    if (!content) {
        errors.push_back({file, "cannot be read"});
        return {};
    }
    const bio_ptr bio = memory_bio(*content);
    bool asked = false;
    pkey_ptr key{PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, &asked)};
    if (!key && asked) {
        ERR_clear_error();
        errors.push_back({file, "the private key is encrypted; stork needs it unencrypted "
                                "(openssl pkey -in ENCRYPTED -out PLAIN), readable by storkd only"});
    } else if (!key) {
        errors.push_back({file, "no PEM private key in the file: " + take_openssl_error()});
    }
    return key;
}

std::optional<key_type> type_of(EVP_PKEY* key) noexcept
{
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC:
        return key_type::ecdsa;
    case EVP_PKEY_RSA:
        return key_type::rsa;
    default:
        return std::nullopt;
    }
}

// One dNSName, as stork compares names: lower case, no trailing dot, "*" only as the whole
// first label (routing/host.hpp, the same rules as rule hosts). A ':' is refused here
// because the normaliser would take it for a port.
std::optional<std::string> normalise_san(std::string_view raw, std::string& why)
{
    if (raw.find('\0') != std::string_view::npos || raw.find(':') != std::string_view::npos) {
        why = "contains a NUL byte or ':'";
        return std::nullopt;
    }
    routing::host_buffer buffer;
    const auto host = routing::normalise_host(raw, routing::host_kind::rule, buffer);
    if (!host) {
        why = std::string{routing::describe(host.error)};
        return std::nullopt;
    }
    return std::string{host.name};
}

// The leaf's subjectAltName dNSName entries. RFC 6125 §6.4.4: once a certificate has DNS
// names, the subject's CN is not consulted; stork never falls back to it, so a
// certificate without DNS names could never be selected and is refused.
std::vector<std::string> read_sans(X509* leaf, const std::filesystem::path& file,
                                   std::vector<load_error>& errors)
{
    const general_names_ptr names{
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr))};
    std::vector<std::string> sans;
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* entry = sk_GENERAL_NAME_value(names.get(), i);
        if (entry->type != GEN_DNS) {
            continue;
        }
        const ASN1_STRING* s = entry->d.dNSName;
        const std::string_view raw{reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                   static_cast<std::size_t>(ASN1_STRING_length(s))};
        std::string why;
        if (auto san = normalise_san(raw, why)) {
            sans.push_back(std::move(*san));
        } else {
            errors.push_back({file, "subjectAltName DNS:" + std::string{raw} + " is refused: " + why});
        }
    }
    ERR_clear_error(); // X509_get_ext_d2i queues an error when the extension is absent
    if (sans.empty()) {
        errors.push_back({file, "the certificate has no subjectAltName DNS name (the subject's CN "
                                "is not used, RFC 6125 §6.4.4)"});
    }
    std::sort(sans.begin(), sans.end());
    sans.erase(std::unique(sans.begin(), sans.end()), sans.end());
    return sans;
}

std::optional<std::chrono::system_clock::time_point> read_not_after(X509* leaf)
{
    std::tm tm{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &tm) != 1) {
        ERR_clear_error();
        return std::nullopt;
    }
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

// What needs both files: the key type, that the key is the leaf's, the names, the expiry.
void check_leaf(certificate_pair& pair, std::vector<load_error>& errors)
{
    X509* leaf = pair.chain.front().get();
    if (const auto type = type_of(pair.key.get())) {
        pair.type = *type;
    } else {
        errors.push_back({pair.key_file, "the key is neither EC nor RSA"});
        return;
    }
    if (X509_check_private_key(leaf, pair.key.get()) != 1) {
        ERR_clear_error();
        errors.push_back({pair.key_file, "the key does not belong to the certificate in " +
                                             pair.crt_file.filename().string()});
        return;
    }
    pair.sans = read_sans(leaf, pair.crt_file, errors);
    if (const auto not_after = read_not_after(leaf)) {
        pair.not_after = *not_after;
    } else {
        errors.push_back({pair.crt_file, "the certificate's notAfter cannot be read"});
    }
}

} // namespace

certificate_pair load_pair(std::string name, const std::filesystem::path& crt_file,
                           const std::filesystem::path& key_file, std::vector<load_error>& errors)
{
    certificate_pair pair;
    pair.name = std::move(name);
    pair.crt_file = crt_file;
    pair.key_file = key_file;
    pair.chain = read_chain(crt_file, errors);
    pair.key = read_key(key_file, errors);
    if (!pair.chain.empty() && pair.key) {
        check_leaf(pair, errors);
    }
    return pair;
}

} // namespace stork::tls
