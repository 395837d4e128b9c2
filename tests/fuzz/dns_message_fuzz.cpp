// Fuzz target: the DNS message parser, with its promises checked on every input: the
// result is the same on a second parse and with bytes appended (trailing bytes are
// accepted), the header fields and counts are the input's, every record's data matches
// its type, TTLs follow RFC 2181 §8, names have no trailing dot, and the helpers
// (data_text, same_name, records_of, negative_ttl) never throw. An error says where.
// The CAA records found go through the CAA evaluation (the issuer-value parser) as the
// advisor would feed them: one set, for a plain and for a wildcard name.
#include "dnscheck/caa.hpp"
#include "dnscheck/message.hpp"

#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

using stork::fuzz::require;

namespace {

namespace dns = stork::dnscheck;

bool same_message(const dns::message& a, const dns::message& b)
{
    return a.id == b.id && a.qr == b.qr && a.aa == b.aa && a.tc == b.tc && a.rd == b.rd && a.ra == b.ra &&
           a.rcode == b.rcode && a.questions == b.questions && a.answers == b.answers && a.authority == b.authority &&
           a.additional == b.additional;
}

std::uint16_t u16(const std::uint8_t* p)
{
    return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}

// ares_expand_name writes at most 4 characters per wire octet (\DDD), and a name is at
// most 255 octets.
void check_name(const std::string& name)
{
    require(name.size() <= 4 * 255);
    require(name.empty() || name.back() != '.' || (name.size() >= 2 && name[name.size() - 2] == '\\'));
    require(dns::same_name(name, name));
    require(dns::same_name(name, name + "."));
}

void check_record(const dns::record& r, const std::vector<dns::record>& section)
{
    check_name(r.name);
    if (r.type != dns::rr::opt) {
        require(r.ttl <= 0x7fffffffu);
    }
    switch (r.type) {
    case dns::rr::a:
        require(std::holds_alternative<boost::asio::ip::address>(r.data) &&
                std::get<boost::asio::ip::address>(r.data).is_v4());
        break;
    case dns::rr::aaaa:
        require(std::holds_alternative<boost::asio::ip::address>(r.data) &&
                std::get<boost::asio::ip::address>(r.data).is_v6());
        break;
    case dns::rr::cname:
    case dns::rr::ns:
        require(std::holds_alternative<std::string>(r.data));
        check_name(std::get<std::string>(r.data));
        break;
    case dns::rr::soa:
        require(std::holds_alternative<dns::soa_data>(r.data));
        check_name(std::get<dns::soa_data>(r.data).mname);
        check_name(std::get<dns::soa_data>(r.data).rname);
        break;
    case dns::rr::caa: {
        require(std::holds_alternative<dns::caa_data>(r.data));
        const auto& tag = std::get<dns::caa_data>(r.data).tag;
        require(!tag.empty() && tag.size() <= 15);
        for (const char c : tag) {
            require((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
        }
        break;
    }
    case dns::rr::txt:
        require(std::holds_alternative<std::vector<std::string>>(r.data));
        break;
    default:
        require(std::holds_alternative<std::vector<std::uint8_t>>(r.data));
        break;
    }
    // data_text never throws (an exception escaping here is reported as a crash), and
    // is printable ASCII: every odd byte is escaped. Only a TXT of no strings (empty
    // RDATA, accepted) shows as nothing.
    const std::string text = r.data_text();
    require(!text.empty() || r.type == dns::rr::txt);
    for (const char c : text) {
        require(c >= 0x20 && c <= 0x7e);
    }
    bool found = false;
    for (const dns::record* p : dns::records_of(section, r.name, r.type)) {
        found = found || p == &r;
    }
    require(found);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::span<const unsigned char> in{data, size};
    const auto first = dns::parse_message(in);
    const auto second = dns::parse_message(in);
    require(first.has_value() == second.has_value());
    if (!first) {
        // result::error() returns a copy: keep it.
        const std::string what = first.error().what;
        require(what == second.error().what);
        require(what.starts_with("header: ") || what.starts_with("question ") || what.starts_with("answer record ") ||
                what.starts_with("authority record ") || what.starts_with("additional record "));
        return 0;
    }
    const dns::message& m = *first;
    require(same_message(m, *second));

    require(size >= 12);
    require(m.id == u16(data));
    require(m.rcode == (data[3] & 0x0f));
    require(m.qr == ((data[2] & 0x80) != 0) && m.aa == ((data[2] & 0x04) != 0) && m.tc == ((data[2] & 0x02) != 0));
    require(m.questions.size() == u16(data + 4) && m.answers.size() == u16(data + 6) &&
            m.authority.size() == u16(data + 8) && m.additional.size() == u16(data + 10));

    for (const auto& q : m.questions) {
        check_name(q.name);
    }
    for (const auto* section : {&m.answers, &m.authority, &m.additional}) {
        for (const auto& r : *section) {
            check_record(r, *section);
        }
    }
    std::vector<dns::caa_data> caa;
    for (const auto& r : m.answers) {
        if (const auto* c = std::get_if<dns::caa_data>(&r.data)) {
            caa.push_back(*c);
            const std::string issuer = dns::caa_issuer(c->value);
            require(issuer.find(';') == std::string::npos);
        }
    }
    for (const bool wildcard : {false, true}) {
        const auto decision = dns::evaluate_caa(caa, "example.com", wildcard);
        require(!decision.reason.empty());
        require(caa.empty() ? decision.allowed : true);
    }

    if (const auto negative = dns::negative_ttl(m)) {
        bool from_an_soa = false;
        for (const auto& r : m.authority) {
            if (const auto* soa = std::get_if<dns::soa_data>(&r.data)) {
                from_an_soa = *negative <= r.ttl && *negative <= soa->minimum;
                break;
            }
        }
        require(from_an_soa);
    }

    // Trailing bytes are accepted and change nothing (unless they would pass 65535).
    if (size + 3 <= 65535) {
        std::vector<unsigned char> padded(data, data + size);
        padded.insert(padded.end(), {0xc0, 0x0c, 0x00});
        const auto again = dns::parse_message(padded);
        require(again && same_message(*again, m));
    }
    return 0;
}
