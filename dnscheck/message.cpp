#include "dnscheck/message.hpp"

#include <ares.h>

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>
#include <boost/throw_exception.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <utility>

namespace stork::dnscheck {
namespace {

// RFC 1035 §2.3.4: a name is at most 255 octets on the wire, so at most 127 labels.
constexpr std::size_t max_name_octets = 255;
// ares_expand_name (1.18.1, MAX_INDIRS) refuses a name of more than 50 pointer jumps;
// refusing them here first gives the error a precise text. Real names need one or two.
constexpr std::size_t max_pointer_jumps = 50;
// RFC 1035 §4.2.2: a message (over TCP, the largest) is at most 65535 bytes. This also
// keeps every offset inside ares_expand_name's `int`.
constexpr std::size_t max_message_size = 65535;
// The smallest record: a root owner (1), type, class, TTL, RDLENGTH (10), no RDATA.
constexpr std::size_t min_record_size = 11;
constexpr std::size_t min_question_size = 5;

std::uint16_t read_u16(const unsigned char* p) noexcept
{
    return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}

std::uint32_t read_u32(const unsigned char* p) noexcept
{
    return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | std::uint32_t{p[3]};
}

// ares_expand_name's result, freed with ares_free_string.
struct ares_string_deleter {
    void operator()(char* s) const noexcept { ares_free_string(s); }
};
using ares_string = std::unique_ptr<char, ares_string_deleter>;

// Reads one message front to back. Every step returns false after recording what went
// wrong, prefixed with where: "header", "question 1", "answer record 2" (counted from 1,
// as a person reading dig's output would). The prefix is only written on failure.
class parser {
public:
    explicit parser(std::span<const unsigned char> bytes) : m_{bytes.data()}, size_{bytes.size()} {}

    message_result run()
    {
        message out;
        if (!read_header(out)) {
            return message_error{std::move(error_)};
        }
        if (!read_questions(out.questions)) {
            return message_error{std::move(error_)};
        }
        if (!read_records("answer record", an_count_, out.answers) ||
            !read_records("authority record", ns_count_, out.authority) ||
            !read_records("additional record", ar_count_, out.additional)) {
            return message_error{std::move(error_)};
        }
        // Trailing bytes after the last counted record are accepted: some servers pad.
        return out;
    }

private:
    bool fail(std::string what)
    {
        error_ = where_;
        if (index_ != 0) {
            error_ += ' ';
            error_ += std::to_string(index_);
        }
        error_ += ": ";
        error_ += what;
        return false;
    }

    std::string size_text() const { return "(" + std::to_string(size_) + " bytes)"; }

    bool read_header(message& out)
    {
        if (size_ < 12) {
            return fail("the message is " + std::to_string(size_) + " bytes, shorter than the 12-byte header");
        }
        if (size_ > max_message_size) {
            return fail("the message is " + std::to_string(size_) + " bytes, longer than 65535 (RFC 1035 §4.2.2)");
        }
        out.id = read_u16(m_);
        const unsigned flags = read_u16(m_ + 2);
        out.qr = (flags & 0x8000) != 0;
        out.aa = (flags & 0x0400) != 0;
        out.tc = (flags & 0x0200) != 0;
        out.rd = (flags & 0x0100) != 0;
        out.ra = (flags & 0x0080) != 0;
        out.rcode = static_cast<int>(flags & 0x000f);
        qd_count_ = read_u16(m_ + 4);
        an_count_ = read_u16(m_ + 6);
        ns_count_ = read_u16(m_ + 8);
        ar_count_ = read_u16(m_ + 10);
        pos_ = 12;
        return true;
    }

    // Counts come from the header and may lie: reserve no more than the bytes left can hold.
    std::size_t plausible(std::size_t count, std::size_t min_size) const
    {
        return std::min(count, (size_ - pos_) / min_size);
    }

    // The header counts more questions or records than the message holds.
    bool missing(std::size_t count)
    {
        return fail("missing: the message " + size_text() + " ends after " + std::to_string(index_ - 1) + " of " +
                    std::to_string(count) + " " + where_ + "s");
    }

    bool read_questions(std::vector<question>& out)
    {
        out.reserve(plausible(qd_count_, min_question_size));
        for (std::size_t i = 0; i < qd_count_; ++i) {
            where_ = "question";
            index_ = i + 1;
            if (pos_ >= size_) {
                return missing(qd_count_);
            }
            question q;
            if (!read_name(pos_, size_, q.name, "name")) {
                return false;
            }
            if (size_ - pos_ < 4) {
                return fail("QTYPE and QCLASS run past the end of the message " + size_text());
            }
            q.type = read_u16(m_ + pos_);
            q.klass = read_u16(m_ + pos_ + 2);
            pos_ += 4;
            out.push_back(std::move(q));
        }
        return true;
    }

    // `section` names one record of it: "answer record".
    bool read_records(const char* section, std::size_t count, std::vector<record>& out)
    {
        out.reserve(plausible(count, min_record_size));
        for (std::size_t i = 0; i < count; ++i) {
            where_ = section;
            index_ = i + 1;
            if (pos_ >= size_) {
                return missing(count);
            }
            record r;
            if (!read_record(r)) {
                return false;
            }
            out.push_back(std::move(r));
        }
        return true;
    }

    bool read_record(record& r)
    {
        if (!read_name(pos_, size_, r.name, "owner name")) {
            return false;
        }
        if (size_ - pos_ < 10) {
            return fail("TYPE, CLASS, TTL and RDLENGTH run past the end of the message " + size_text());
        }
        r.type = read_u16(m_ + pos_);
        r.klass = read_u16(m_ + pos_ + 2);
        r.ttl = read_u32(m_ + pos_ + 4);
        const std::size_t rdlength = read_u16(m_ + pos_ + 8);
        pos_ += 10;
        // RFC 2181 §8: a TTL with the top bit set is read as zero. OPT's "TTL" is the
        // extended RCODE, version and flags (RFC 6891 §6.1.3), not a TTL: kept as sent.
        if (r.type != rr::opt && r.ttl > 0x7fffffffu) {
            r.ttl = 0;
        }
        if (rdlength > size_ - pos_) {
            return fail("RDATA length " + std::to_string(rdlength) + " runs past the end of the message " +
                        size_text());
        }
        const std::size_t start = pos_;
        const std::size_t end = pos_ + rdlength;
        pos_ = end;
        return read_rdata(r, start, end);
    }

    bool read_rdata(record& r, std::size_t at, std::size_t end)
    {
        const std::size_t length = end - at;
        switch (r.type) {
        case rr::a: {
            if (length != 4) {
                return fail("A RDATA is " + std::to_string(length) + " bytes, not 4");
            }
            boost::asio::ip::address_v4::bytes_type b;
            std::copy_n(m_ + at, 4, b.begin());
            r.data = boost::asio::ip::address{boost::asio::ip::address_v4{b}};
            return true;
        }
        case rr::aaaa: {
            if (length != 16) {
                return fail("AAAA RDATA is " + std::to_string(length) + " bytes, not 16");
            }
            boost::asio::ip::address_v6::bytes_type b;
            std::copy_n(m_ + at, 16, b.begin());
            r.data = boost::asio::ip::address{boost::asio::ip::address_v6{b}};
            return true;
        }
        case rr::cname:
        case rr::ns: {
            std::string target;
            const char* what = r.type == rr::cname ? "CNAME target" : "NS name";
            const std::size_t start = at;
            if (!read_name(at, end, target, what)) {
                return false;
            }
            if (at != end) {
                return fail(std::string{what} + " ends after " + std::to_string(at - start) +
                            " bytes of RDATA, RDLENGTH is " + std::to_string(length));
            }
            r.data = std::move(target);
            return true;
        }
        case rr::soa:
            return read_soa(r, at, end);
        case rr::caa:
            return read_caa(r, at, end);
        case rr::txt:
            return read_txt(r, at, end);
        default:
            r.data = std::vector<std::uint8_t>(m_ + at, m_ + end);
            return true;
        }
    }

    bool read_soa(record& r, std::size_t at, std::size_t end)
    {
        soa_data soa;
        if (!read_name(at, end, soa.mname, "SOA MNAME") || !read_name(at, end, soa.rname, "SOA RNAME")) {
            return false;
        }
        if (end - at != 20) {
            return fail("SOA has " + std::to_string(end - at) +
                        " bytes after its names, not 20 (SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM)");
        }
        soa.serial = read_u32(m_ + at);
        soa.refresh = read_u32(m_ + at + 4);
        soa.retry = read_u32(m_ + at + 8);
        soa.expire = read_u32(m_ + at + 12);
        soa.minimum = read_u32(m_ + at + 16);
        r.data = std::move(soa);
        return true;
    }

    // RFC 8659 §4.1: flags (1), tag length (1), tag (1-15 letters and digits), value.
    bool read_caa(record& r, std::size_t at, std::size_t end)
    {
        const std::size_t length = end - at;
        if (length < 2) {
            return fail("CAA RDATA is " + std::to_string(length) + " bytes, shorter than flags and tag length");
        }
        caa_data caa;
        caa.flags = m_[at];
        const std::size_t tag_length = m_[at + 1];
        if (tag_length == 0 || tag_length > 15) {
            return fail("CAA tag length " + std::to_string(tag_length) + " is not 1-15 (RFC 8659 §4.1)");
        }
        if (tag_length > length - 2) {
            return fail("CAA tag length " + std::to_string(tag_length) + " runs past RDLENGTH " +
                        std::to_string(length));
        }
        caa.tag.assign(reinterpret_cast<const char*>(m_ + at + 2), tag_length);
        for (const char c : caa.tag) {
            const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            if (!alnum) {
                return fail("CAA tag contains a byte that is not a letter or digit (RFC 8659 §4.1)");
            }
        }
        // The value may be empty: `0 issue ""` forbids issuance (RFC 8659 §4.2). c-ares
        // 1.18's ares_parse_caa_reply refuses it, which is one reason this parser exists.
        caa.value.assign(reinterpret_cast<const char*>(m_ + at + 2 + tag_length), length - 2 - tag_length);
        r.data = std::move(caa);
        return true;
    }

    // RFC 1035 §3.3.14: one or more <character-string>s, each a length byte and its bytes.
    bool read_txt(record& r, std::size_t at, std::size_t end)
    {
        const std::size_t length = end - at;
        std::vector<std::string> strings;
        while (at < end) {
            const std::size_t n = m_[at];
            if (n > end - at - 1) {
                return fail("TXT character-string " + std::to_string(strings.size() + 1) + " of " +
                            std::to_string(n) + " bytes runs past RDLENGTH " + std::to_string(length));
            }
            strings.emplace_back(reinterpret_cast<const char*>(m_ + at + 1), n);
            at += 1 + n;
        }
        r.data = std::move(strings);
        return true;
    }

    // Reads the name at `at` (which moves past its encoding) that must end before `end`.
    //
    // The walk here checks what ares_expand_name (c-ares 1.18) does not: the 255-octet
    // limit (RFC 1035 §2.3.4). Without it, thousands of two-byte pointers to one long run
    // of labels would each expand to the whole message (quadratic). Loops and long
    // pointer chains, which c-ares refuses too, are refused here first, so that the error
    // says which.
    bool read_name(std::size_t& at, std::size_t end, std::string& out, const char* what)
    {
        std::size_t p = at;
        std::size_t octets = 0;
        std::size_t encoded_end = 0;    // where the name's own bytes end (0: not known yet)
        std::array<std::uint16_t, max_pointer_jumps> jumped_to{};
        std::size_t jumps = 0;
        for (;;) {
            if (p >= size_) {
                return fail(std::string{what} + " runs past the end of the message " + size_text());
            }
            const unsigned length = m_[p];
            if ((length & 0xc0) == 0xc0) {
                if (size_ - p < 2) {
                    return fail(std::string{what} + ": compression pointer runs past the end of the message " +
                                size_text());
                }
                const std::uint16_t target = static_cast<std::uint16_t>(read_u16(m_ + p) & 0x3fff);
                if (target >= size_) {
                    return fail(std::string{what} + ": compression pointer to offset " + std::to_string(target) +
                                " is past the end of the message " + size_text());
                }
                if (std::find(jumped_to.begin(), jumped_to.begin() + jumps, target) != jumped_to.begin() + jumps) {
                    return fail(std::string{what} + ": compression pointers loop at offset " +
                                std::to_string(target));
                }
                if (jumps == max_pointer_jumps) {
                    return fail(std::string{what} + ": more than " + std::to_string(max_pointer_jumps) +
                                " compression pointers");
                }
                jumped_to[jumps++] = target;
                if (encoded_end == 0) {
                    encoded_end = p + 2;
                }
                p = target;
                continue;
            }
            if ((length & 0xc0) != 0) {
                // 01 was RFC 2673's binary labels (obsolete, RFC 6891 §5); 10 is reserved.
                return fail(std::string{what} + ": label type 0x" + (length & 0x80 ? "80" : "40") +
                            " at offset " + std::to_string(p) + " is not supported");
            }
            octets += 1 + length;
            if (octets > max_name_octets) {
                return fail(std::string{what} + " is longer than 255 bytes (RFC 1035 §2.3.4)");
            }
            if (length == 0) {
                if (encoded_end == 0) {
                    encoded_end = p + 1;
                }
                break;
            }
            if (length >= size_ - p) {
                return fail(std::string{what} + ": a label of " + std::to_string(length) +
                            " bytes runs past the end of the message " + size_text());
            }
            // ares_expand_name writes a label of one zero byte as a raw NUL (its "root name
            // response" special case), which would cut the name short in a C string.
            if (length == 1 && m_[p + 1] == 0) {
                return fail(std::string{what} + ": a label of one zero byte at offset " + std::to_string(p) +
                            " (c-ares would expand it to a raw NUL)");
            }
            p += 1 + length;
        }
        if (encoded_end > end) {
            return fail(std::string{what} + " runs past RDLENGTH (" + std::to_string(encoded_end - at) +
                        " bytes from where it starts, " + std::to_string(end - at) + " left)");
        }

        // c-ares expands it: compression pointers, and escapes for odd bytes ("\.", "\032").
        char* expanded = nullptr;
        long used = 0;
        const int status = ares_expand_name(m_ + at, m_, static_cast<int>(size_), &expanded, &used);
        ares_string owned{expanded};
        if (status != ARES_SUCCESS) {
            return fail(std::string{what} + ": c-ares cannot expand it (" + ares_strerror(status) + ")");
        }
        // Both walks read the same bytes; if they ever disagree, trust neither.
        if (used <= 0 || static_cast<std::size_t>(used) != encoded_end - at) {
            return fail(std::string{what} + ": c-ares read " + std::to_string(used) + " bytes, expected " +
                        std::to_string(encoded_end - at));
        }
        // c-ares 1.18 already drops the trailing dot and gives "" for the root.
        out.assign(owned.get());
        at = encoded_end;
        return true;
    }

    const unsigned char* m_;
    std::size_t size_;
    std::size_t pos_ = 0;
    std::size_t qd_count_ = 0;
    std::size_t an_count_ = 0;
    std::size_t ns_count_ = 0;
    std::size_t ar_count_ = 0;
    const char* where_ = "header";
    std::size_t index_ = 0;    // of the question or record being read, from 1; 0 in the header
    std::string error_;
};

void append_quoted(std::string& out, std::string_view bytes)
{
    out += '"';
    out += zone_escaped(bytes);
    out += '"';
}

// A name in zone-file form without the trailing dot; the root is ".".
std::string_view name_text(const std::string& name)
{
    return name.empty() ? std::string_view{"."} : std::string_view{name};
}

template <typename... F>
struct overloaded : F... {
    using F::operator()...;
};
template <typename... F>
overloaded(F...) -> overloaded<F...>;

char ascii_lower(char c) noexcept
{
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Drops one trailing dot unless it is escaped ("a\." ends with the label "a.").
std::string_view without_trailing_dot(std::string_view name) noexcept
{
    if (name.empty() || name.back() != '.') {
        return name;
    }
    std::size_t backslashes = 0;
    for (std::size_t i = name.size() - 1; i > 0 && name[i - 1] == '\\'; --i) {
        ++backslashes;
    }
    return backslashes % 2 == 0 ? name.substr(0, name.size() - 1) : name;
}

} // namespace

std::string type_name(std::uint16_t type)
{
    switch (type) {
    case rr::a:
        return "A";
    case rr::ns:
        return "NS";
    case rr::cname:
        return "CNAME";
    case rr::soa:
        return "SOA";
    case 12:
        return "PTR";
    case 15:
        return "MX";
    case rr::txt:
        return "TXT";
    case rr::aaaa:
        return "AAAA";
    case 33:
        return "SRV";
    case 39:
        return "DNAME";
    case rr::opt:
        return "OPT";
    case 43:
        return "DS";
    case 46:
        return "RRSIG";
    case 47:
        return "NSEC";
    case 48:
        return "DNSKEY";
    case 50:
        return "NSEC3";
    case rr::caa:
        return "CAA";
    default:
        return "TYPE" + std::to_string(type);
    }
}

std::string rcode_name(int code)
{
    switch (code) {
    case rcode::noerror:
        return "NOERROR";
    case rcode::formerr:
        return "FORMERR";
    case rcode::servfail:
        return "SERVFAIL";
    case rcode::nxdomain:
        return "NXDOMAIN";
    case rcode::notimp:
        return "NOTIMP";
    case rcode::refused:
        return "REFUSED";
    case 6:
        return "YXDOMAIN";
    case 7:
        return "YXRRSET";
    case 8:
        return "NXRRSET";
    case 9:
        return "NOTAUTH";
    case 10:
        return "NOTZONE";
    default:
        return "RCODE" + std::to_string(code);
    }
}

std::string record::data_text() const
{
    return std::visit(
        overloaded{
            [](const std::vector<std::uint8_t>& raw) {
                // RFC 3597 §5: \# <length> <hex>, the generic form for any type.
                static constexpr char hex[] = "0123456789abcdef";
                std::string out = "\\# " + std::to_string(raw.size());
                if (!raw.empty()) {
                    out += ' ';
                    for (const std::uint8_t b : raw) {
                        out += hex[b >> 4];
                        out += hex[b & 0x0f];
                    }
                }
                return out;
            },
            [](const boost::asio::ip::address& address) { return address.to_string(); },
            [](const std::string& target) { return std::string{name_text(target)}; },
            [](const soa_data& soa) {
                return std::string{name_text(soa.mname)} + ' ' + std::string{name_text(soa.rname)} + ' ' +
                       std::to_string(soa.serial) + ' ' + std::to_string(soa.refresh) + ' ' +
                       std::to_string(soa.retry) + ' ' + std::to_string(soa.expire) + ' ' +
                       std::to_string(soa.minimum);
            },
            [](const caa_data& caa) {
                std::string out = std::to_string(caa.flags) + ' ' + caa.tag + ' ';
                append_quoted(out, caa.value);
                return out;
            },
            [](const std::vector<std::string>& strings) {
                std::string out;
                for (const auto& s : strings) {
                    if (!out.empty()) {
                        out += ' ';
                    }
                    append_quoted(out, s);
                }
                return out;
            },
        },
        data);
}

[[noreturn]] void throw_exception_from_error(const message_error& e, const boost::source_location& loc)
{
    boost::throw_exception(std::runtime_error{"DNS message: " + e.what}, loc);
}

message_result parse_message(std::span<const unsigned char> bytes)
{
    return parser{bytes}.run();
}

bool same_name(std::string_view a, std::string_view b) noexcept
{
    a = without_trailing_dot(a);
    b = without_trailing_dot(b);
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

std::vector<const record*> records_of(const std::vector<record>& section, std::string_view name, std::uint16_t type)
{
    std::vector<const record*> out;
    for (const auto& r : section) {
        if (r.type == type && same_name(r.name, name)) {
            out.push_back(&r);
        }
    }
    return out;
}

std::string zone_escaped(std::string_view bytes)
{
    std::string out;
    out.reserve(bytes.size());
    for (const char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20 || c > 0x7e) {
            out += '\\';
            out += static_cast<char>('0' + c / 100);
            out += static_cast<char>('0' + c / 10 % 10);
            out += static_cast<char>('0' + c % 10);
        } else {
            out += ch;
        }
    }
    return out;
}

std::optional<std::uint32_t> negative_ttl(const message& m)
{
    for (const auto& r : m.authority) {
        if (const auto* soa = std::get_if<soa_data>(&r.data); soa != nullptr && r.type == rr::soa) {
            return std::min(r.ttl, soa->minimum);
        }
    }
    return std::nullopt;
}

} // namespace stork::dnscheck
