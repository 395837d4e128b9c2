#include "tls/certificate_set.hpp"

#include "routing/host.hpp"
#include "tls/client_hello.hpp"

#include <openssl/err.h>

#include <algorithm>
#include <optional>
#include <system_error>

namespace stork::tls {

namespace {

// TLS 1.2 suites: forward secrecy (ECDHE) and AEAD only (AES-GCM, ChaCha20-Poly1305), as
// Mozilla's "intermediate" profile. TLS 1.3's suites are all AEAD and stay OpenSSL's.
// No server preference: every suite listed is strong, and clients without AES hardware
// rightly put ChaCha20 first.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// What the folder holds for one NAME.
struct pair_files {
    bool crt = false;
    bool key = false;
};

// NAME -> which of NAME.crt and NAME.key exist. Other files are ignored (a README, a
// CA bundle kept next to the pairs).
std::map<std::string, pair_files> scan_folder(const std::filesystem::path& dir, std::vector<load_error>& errors)
{
    std::map<std::string, pair_files> found;
    std::error_code ec;
    std::filesystem::directory_iterator it{dir, ec};
    if (ec) {
        errors.push_back({dir, "cannot list the folder: " + ec.message()});
        return found;
    }
    for (const auto& entry : it) {
        const auto& path = entry.path();
        if (path.extension() == ".crt") {
            found[path.stem().string()].crt = true;
        } else if (path.extension() == ".key") {
            found[path.stem().string()].key = true;
        }
    }
    return found;
}

// The pairs that loaded without error, in NAME order; a half pair is an error that names
// the missing file.
std::vector<certificate_pair> load_pairs(const std::filesystem::path& dir,
                                         const std::map<std::string, pair_files>& found,
                                         std::vector<load_error>& errors)
{
    std::vector<certificate_pair> pairs;
    for (const auto& [name, files] : found) {
        const auto crt = dir / (name + ".crt");
        const auto key = dir / (name + ".key");
        if (!files.crt || !files.key) {
            errors.push_back({files.crt ? key : crt,
                              "missing: " + (files.crt ? crt : key).filename().string() + " has no partner"});
            continue;
        }
        const std::size_t before = errors.size();
        auto pair = load_pair(name, crt, key, errors);
        if (errors.size() == before) {
            pairs.push_back(std::move(pair));
        }
    }
    return pairs;
}

ssl_ctx_ptr new_server_context()
{
    ssl_ctx_ptr ctx{SSL_CTX_new(TLS_server_method())};
    if (!ctx || SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx.get(), tls12_ciphers) != 1) {
        return {};
    }
    // Idle connections give their read and write buffers back (10k idle connections at
    // ≤ 16 KiB each, tls-design.md "Order of work").
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // Read as much as the socket holds in one read(): without it OpenSSL reads each record
    // in two (its 5-byte header, then the rest), a second syscall per record.
    SSL_CTX_set_read_ahead(ctx.get(), 1);
    // Client-initiated renegotiation is a CPU amplifier and nothing here needs it.
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_SERVER);
    return ctx;
}

// Puts one certificate, its key and its chain into the context's slot for its key type.
// SSL_CTX_add1_chain_cert applies to the certificate just set, so the order matters.
bool add_certificate(SSL_CTX* ctx, const certificate_pair& pair)
{
    if (SSL_CTX_use_certificate(ctx, pair.chain.front().get()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, pair.key.get()) != 1) {
        return false;
    }
    for (std::size_t i = 1; i < pair.chain.size(); ++i) {
        if (SSL_CTX_add1_chain_cert(ctx, pair.chain[i].get()) != 1) {
            return false;
        }
    }
    return SSL_CTX_check_private_key(ctx) == 1;
}

} // namespace

// Groups pairs into identities and fills the set's indexes. A class rather than free
// functions only because it writes the set's private members.
class certificate_set_builder {
public:
    static certificate_set::load_result build(std::vector<certificate_pair> pairs, std::string_view default_name,
                                              std::vector<load_error> errors, const certificate_set::options& o)
    {
        std::shared_ptr<certificate_set> set{new certificate_set};
        set->offer_h2_ = o.offer_h2;
        const auto members = group(pairs, errors);
        for (std::size_t i = 0; i < members.size(); ++i) {
            set->identities_.push_back({pairs[members[i].front()].sans, make_context(pairs, members[i], errors)});
            if (auto* ctx = set->identities_.back().ctx.get()) {
                serve_with(ctx, *set, o);
            }
        }
        if (!errors.empty()) {
            return errors;
        }
        index(*set);
        describe(*set, pairs, members, default_name);
        return std::shared_ptr<const certificate_set>{std::move(set)};
    }

private:
    // Identity number -> its pairs (indexes into `pairs`), identities numbered in the NAME
    // order of their first certificate. Two certificates of one key type for the same
    // names is an error: one context has one slot per key type.
    static std::vector<std::vector<std::size_t>> group(const std::vector<certificate_pair>& pairs,
                                                       std::vector<load_error>& errors)
    {
        std::map<std::vector<std::string>, std::size_t> by_sans;
        std::vector<std::vector<std::size_t>> members;
        for (std::size_t i = 0; i < pairs.size(); ++i) {
            const auto [it, added] = by_sans.try_emplace(pairs[i].sans, members.size());
            if (added) {
                members.emplace_back();
            }
            auto& group = members[it->second];
            const auto same_type = std::find_if(group.begin(), group.end(),
                                                [&](std::size_t j) { return pairs[j].type == pairs[i].type; });
            if (same_type != group.end()) {
                errors.push_back({pairs[i].crt_file, "same DNS names and key type (" +
                                                         std::string{tls::describe(pairs[i].type)} + ") as " +
                                                         pairs[*same_type].crt_file.filename().string() +
                                                         "; one name set holds at most one ECDSA and one RSA certificate"});
                continue;
            }
            group.push_back(i);
        }
        return members;
    }

    static ssl_ctx_ptr make_context(const std::vector<certificate_pair>& pairs,
                                    const std::vector<std::size_t>& members, std::vector<load_error>& errors)
    {
        ssl_ctx_ptr ctx = new_server_context();
        if (!ctx) {
            errors.push_back({pairs[members.front()].crt_file, "cannot create a TLS context: " + take_openssl_error()});
            return ctx;
        }
        for (const std::size_t i : members) {
            if (!add_certificate(ctx.get(), pairs[i])) {
                errors.push_back({pairs[i].crt_file, "OpenSSL refused the certificate: " + take_openssl_error()});
            }
        }
        return ctx;
    }

    // What every context of the set shares: SNI selection, ALPN, resumption.
    static void serve_with(SSL_CTX* ctx, certificate_set& set, const certificate_set::options& o)
    {
        SSL_CTX_set_client_hello_cb(ctx, &certificate_set::on_client_hello, &set);
        SSL_CTX_set_alpn_select_cb(ctx, &certificate_set::on_alpn, &set);
        // One session-id context for all, so a session resumes whichever identity served it
        // (OpenSSL refuses a session from another context id).
        static constexpr unsigned char sid[] = "stork";
        SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
        // One TLS 1.3 ticket per handshake (OpenSSL sends two by default): a client resumes
        // one connection with one ticket, and each ticket costs an encryption.
        SSL_CTX_set_num_tickets(ctx, 1);
        SSL_CTX_set_timeout(ctx, 12 * 3600);
        if (o.tickets != nullptr) {
            o.tickets->install(ctx);
        }
    }

    // Names -> identity; emplace keeps the first identity that claims a name.
    static void index(certificate_set& set)
    {
        for (std::size_t i = 0; i < set.identities_.size(); ++i) {
            for (const auto& san : set.identities_[i].sans) {
                if (san.starts_with("*.")) {
                    set.wildcard_.emplace(san.substr(2), i);
                } else {
                    set.exact_.emplace(san, i);
                }
            }
        }
    }

    static void describe(certificate_set& set, const std::vector<certificate_pair>& pairs,
                         const std::vector<std::vector<std::size_t>>& members, std::string_view default_name)
    {
        for (std::size_t id = 0; id < members.size(); ++id) {
            for (const std::size_t i : members[id]) {
                set.infos_.push_back({pairs[i].name, pairs[i].sans, pairs[i].type, pairs[i].not_after, id});
                if (pairs[i].name == default_name) {
                    set.default_ = id;
                }
            }
        }
        std::sort(set.infos_.begin(), set.infos_.end(),
                  [](const auto& a, const auto& b) { return a.name < b.name; });
    }
};

certificate_set::load_result certificate_set::load(const std::filesystem::path& dir, std::string_view default_name)
{
    return load(dir, default_name, options{});
}

certificate_set::load_result certificate_set::load(const std::filesystem::path& dir, std::string_view default_name,
                                                   const options& o)
{
    std::vector<load_error> errors;
    const auto found = scan_folder(dir, errors);
    if (!errors.empty()) {
        return errors;
    }
    auto pairs = load_pairs(dir, found, errors);
    if (found.find(std::string{default_name}) == found.end()) {
        errors.push_back({dir / (std::string{default_name} + ".crt"),
                          "tls.default is \"" + std::string{default_name} + "\" but the folder has no such pair"});
    }
    return certificate_set_builder::build(std::move(pairs), default_name, std::move(errors), o);
}


// Runs before OpenSSL has chosen a certificate: the SNI picks the identity, whose context
// the handshake continues with (its certificates, ECDSA or RSA by the client's algorithms).
int certificate_set::on_client_hello(SSL* ssl, int*, void* arg)
{
    const auto* set = static_cast<const certificate_set*>(arg);
    const unsigned char* ext = nullptr;
    std::size_t len = 0;
    std::string_view sni;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &len) == 1 &&
        parse_server_name({reinterpret_cast<const char*>(ext), len}, sni) != hello_error::none) {
        sni = {}; // a malformed name gets the default certificate (OpenSSL checks the rest)
    }
    SSL_CTX* ctx = set->select(sni);
    if (ctx != SSL_get_SSL_CTX(ssl) && SSL_set_SSL_CTX(ssl, ctx) == nullptr) {
        return SSL_CLIENT_HELLO_ERROR;
    }
    return SSL_CLIENT_HELLO_SUCCESS;
}

int certificate_set::on_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                             unsigned int in_len, void* arg)
{
    const auto* set = static_cast<const certificate_set*>(arg);
    static constexpr unsigned char h2_first[] = "\x02h2\x08http/1.1";
    static constexpr unsigned char h1_only[] = "\x08http/1.1";
    const unsigned char* ours = set->offer_h2_ ? h2_first : h1_only;
    const unsigned ours_len = set->offer_h2_ ? sizeof h2_first - 1 : sizeof h1_only - 1;
    unsigned char* chosen = nullptr;
    if (SSL_select_next_proto(&chosen, out_len, ours, ours_len, in, in_len) != OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_NOACK; // nothing in common: no ALPN, HTTP/1.1 by default
    }
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

bool certificate_set::names(std::string_view sni) const noexcept
{
    routing::host_buffer buffer;
    const auto host = routing::normalise_host(sni, routing::host_kind::request, buffer);
    if (!host) {
        return false;
    }
    if (exact_.find(host.name) != exact_.end()) {
        return true;
    }
    const auto dot = host.name.find('.');
    return dot != std::string_view::npos && wildcard_.find(host.name.substr(dot + 1)) != wildcard_.end();
}

SSL_CTX* certificate_set::select(std::string_view sni) const noexcept
{
    routing::host_buffer buffer;
    const auto host = routing::normalise_host(sni, routing::host_kind::request, buffer);
    return identities_[host ? identity_of(host.name) : default_].ctx.get();
}

std::size_t certificate_set::identity_of(std::string_view host) const noexcept
{
    if (const auto it = exact_.find(host); it != exact_.end()) {
        return it->second;
    }
    if (const auto dot = host.find('.'); dot != std::string_view::npos) {
        if (const auto it = wildcard_.find(host.substr(dot + 1)); it != wildcard_.end()) {
            return it->second;
        }
    }
    return default_;
}

bool certificate_set::covers(const SSL_CTX* ctx, std::string_view host) const noexcept
{
    const auto id = std::find_if(identities_.begin(), identities_.end(),
                                 [ctx](const identity& i) { return i.ctx.get() == ctx; });
    routing::host_buffer buffer;
    const auto normalised = routing::normalise_host(host, routing::host_kind::request, buffer);
    return id != identities_.end() && normalised && has_name(*id, normalised.name);
}

// A linear scan: an identity has a handful of names, and this way no "*.parent" string is
// built to look up.
bool certificate_set::has_name(const identity& id, std::string_view host) noexcept
{
    const auto dot = host.find('.');
    const std::string_view parent = dot == std::string_view::npos ? std::string_view{} : host.substr(dot);
    return std::any_of(id.sans.begin(), id.sans.end(), [&](const std::string& san) {
        return san == host || (!parent.empty() && san.starts_with("*.") && std::string_view{san}.substr(1) == parent);
    });
}

std::vector<certificate_set::info> certificate_set::describe() const
{
    return infos_;
}

} // namespace stork::tls
