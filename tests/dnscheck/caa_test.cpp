#include "dnscheck/caa.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

namespace dns = stork::dnscheck;

dns::caa_data caa(std::uint8_t flags, std::string tag, std::string value)
{
    return dns::caa_data{flags, std::move(tag), std::move(value)};
}

TEST(caa, issuer_is_the_value_up_to_the_semicolon_trimmed)
{
    struct row {
        const char* value;
        const char* issuer;
    };
    const std::vector<row> rows{
        {"letsencrypt.org", "letsencrypt.org"},
        {"letsencrypt.org; validationmethods=dns-01", "letsencrypt.org"},
        {"letsencrypt.org;accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/1", "letsencrypt.org"},
        {" \tletsencrypt.org \t; x=y", "letsencrypt.org"},
        {";", ""},
        {"", ""},
        {" ; ", ""},
        {"  ", ""},
        {"; letsencrypt.org", ""},
    };
    for (const auto& r : rows) {
        EXPECT_EQ(dns::caa_issuer(r.value), r.issuer) << '"' << r.value << '"';
    }
}

// RFC 8659 §4.2 (issue), §4.3 (issuewild), §4.5 (critical), for Let's Encrypt.
TEST(caa, decides_issuance_for_letsencrypt)
{
    struct row {
        const char* what;
        std::vector<dns::caa_data> records;
        bool wildcard;
        bool allowed;
        std::string reason;
    };
    const std::vector<row> rows{
        {"empty set", {}, false, true, "no CAA record restricts issuance"},
        {"empty set, wildcard", {}, true, true, "no CAA record restricts issuance"},
        {"issue allows", {caa(0, "issue", "letsencrypt.org")}, false, true,
         "0 issue \"letsencrypt.org\" allows letsencrypt.org"},
        {"issue denies", {caa(0, "issue", "digicert.com")}, false, false,
         "CAA at example.com allows only digicert.com"},
        {"several issue, one matches",
         {caa(0, "issue", "digicert.com"), caa(0, "issue", "sectigo.com"), caa(0, "issue", "letsencrypt.org")}, false, true,
         "0 issue \"letsencrypt.org\" allows letsencrypt.org"},
        {"several issue, none matches", {caa(0, "issue", "digicert.com"), caa(0, "issue", "sectigo.com")}, false, false,
         "CAA at example.com allows only digicert.com, sectigo.com"},
        {"the same CA twice is named once", {caa(0, "issue", "digicert.com"), caa(0, "issue", "DigiCert.com; x=1")}, false,
         false, "CAA at example.com allows only digicert.com"},
        {"issue \";\"", {caa(0, "issue", ";")}, false, false, "0 issue \";\" forbids every CA"},
        {"issue with an empty value", {caa(0, "issue", "")}, false, false, "0 issue \"\" forbids every CA"},
        {"issue \";\" beside another CA", {caa(0, "issue", ";"), caa(0, "issue", "digicert.com")}, false, false,
         "CAA at example.com allows only digicert.com"},
        {"issue \";\" beside letsencrypt", {caa(0, "issue", ";"), caa(0, "issue", "letsencrypt.org")}, false, true,
         "0 issue \"letsencrypt.org\" allows letsencrypt.org"},
        {"parameters after ';'", {caa(0, "issue", "letsencrypt.org; validationmethods=dns-01")}, false, true,
         "0 issue \"letsencrypt.org; validationmethods=dns-01\" allows letsencrypt.org"},
        {"CA name in another case", {caa(0, "issue", "LetsEncrypt.ORG")}, false, true,
         "0 issue \"LetsEncrypt.ORG\" allows letsencrypt.org"},
        {"whitespace around the CA name", {caa(0, "issue", " \tletsencrypt.org ;")}, false, true,
         "0 issue \" \\009letsencrypt.org ;\" allows letsencrypt.org"},
        {"a longer name is another CA", {caa(0, "issue", "notletsencrypt.org")}, false, false,
         "CAA at example.com allows only notletsencrypt.org"},
        {"wildcard, issue only, allows", {caa(0, "issue", "letsencrypt.org")}, true, true,
         "0 issue \"letsencrypt.org\" allows letsencrypt.org"},
        {"wildcard, issue only, denies", {caa(0, "issue", "digicert.com")}, true, false,
         "CAA at example.com allows only digicert.com"},
        {"wildcard, issuewild overrides issue", {caa(0, "issue", "digicert.com"), caa(0, "issuewild", "letsencrypt.org")},
         true, true, "0 issuewild \"letsencrypt.org\" allows letsencrypt.org"},
        {"wildcard, issuewild denies what issue allows",
         {caa(0, "issue", "letsencrypt.org"), caa(0, "issuewild", "digicert.com")}, true, false,
         "CAA at example.com allows only digicert.com for wildcard names (issuewild)"},
        {"issuewild ignored for a plain name", {caa(0, "issue", "letsencrypt.org"), caa(0, "issuewild", "digicert.com")},
         false, true, "0 issue \"letsencrypt.org\" allows letsencrypt.org"},
        {"issuewild \";\" blocks wildcards", {caa(0, "issue", "letsencrypt.org"), caa(0, "issuewild", ";")}, true, false,
         "0 issuewild \";\" forbids every CA for wildcard names"},
        {"issuewild \";\" leaves plain names", {caa(0, "issue", "letsencrypt.org"), caa(0, "issuewild", ";")}, false, true,
         "0 issue \"letsencrypt.org\" allows letsencrypt.org"},
        {"issuewild only: plain names unrestricted", {caa(0, "issuewild", "digicert.com")}, false, true,
         "CAA at example.com has no issue property: it does not restrict issuance"},
        {"iodef only", {caa(0, "iodef", "mailto:security@example.com")}, false, true,
         "CAA at example.com has no issue property: it does not restrict issuance"},
        {"iodef only, wildcard", {caa(0, "iodef", "mailto:security@example.com")}, true, true,
         "CAA at example.com has no issue or issuewild property: it does not restrict issuance"},
        {"critical unknown tag blocks", {caa(128, "tbs", "Unknown"), caa(0, "issue", "letsencrypt.org")}, false, false,
         "critical property \"tbs\" is unknown to the CA (RFC 8659 §4.5)"},
        {"critical unknown tag blocks a set without issue", {caa(128, "future", "x")}, false, false,
         "critical property \"future\" is unknown to the CA (RFC 8659 §4.5)"},
        {"critical bit among other flag bits", {caa(129, "tbs", "x"), caa(0, "issue", "letsencrypt.org")}, false, false,
         "critical property \"tbs\" is unknown to the CA (RFC 8659 §4.5)"},
        {"non-critical unknown tag ignored", {caa(0, "tbs", "Unknown"), caa(0, "issue", "letsencrypt.org")}, false, true,
         "0 issue \"letsencrypt.org\" allows letsencrypt.org"},
        {"other flag bits are not critical", {caa(1, "tbs", "x"), caa(0, "issue", "letsencrypt.org")}, false, true,
         "0 issue \"letsencrypt.org\" allows letsencrypt.org"},
        {"critical known tag fine", {caa(128, "issue", "letsencrypt.org")}, false, true,
         "128 issue \"letsencrypt.org\" allows letsencrypt.org"},
        {"critical iodef fine", {caa(128, "iodef", "mailto:a@example.com"), caa(0, "issue", "letsencrypt.org")}, false, true,
         "0 issue \"letsencrypt.org\" allows letsencrypt.org"},
        {"critical known tag in upper case fine", {caa(128, "ISSUE", "letsencrypt.org")}, false, true,
         "128 ISSUE \"letsencrypt.org\" allows letsencrypt.org"},
        {"tag case-insensitive: denies", {caa(0, "Issue", "digicert.com")}, false, false,
         "CAA at example.com allows only digicert.com"},
        {"tag case-insensitive: issuewild", {caa(0, "issue", "digicert.com"), caa(0, "IssueWild", "letsencrypt.org")}, true,
         true, "0 IssueWild \"letsencrypt.org\" allows letsencrypt.org"},
        {"quotes in a deciding value are escaped", {caa(0, "issue", ";\"")}, false, false,
         "0 issue \";\\\"\" forbids every CA"},
        {"control bytes are escaped", {caa(0, "issue", std::string{"\x01;", 2})}, false, false,
         "CAA at example.com allows only \\001"},
    };
    for (const auto& r : rows) {
        const auto d = dns::evaluate_caa(r.records, "example.com", r.wildcard);
        EXPECT_EQ(d.allowed, r.allowed) << r.what;
        EXPECT_EQ(d.reason, r.reason) << r.what;
    }
}

TEST(caa, another_ca_and_another_owner)
{
    const std::vector<dns::caa_data> set{caa(0, "issue", "letsencrypt.org"), caa(0, "issue", "digicert.com")};
    const auto digicert = dns::evaluate_caa(set, "shop.example.com", false, "DIGICERT.COM");
    EXPECT_TRUE(digicert.allowed);
    EXPECT_EQ(digicert.reason, "0 issue \"digicert.com\" allows DIGICERT.COM");

    const auto sectigo = dns::evaluate_caa(set, "shop.example.com", false, "sectigo.com");
    EXPECT_FALSE(sectigo.allowed);
    EXPECT_EQ(sectigo.reason, "CAA at shop.example.com allows only letsencrypt.org, digicert.com");
}

} // namespace
