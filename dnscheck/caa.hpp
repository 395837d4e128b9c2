#pragma once

#include "dnscheck/message.hpp"

#include <string>
#include <string_view>
#include <vector>

// CAA as a certification authority reads it (RFC 8659), for one CA identifier
// (Let's Encrypt: "letsencrypt.org"). Pure: the advisor finds the relevant RRset (the
// first non-empty CAA set climbing from the name through its parents, CNAMEs followed at
// each step) and this decides what it means.
namespace stork::dnscheck {

struct caa_decision {
    bool allowed = true;
    // Why, in plain words, naming the record that decides:
    //   "no CAA record restricts issuance"
    //   "0 issue \"letsencrypt.org\" allows letsencrypt.org"
    //   "CAA at example.com allows only digicert.com"
    //   "0 issue \";\" forbids every CA"
    //   "critical property \"tbs\" is unknown to the CA (RFC 8659 §4.5)"
    std::string reason;
};

// Decides issuance by `ca` (an issuer domain name, compared case-insensitively) for a
// name whose relevant CAA RRset is `records` (empty: no CAA anywhere up the tree):
// - a critical property with an unknown tag forbids issuance (known: issue, issuewild,
//   iodef, contactemail, contactphone, issuemail, issuevmc);
// - for a wildcard name, issuewild properties (when any) take precedence over issue;
// - without an issue (or, for wildcards, issuewild) property, CAA does not restrict;
// - otherwise the CA may issue when one property's issuer-domain-name (the value up to
//   ';', whitespace trimmed) equals `ca`; an empty one ("" or ";") allows nobody.
// `owner` is where the set was found, for the reason text.
caa_decision evaluate_caa(const std::vector<caa_data>& records, std::string_view owner, bool wildcard,
                          std::string_view ca = "letsencrypt.org");

// The issuer-domain-name of an issue/issuewild value: "letsencrypt.org; validationmethods=dns-01"
// → "letsencrypt.org"; ";" or "" → "". Tabs and spaces around it are dropped.
std::string caa_issuer(std::string_view value);

} // namespace stork::dnscheck
