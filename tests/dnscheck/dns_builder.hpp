#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// DNS wire messages for tests (RFC 1035 §4.1), written field by field so that a test reads
// like the dig output it stands for:
//
//   auto bytes = dns_builder{}.id(7).qr().aa()
//                    .question("www.example.com", rr::a)
//                    .answer("www.example.com", 300, rdata::cname("app.example.net"))
//                    .answer("app.example.net", 60, rdata::a("192.0.2.1"))
//                    .compress()
//                    .build();
//
// Names are dotted text ("www.example.com", a trailing dot is allowed, "" or "." is the
// root); labels are split at every dot, with no escapes. Malformed variants come from
// counts_for_test (header counts that lie), rdata::raw (any RDATA bytes under any type)
// and truncated (the first n bytes); anything stranger is easiest to write byte by byte.
namespace stork::dnscheck::test {

// The RDATA of one record, with its type. Names inside it (CNAME, NS, SOA) stay names
// until build(), so that they can be compressed like owner names.
class rdata {
public:
    static rdata a(std::string_view ipv4);
    static rdata aaaa(std::string_view ipv6);
    static rdata cname(std::string target);
    static rdata ns(std::string name);
    static rdata soa(std::string mname, std::string rname, std::uint32_t serial, std::uint32_t refresh,
                     std::uint32_t retry, std::uint32_t expire, std::uint32_t minimum);
    // RFC 8659 §4.1: flags, tag length, tag, value. The tag is written as given (any length),
    // so bad tags are easy to make.
    static rdata caa(std::uint8_t flags, std::string_view tag, std::string_view value);
    // One <character-string> per element, each at most 255 bytes.
    static rdata txt(const std::vector<std::string>& strings);
    // Any bytes under any type: unknown types, OPT, or a known type with malformed RDATA.
    static rdata raw(std::uint16_t type, std::vector<unsigned char> bytes);

    std::uint16_t type() const noexcept { return type_; }

private:
    friend class dns_builder;
    // A run of bytes, or a name (written, and maybe compressed, by the builder).
    struct piece {
        std::vector<unsigned char> bytes;
        std::optional<std::string> name;
    };
    explicit rdata(std::uint16_t type) : type_{type} {}
    void bytes(std::vector<unsigned char> b);
    void name(std::string n);

    std::uint16_t type_ = 0;
    std::vector<piece> pieces_;
};

// What a responder needs from a query: read without compression, as clients send them.
struct query_info {
    std::uint16_t id = 0;
    std::string name;        // without the trailing dot, case as sent
    std::uint16_t qtype = 0;
    std::uint16_t qclass = 0;
    bool rd = false;
};

// The id, first question and RD bit of a query; nothing when it is not a readable query
// (shorter than a header, no question, a label running past the end, a pointer).
std::optional<query_info> read_query(std::span<const unsigned char> wire);

class dns_builder {
public:
    // A response to `q`: its id, QR=1, its RD bit echoed, its question. rcode NOERROR.
    static dns_builder reply_to(const query_info& q);

    dns_builder& id(std::uint16_t value);
    dns_builder& qr(bool on = true);
    dns_builder& aa(bool on = true);
    dns_builder& tc(bool on = true);
    dns_builder& rd(bool on = true);
    dns_builder& ra(bool on = true);
    dns_builder& rcode(int code);

    dns_builder& question(std::string name, std::uint16_t qtype, std::uint16_t qclass = 1);
    dns_builder& answer(std::string owner, std::uint32_t ttl, rdata data, std::uint16_t klass = 1);
    dns_builder& authority(std::string owner, std::uint32_t ttl, rdata data, std::uint16_t klass = 1);
    dns_builder& additional(std::string owner, std::uint32_t ttl, rdata data, std::uint16_t klass = 1);
    // An OPT record in the additional section (RFC 6891 §6.1.2): root owner, the UDP
    // payload size as its class, `flags` (extended RCODE, version, DO) as its TTL.
    dns_builder& edns(std::uint16_t udp_size = 1232, std::uint32_t flags = 0);

    // RFC 1035 §4.1.4 compression of owner names and of names in CNAME/NS/SOA RDATA:
    // each name points at the longest suffix already written.
    dns_builder& compress(bool on = true);

    // Header counts written as given instead of the numbers of questions and records.
    dns_builder& counts_for_test(std::uint16_t qd, std::uint16_t an, std::uint16_t ns, std::uint16_t ar);

    std::vector<unsigned char> build() const;

private:
    struct entry {
        std::string owner;
        std::uint32_t ttl = 0;
        std::uint16_t klass = 1;
        rdata data;
    };
    struct question_entry {
        std::string name;
        std::uint16_t qtype = 0;
        std::uint16_t qclass = 1;
    };

    std::uint16_t id_ = 0;
    std::uint16_t flags_ = 0;
    bool compress_ = false;
    std::optional<std::vector<std::uint16_t>> counts_;
    std::vector<question_entry> questions_;
    std::vector<entry> answers_;
    std::vector<entry> authority_;
    std::vector<entry> additional_;
};

// The first `n` bytes of `wire` (all of it when shorter).
std::vector<unsigned char> truncated(std::vector<unsigned char> wire, std::size_t n);

} // namespace stork::dnscheck::test
