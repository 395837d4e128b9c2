// The certificate factory's own tests: what the TLS process tests rely on. The suite ends in
// _process: it runs openssl (and one openssl s_server).
#include "tests/support/test_certs.hpp"

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <thread>

namespace stork {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

test::run_result verify(const test::test_ca& ca, const std::filesystem::path& crt, std::vector<std::string> more = {})
{
    std::vector<std::string> args{test::openssl_cli(), "verify", "-CAfile", ca.certificate().string()};
    args.insert(args.end(), more.begin(), more.end());
    args.push_back(crt.string());
    return test::run(args);
}

std::string public_key_of_key(const std::filesystem::path& key)
{
    return test::run({test::openssl_cli(), "pkey", "-in", key.string(), "-pubout"}).out;
}

std::string public_key_of_cert(const std::filesystem::path& crt)
{
    return test::run({test::openssl_cli(), "x509", "-in", crt.string(), "-noout", "-pubkey"}).out;
}

TEST(test_certs_process, an_ecdsa_leaf_has_its_sans_a_chain_and_a_matching_key)
{
    test::test_ca ca;
    test::temp_dir dir;
    const auto c = ca.issue(dir.path(), "front", {.sans = {"front.example.com", "*.apps.example.com", "IP:127.0.0.1"}});
    EXPECT_EQ(c.crt, dir.path() / "front.crt");
    EXPECT_EQ(c.key, dir.path() / "front.key");
    EXPECT_FALSE(c.serial.empty());

    const auto f = test::read_certificate(c.crt);
    EXPECT_EQ(f.serial, c.serial);
    EXPECT_EQ(f.subject, "CN = front.example.com");
    EXPECT_EQ(f.issuer, "CN = stork test CA");
    EXPECT_THAT(f.sans, ElementsAre("front.example.com", "*.apps.example.com", "IP:127.0.0.1"));
    EXPECT_EQ(f.public_key, "id-ecPublicKey");

    const auto v = verify(ca, c.crt, {"-purpose", "sslserver", "-verify_hostname", "front.example.com"});
    EXPECT_EQ(v.status.code, 0) << v.out << v.err;
    const auto wild = verify(ca, c.crt, {"-verify_hostname", "x.apps.example.com"});
    EXPECT_EQ(wild.status.code, 0) << wild.out << wild.err;
    const auto other = verify(ca, c.crt, {"-verify_hostname", "other.example.com"});
    EXPECT_NE(other.status.code, 0) << "a name outside the SANs must not verify";

    // NAME.crt is the leaf then the CA: two PEM blocks.
    const std::string pem = test::read_file(c.crt);
    std::size_t blocks = 0;
    for (auto at = pem.find("BEGIN CERTIFICATE"); at != std::string::npos; at = pem.find("BEGIN CERTIFICATE", at + 1)) {
        ++blocks;
    }
    EXPECT_EQ(blocks, 2u);
    EXPECT_EQ(public_key_of_key(c.key), public_key_of_cert(c.crt));
}

TEST(test_certs_process, rsa_leaves_and_serials_differ)
{
    test::test_ca ca;
    test::temp_dir dir;
    const auto ec = ca.issue(dir.path(), "ec", {.sans = {"same.example.com"}});
    const auto rsa = ca.issue(dir.path(), "rsa", {.sans = {"same.example.com"}, .key = test::key_kind::rsa_2048});
    EXPECT_EQ(test::read_certificate(rsa.crt).public_key, "rsaEncryption");
    EXPECT_NE(ec.serial, rsa.serial);
    EXPECT_EQ(verify(ca, rsa.crt).status.code, 0);
}

TEST(test_certs_process, an_expired_leaf_fails_verification_as_expired)
{
    test::test_ca ca;
    test::temp_dir dir;
    const auto c = ca.issue(dir.path(), "old", {.sans = {"old.example.com"}, .expired = true});
    const auto v = verify(ca, c.crt);
    EXPECT_NE(v.status.code, 0);
    EXPECT_THAT(v.out + v.err, HasSubstr("certificate has expired"));
}

TEST(test_certs_process, another_ca_does_not_verify_our_leaves)
{
    test::test_ca ca;
    test::test_ca stranger{"stork test CA"}; // same name, other key
    test::temp_dir dir;
    const auto c = ca.issue(dir.path(), "a", {.sans = {"a.example.com"}});
    EXPECT_NE(verify(stranger, c.crt).status.code, 0);
}

TEST(test_certs_process, broken_pairs_are_broken)
{
    test::test_ca ca;
    test::temp_dir dir;
    test::write_mismatched_pair(ca, dir.path(), "mismatch", {"m.example.com"});
    EXPECT_EQ(verify(ca, dir.path() / "mismatch.crt").status.code, 0) << "the certificate itself stays valid";
    EXPECT_NE(public_key_of_key(dir.path() / "mismatch.key"), public_key_of_cert(dir.path() / "mismatch.crt"));

    test::write_garbage_pair(dir.path(), "garbage");
    const auto x = test::run({test::openssl_cli(), "x509", "-in", (dir.path() / "garbage.crt").string(), "-noout"});
    EXPECT_NE(x.status.code, 0);
    const auto k = test::run({test::openssl_cli(), "pkey", "-in", (dir.path() / "garbage.key").string(), "-noout"});
    EXPECT_NE(k.status.code, 0);
}

// fetch_served_certificate against openssl s_server holding an ECDSA and an RSA certificate
// for one name (-cert and -dcert): the client's signature algorithms pick one, which is what
// the storkd test of the same feature relies on.
TEST(test_certs_process, served_certificate_follows_the_client_sigalgs)
{
    test::test_ca ca;
    test::temp_dir dir;
    const auto ec = ca.issue(dir.path(), "ec", {.sans = {"dual.example.com"}});
    const auto rsa = ca.issue(dir.path(), "rsa", {.sans = {"dual.example.com"}, .key = test::key_kind::rsa_2048});
    test::child_process server{{test::openssl_cli(), "s_server", "-accept", "127.0.0.1:0", "-cert", ec.crt.string(),
                                "-key", ec.key.string(), "-dcert", rsa.crt.string(), "-dkey", rsa.key.string(),
                                "-naccept", "3", "-www"}};
    unsigned port = 0;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (port == 0 && std::chrono::steady_clock::now() < deadline) {
        const std::string out = server.out();
        const auto at = out.find("ACCEPT 127.0.0.1:");
        if (at != std::string::npos && out.find('\n', at) != std::string::npos) {
            std::sscanf(out.c_str() + at, "ACCEPT 127.0.0.1:%u", &port);
        } else {
            std::this_thread::sleep_for(10ms);
        }
    }
    ASSERT_NE(port, 0u) << server.out() << server.err();

    const auto as_ec = test::fetch_served_certificate(static_cast<std::uint16_t>(port), "dual.example.com",
                                                      {"-sigalgs", "ecdsa_secp256r1_sha256"});
    ASSERT_TRUE(as_ec.ok) << as_ec.output;
    EXPECT_EQ(as_ec.facts.serial, ec.serial);
    const auto as_rsa = test::fetch_served_certificate(static_cast<std::uint16_t>(port), "dual.example.com",
                                                       {"-sigalgs", "rsa_pss_rsae_sha256"});
    ASSERT_TRUE(as_rsa.ok) << as_rsa.output;
    EXPECT_EQ(as_rsa.facts.serial, rsa.serial);
    EXPECT_EQ(as_rsa.facts.public_key, "rsaEncryption");
    server.send_signal(SIGTERM);
}

} // namespace
} // namespace stork
