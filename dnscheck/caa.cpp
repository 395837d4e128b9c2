#include "dnscheck/caa.hpp"

#include <algorithm>
#include <array>

namespace stork::dnscheck {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
               return lower(x) == lower(y);
           });
}

// The property tags a CA knows: RFC 8659 §4.2-4.4 (issue, issuewild, iodef) and the IANA
// "Certification Authority Restriction Properties" registry (contactemail, contactphone
// from CA/B Forum ballots SC14/SC16, issuemail RFC 9495, issuevmc from the BIMI group).
// A critical property whose tag is not here forbids issuance (RFC 8659 §4.5).
constexpr std::array<std::string_view, 7> known_tags{"issue",        "issuewild", "iodef",   "contactemail",
                                                     "contactphone", "issuemail", "issuevmc"};

bool is_known_tag(std::string_view tag) noexcept
{
    return std::any_of(known_tags.begin(), known_tags.end(), [&](std::string_view k) { return iequals(k, tag); });
}

// The record as a zone file shows it (RFC 8659 §4.1.1): 0 issue "letsencrypt.org".
std::string record_text(const caa_data& r)
{
    return std::to_string(r.flags) + " " + zone_escaped(r.tag) + " \"" + zone_escaped(r.value) + "\"";
}

std::string where(std::string_view owner)
{
    return owner.empty() ? std::string{"the root"} : std::string{owner};
}

} // namespace

std::string caa_issuer(std::string_view value)
{
    // RFC 8659 §4.2: issue-value = *WSP [issuer-domain-name *WSP] [";" *WSP [parameters *WSP]]
    // with WSP = space or tab (RFC 5234).
    value = value.substr(0, value.find(';'));
    const auto first = value.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = value.find_last_not_of(" \t");
    return std::string{value.substr(first, last - first + 1)};
}

caa_decision evaluate_caa(const std::vector<caa_data>& records, std::string_view owner, bool wildcard,
                          std::string_view ca)
{
    if (records.empty()) {
        return {true, "no CAA record restricts issuance"};
    }

    // RFC 8659 §4.5: the critical flag on a property the CA does not understand forbids
    // issuance, whatever the other properties say.
    for (const auto& r : records) {
        if (r.critical() && !is_known_tag(r.tag)) {
            return {false, "critical property \"" + zone_escaped(r.tag) + "\" is unknown to the CA (RFC 8659 §4.5)"};
        }
    }

    // RFC 8659 §4.3: issuewild only concerns wildcard names, and for them, when present,
    // it replaces every issue property.
    const bool has_issuewild =
        wildcard && std::any_of(records.begin(), records.end(), [](const caa_data& r) { return iequals(r.tag, "issuewild"); });
    const std::string_view tag = has_issuewild ? "issuewild" : "issue";
    std::vector<const caa_data*> relevant;
    for (const auto& r : records) {
        if (iequals(r.tag, tag)) {
            relevant.push_back(&r);
        }
    }
    if (relevant.empty()) {
        // RFC 8659 §4.2: a set without issue properties (iodef, contactemail, ...) does
        // not restrict issuance.
        return {true, "CAA at " + where(owner) + (wildcard ? " has no issue or issuewild property" : " has no issue property") +
                          ": it does not restrict issuance"};
    }

    // Any one property naming the CA authorises it (RFC 8659 §4.2); parameters after ';'
    // (RFC 8657 accounturi, validationmethods) narrow that further and are not judged here.
    std::vector<std::string> issuers;
    for (const auto* r : relevant) {
        std::string issuer = caa_issuer(r->value);
        if (iequals(issuer, ca)) {
            return {true, record_text(*r) + " allows " + std::string{ca}};
        }
        if (!issuer.empty() && std::none_of(issuers.begin(), issuers.end(), [&](const std::string& i) { return iequals(i, issuer); })) {
            issuers.push_back(std::move(issuer));
        }
    }

    if (issuers.empty()) {
        // Only empty issuer-domain-names ("" or ";"): no CA at all may issue.
        return {false, record_text(*relevant.front()) + " forbids every CA" + (has_issuewild ? " for wildcard names" : "")};
    }
    std::string only;
    for (const auto& i : issuers) {
        only += (only.empty() ? "" : ", ") + zone_escaped(i);
    }
    return {false, "CAA at " + where(owner) + " allows only " + only + (has_issuewild ? " for wildcard names (issuewild)" : "")};
}

} // namespace stork::dnscheck
