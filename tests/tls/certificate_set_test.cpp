#include "tls/certificate_set.hpp"

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace stork::tls {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;

// Runs the openssl CLI; a failure stops the test with what openssl printed.
void openssl(std::vector<std::string> args)
{
    args.insert(args.begin(), "/usr/bin/openssl");
    const auto r = test::run(args);
    ASSERT_TRUE(r.status.exited() && r.status.code == 0) << r.err;
}

std::vector<std::string> new_key(bool rsa)
{
    if (rsa) {
        return {"-newkey", "rsa:2048"};
    }
    return {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"};
}

// NAME.crt + NAME.key, self-signed, valid 30 days; `sans` as openssl's subjectAltName value
// ("DNS:a,DNS:b"), none when empty.
void self_signed(const fs::path& dir, const std::string& name, bool rsa, const std::string& sans)
{
    std::vector<std::string> args{"req", "-x509", "-noenc", "-days", "30", "-subj", "/CN=" + name,
                                  "-keyout", (dir / (name + ".key")).string(), "-out", (dir / (name + ".crt")).string()};
    const auto key = new_key(rsa);
    args.insert(args.end(), key.begin(), key.end());
    if (!sans.empty()) {
        args.insert(args.end(), {"-addext", "subjectAltName=" + sans});
    }
    openssl(args);
}

// chain.crt holds a leaf signed by a test CA, then the CA: a two-certificate chain.
void with_chain(const fs::path& dir)
{
    self_signed(dir, "ca", false, "");
    openssl({"req", "-new", "-noenc", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-subj", "/CN=leaf",
             "-keyout", (dir / "chain.key").string(), "-out", (dir / "chain.csr").string()});
    test::temp_dir ext;
    const auto ext_file = ext.write("ext.cnf", "subjectAltName=DNS:chain.example.net\n");
    openssl({"x509", "-req", "-in", (dir / "chain.csr").string(), "-CA", (dir / "ca.crt").string(), "-CAkey",
             (dir / "ca.key").string(), "-set_serial", "2", "-days", "30", "-extfile", ext_file.string(), "-out",
             (dir / "leaf.pem").string()});
    const std::string chain = test::read_file(dir / "leaf.pem") + test::read_file(dir / "ca.crt");
    std::ofstream{dir / "chain.crt", std::ios::binary} << chain;
}

// Every certificate the tests use, generated once (RSA keys take a while): each test
// copies the pairs it needs into a folder of its own.
class pool {
public:
    static const fs::path& dir()
    {
        static pool p;
        return p.dir_.path();
    }

private:
    pool()
    {
        const auto& d = dir_.path();
        self_signed(d, "app_ec", false, "DNS:app.example.com,DNS:www.example.com");
        self_signed(d, "app_rsa", true, "DNS:WWW.Example.com,DNS:app.example.com");
        self_signed(d, "app_ec2", false, "DNS:app.example.com,DNS:www.example.com");
        self_signed(d, "wild", false, "DNS:*.example.com");
        self_signed(d, "fallback", false, "DNS:default.test");
        self_signed(d, "nosan", false, "");
        with_chain(d);
        openssl({"pkey", "-in", (d / "app_ec.key").string(), "-aes256", "-passout", "pass:secret", "-out",
                 (d / "encrypted.key").string()});
    }
    test::temp_dir dir_;
};

// Copies pool files into `dir` under a new name ("app_ec.crt" -> "x.crt").
void copy(const test::temp_dir& dir, const std::string& from, const std::string& to)
{
    fs::copy_file(pool::dir() / from, dir.path() / to);
}

void pair(const test::temp_dir& dir, const std::string& name)
{
    copy(dir, name + ".crt", name + ".crt");
    copy(dir, name + ".key", name + ".key");
}

std::shared_ptr<const certificate_set> loaded(const test::temp_dir& dir, std::string_view default_name)
{
    auto result = certificate_set::load(dir.path(), default_name);
    if (auto* errors = std::get_if<std::vector<load_error>>(&result)) {
        for (const auto& e : *errors) {
            ADD_FAILURE() << to_string(e);
        }
        return nullptr;
    }
    return std::get<std::shared_ptr<const certificate_set>>(result);
}

std::vector<load_error> errors_of(const test::temp_dir& dir, std::string_view default_name)
{
    auto result = certificate_set::load(dir.path(), default_name);
    if (auto* errors = std::get_if<std::vector<load_error>>(&result)) {
        return *errors;
    }
    ADD_FAILURE() << "the set loaded";
    return {};
}

// How many certificates (key type slots) the context holds.
int certificates_in(SSL_CTX* ctx)
{
    int count = 0;
    for (long r = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST); r == 1;
         r = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT)) {
        count += SSL_CTX_get0_certificate(ctx) != nullptr ? 1 : 0;
    }
    return count;
}

TEST(certificate_set, ecdsa_and_rsa_for_one_name_set_share_a_context)
{
    test::temp_dir dir;
    pair(dir, "app_ec");
    pair(dir, "app_rsa");
    pair(dir, "fallback");
    const auto set = loaded(dir, "fallback");
    ASSERT_TRUE(set);

    SSL_CTX* app = set->select("app.example.com");
    EXPECT_EQ(certificates_in(app), 2);
    EXPECT_EQ(set->select("www.example.com"), app);
    EXPECT_EQ(certificates_in(set->select("")), 1);

    const auto infos = set->describe();
    ASSERT_EQ(infos.size(), 3U);
    EXPECT_EQ(infos[0].name, "app_ec");
    EXPECT_EQ(infos[0].type, key_type::ecdsa);
    EXPECT_EQ(infos[1].name, "app_rsa");
    EXPECT_EQ(infos[1].type, key_type::rsa);
    EXPECT_EQ(infos[0].identity, infos[1].identity);
    EXPECT_NE(infos[0].identity, infos[2].identity);
    EXPECT_EQ(infos[1].sans, (std::vector<std::string>{"app.example.com", "www.example.com"}));
    const auto days = std::chrono::duration_cast<std::chrono::hours>(infos[0].not_after - std::chrono::system_clock::now()).count() / 24;
    EXPECT_TRUE(days == 29 || days == 30) << days;
}

TEST(certificate_set, context_settings)
{
    test::temp_dir dir;
    pair(dir, "fallback");
    const auto set = loaded(dir, "fallback");
    ASSERT_TRUE(set);
    SSL_CTX* ctx = set->select("");
    EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
    EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx), TLS1_3_VERSION);
    EXPECT_NE(SSL_CTX_get_mode(ctx) & SSL_MODE_RELEASE_BUFFERS, 0U);
    EXPECT_NE(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION, 0U);
    EXPECT_EQ(SSL_CTX_get_session_cache_mode(ctx), SSL_SESS_CACHE_SERVER);
    // Every TLS 1.2 suite offered is ECDHE with an AEAD.
    const auto* ciphers = SSL_CTX_get_ciphers(ctx);
    for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
        const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
        if (SSL_CIPHER_get_kx_nid(c) == NID_kx_any) {
            continue; // a TLS 1.3 suite: the key exchange is negotiated apart, all are AEAD
        }
        EXPECT_EQ(SSL_CIPHER_get_kx_nid(c), NID_kx_ecdhe) << SSL_CIPHER_get_name(c);
        EXPECT_TRUE(SSL_CIPHER_is_aead(c)) << SSL_CIPHER_get_name(c);
    }
}

TEST(certificate_set, chain_is_served_after_the_leaf)
{
    test::temp_dir dir;
    pair(dir, "chain");
    const auto set = loaded(dir, "chain");
    ASSERT_TRUE(set);
    SSL_CTX* ctx = set->select("chain.example.net");
    ASSERT_EQ(SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST), 1);
    STACK_OF(X509)* chain = nullptr;
    ASSERT_EQ(SSL_CTX_get0_chain_certs(ctx, &chain), 1);
    EXPECT_EQ(sk_X509_num(chain), 1);
}

struct select_case {
    const char* sni;
    const char* expected; // "app", "wild" or "default"
};

TEST(certificate_set, select)
{
    test::temp_dir dir;
    pair(dir, "app_ec");
    pair(dir, "wild");
    pair(dir, "fallback");
    const auto set = loaded(dir, "fallback");
    ASSERT_TRUE(set);
    const std::map<std::string, SSL_CTX*> contexts{
        {"app", set->select("app.example.com")},
        {"wild", set->select("x.example.com")},
        {"default", set->select("default.test")},
    };
    EXPECT_NE(contexts.at("app"), contexts.at("wild"));
    EXPECT_NE(contexts.at("wild"), contexts.at("default"));

    const select_case cases[] = {
        {"app.example.com", "app"},        // exact beats the wildcard that also covers it
        {"www.example.com", "app"},
        {"other.example.com", "wild"},
        {"a.b.example.com", "default"},    // a wildcard covers one label only
        {"example.com", "default"},        // ... and not its parent
        {"unknown.test", "default"},
        {"", "default"},
        {"APP.Example.COM.", "app"},       // normalised: case, trailing dot
        {"Other.EXAMPLE.com.", "wild"},
        {"*.example.com", "default"},      // not a name a client may send
        {"bad name", "default"},
        {"app..example.com", "default"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(set->select(c.sni), contexts.at(c.expected)) << '"' << c.sni << '"';
    }
}

TEST(certificate_set, covers)
{
    test::temp_dir dir;
    pair(dir, "app_ec");
    pair(dir, "wild");
    pair(dir, "fallback");
    const auto set = loaded(dir, "fallback");
    ASSERT_TRUE(set);
    SSL_CTX* app = set->select("app.example.com");
    SSL_CTX* wild = set->select("x.example.com");

    EXPECT_TRUE(set->covers(app, "app.example.com"));
    EXPECT_TRUE(set->covers(app, "WWW.example.com."));
    EXPECT_FALSE(set->covers(app, "x.example.com"));
    EXPECT_TRUE(set->covers(wild, "x.example.com"));
    EXPECT_TRUE(set->covers(wild, "app.example.com"));
    EXPECT_FALSE(set->covers(wild, "example.com"));
    EXPECT_FALSE(set->covers(wild, "a.b.example.com"));
    EXPECT_FALSE(set->covers(wild, ""));
    EXPECT_FALSE(set->covers(nullptr, "app.example.com"));
}

// One error, naming `file`, whose reason contains `why`.
void expect_one_error(const std::vector<load_error>& errors, const fs::path& file, const std::string& why)
{
    ASSERT_EQ(errors.size(), 1U) << (errors.empty() ? "" : to_string(errors[0]));
    EXPECT_EQ(errors[0].file, file);
    EXPECT_THAT(errors[0].why, HasSubstr(why));
}

TEST(certificate_set_errors, missing_key_or_certificate_names_the_missing_file)
{
    test::temp_dir dir;
    pair(dir, "fallback");
    copy(dir, "app_ec.crt", "lonely.crt");
    expect_one_error(errors_of(dir, "fallback"), dir.path() / "lonely.key", "missing");

    test::temp_dir other;
    pair(other, "fallback");
    copy(other, "app_ec.key", "keyonly.key");
    expect_one_error(errors_of(other, "fallback"), other.path() / "keyonly.crt", "missing");
}

TEST(certificate_set_errors, key_mismatch_names_the_key)
{
    test::temp_dir dir;
    copy(dir, "app_ec.crt", "mixed.crt");
    copy(dir, "fallback.key", "mixed.key");
    expect_one_error(errors_of(dir, "mixed"), dir.path() / "mixed.key", "does not belong");
}

TEST(certificate_set_errors, garbage_pem)
{
    test::temp_dir dir;
    dir.write("junk.crt", "not a certificate\n");
    copy(dir, "app_ec.key", "junk.key");
    expect_one_error(errors_of(dir, "junk"), dir.path() / "junk.crt", "no PEM certificate");

    test::temp_dir broken;
    broken.write("cut.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    copy(broken, "app_ec.key", "cut.key");
    expect_one_error(errors_of(broken, "cut"), broken.path() / "cut.crt", "not valid PEM");

    test::temp_dir bad_key;
    copy(bad_key, "app_ec.crt", "k.crt");
    bad_key.write("k.key", "not a key\n");
    expect_one_error(errors_of(bad_key, "k"), bad_key.path() / "k.key", "no PEM private key");
}

TEST(certificate_set_errors, encrypted_key_is_refused)
{
    test::temp_dir dir;
    copy(dir, "app_ec.crt", "enc.crt");
    copy(dir, "encrypted.key", "enc.key");
    expect_one_error(errors_of(dir, "enc"), dir.path() / "enc.key", "encrypted");
}

TEST(certificate_set_errors, certificate_without_dns_names)
{
    test::temp_dir dir;
    pair(dir, "nosan");
    expect_one_error(errors_of(dir, "nosan"), dir.path() / "nosan.crt", "no subjectAltName DNS name");
}

TEST(certificate_set_errors, default_must_exist)
{
    test::temp_dir dir;
    pair(dir, "fallback");
    expect_one_error(errors_of(dir, "nope"), dir.path() / "nope.crt", "tls.default");

    test::temp_dir empty;
    expect_one_error(errors_of(empty, "fallback"), empty.path() / "fallback.crt", "tls.default");
}

TEST(certificate_set_errors, two_certificates_of_one_type_for_one_name_set)
{
    test::temp_dir dir;
    pair(dir, "app_ec");
    pair(dir, "app_ec2");
    pair(dir, "app_rsa");
    expect_one_error(errors_of(dir, "app_ec"), dir.path() / "app_ec2.crt", "same DNS names and key type (ECDSA)");
}

TEST(certificate_set_errors, missing_folder)
{
    test::temp_dir dir;
    const auto result = certificate_set::load(dir.path() / "absent", "x");
    const auto* errors = std::get_if<std::vector<load_error>>(&result);
    ASSERT_TRUE(errors);
    expect_one_error(*errors, dir.path() / "absent", "cannot list");
}

TEST(certificate_set_errors, every_error_in_one_pass)
{
    test::temp_dir dir;
    copy(dir, "app_ec.crt", "a_lonely.crt");
    copy(dir, "app_ec.crt", "b_mixed.crt");
    copy(dir, "fallback.key", "b_mixed.key");
    pair(dir, "nosan");
    const auto errors = errors_of(dir, "nope");
    ASSERT_EQ(errors.size(), 4U);
    EXPECT_EQ(errors[0].file, dir.path() / "a_lonely.key");
    EXPECT_EQ(errors[1].file, dir.path() / "b_mixed.key");
    EXPECT_EQ(errors[2].file, dir.path() / "nosan.crt");
    EXPECT_EQ(errors[3].file, dir.path() / "nope.crt");
}

TEST(load_error, to_string)
{
    EXPECT_EQ(to_string({"/etc/stork/tls/a.key", "missing"}), "/etc/stork/tls/a.key: missing");
}

} // namespace
} // namespace stork::tls
