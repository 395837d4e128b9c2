#include "tests/dnscheck/dns_builder.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <utility>

namespace stork::dnscheck::test {
namespace {

// Type numbers (IANA); the parser's rr:: constants are not used so that the builder
// does not depend on the code it tests.
constexpr std::uint16_t type_a = 1;
constexpr std::uint16_t type_ns = 2;
constexpr std::uint16_t type_cname = 5;
constexpr std::uint16_t type_soa = 6;
constexpr std::uint16_t type_txt = 16;
constexpr std::uint16_t type_aaaa = 28;
constexpr std::uint16_t type_opt = 41;
constexpr std::uint16_t type_caa = 257;

void put_u16(std::vector<unsigned char>& out, std::uint16_t v)
{
    out.push_back(static_cast<unsigned char>(v >> 8));
    out.push_back(static_cast<unsigned char>(v & 0xff));
}

void put_u32(std::vector<unsigned char>& out, std::uint32_t v)
{
    put_u16(out, static_cast<std::uint16_t>(v >> 16));
    put_u16(out, static_cast<std::uint16_t>(v & 0xffff));
}

std::vector<std::string> labels_of(std::string_view name)
{
    if (!name.empty() && name.back() == '.') {
        name.remove_suffix(1);
    }
    std::vector<std::string> labels;
    while (!name.empty()) {
        const auto dot = std::min(name.find('.'), name.size());
        if (dot == 0 || dot > 63) {
            throw std::invalid_argument{"dns_builder: empty label or label over 63 bytes in a name"};
        }
        labels.emplace_back(name.substr(0, dot));
        name.remove_prefix(std::min(dot + 1, name.size()));
    }
    return labels;
}

std::string lower(std::string s)
{
    for (char& c : s) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return s;
}

void set_bit(std::uint16_t& flags, std::uint16_t bit, bool on)
{
    flags = static_cast<std::uint16_t>(on ? flags | bit : flags & ~bit);
}

// Writes names, remembering where each suffix was written when compressing.
class name_writer {
public:
    explicit name_writer(bool compress) : compress_{compress} {}

    void write(std::vector<unsigned char>& out, std::string_view name)
    {
        const auto labels = labels_of(name);
        for (std::size_t i = 0; i < labels.size(); ++i) {
            if (compress_) {
                std::string suffix;
                for (std::size_t j = i; j < labels.size(); ++j) {
                    suffix += lower(labels[j]);
                    suffix += '.';
                }
                if (const auto it = written_.find(suffix); it != written_.end()) {
                    put_u16(out, static_cast<std::uint16_t>(0xc000 | it->second));
                    return;
                }
                // A pointer holds 14 bits of offset.
                if (out.size() < 0x4000) {
                    written_.emplace(std::move(suffix), static_cast<std::uint16_t>(out.size()));
                }
            }
            out.push_back(static_cast<unsigned char>(labels[i].size()));
            out.insert(out.end(), labels[i].begin(), labels[i].end());
        }
        out.push_back(0);
    }

private:
    bool compress_;
    std::map<std::string, std::uint16_t> written_;
};

} // namespace

void rdata::bytes(std::vector<unsigned char> b)
{
    pieces_.push_back(piece{std::move(b), std::nullopt});
}

void rdata::name(std::string n)
{
    pieces_.push_back(piece{{}, std::move(n)});
}

rdata rdata::a(std::string_view ipv4)
{
    const auto b = boost::asio::ip::make_address_v4(ipv4).to_bytes();
    rdata r{type_a};
    r.bytes({b.begin(), b.end()});
    return r;
}

rdata rdata::aaaa(std::string_view ipv6)
{
    const auto b = boost::asio::ip::make_address_v6(ipv6).to_bytes();
    rdata r{type_aaaa};
    r.bytes({b.begin(), b.end()});
    return r;
}

rdata rdata::cname(std::string target)
{
    rdata r{type_cname};
    r.name(std::move(target));
    return r;
}

rdata rdata::ns(std::string name)
{
    rdata r{type_ns};
    r.name(std::move(name));
    return r;
}

rdata rdata::soa(std::string mname, std::string rname, std::uint32_t serial, std::uint32_t refresh,
                 std::uint32_t retry, std::uint32_t expire, std::uint32_t minimum)
{
    std::vector<unsigned char> numbers;
    for (const std::uint32_t v : {serial, refresh, retry, expire, minimum}) {
        put_u32(numbers, v);
    }
    rdata r{type_soa};
    r.name(std::move(mname));
    r.name(std::move(rname));
    r.bytes(std::move(numbers));
    return r;
}

rdata rdata::caa(std::uint8_t flags, std::string_view tag, std::string_view value)
{
    std::vector<unsigned char> b{flags, static_cast<unsigned char>(tag.size())};
    b.insert(b.end(), tag.begin(), tag.end());
    b.insert(b.end(), value.begin(), value.end());
    rdata r{type_caa};
    r.bytes(std::move(b));
    return r;
}

rdata rdata::txt(const std::vector<std::string>& strings)
{
    std::vector<unsigned char> b;
    for (const auto& s : strings) {
        if (s.size() > 255) {
            throw std::invalid_argument{"dns_builder: a TXT character-string is at most 255 bytes"};
        }
        b.push_back(static_cast<unsigned char>(s.size()));
        b.insert(b.end(), s.begin(), s.end());
    }
    rdata r{type_txt};
    r.bytes(std::move(b));
    return r;
}

rdata rdata::raw(std::uint16_t type, std::vector<unsigned char> bytes)
{
    rdata r{type};
    r.bytes(std::move(bytes));
    return r;
}

std::optional<query_info> read_query(std::span<const unsigned char> wire)
{
    if (wire.size() < 12) {
        return std::nullopt;
    }
    query_info q;
    q.id = static_cast<std::uint16_t>(wire[0] << 8 | wire[1]);
    q.rd = (wire[2] & 0x01) != 0;
    if ((wire[4] << 8 | wire[5]) == 0) {
        return std::nullopt;
    }
    std::size_t at = 12;
    for (;;) {
        if (at >= wire.size()) {
            return std::nullopt;
        }
        const std::size_t length = wire[at];
        if (length == 0) {
            ++at;
            break;
        }
        if (length > 63 || at + 1 + length > wire.size()) {
            return std::nullopt;
        }
        if (!q.name.empty()) {
            q.name += '.';
        }
        q.name.append(reinterpret_cast<const char*>(wire.data() + at + 1), length);
        at += 1 + length;
    }
    if (wire.size() - at < 4) {
        return std::nullopt;
    }
    q.qtype = static_cast<std::uint16_t>(wire[at] << 8 | wire[at + 1]);
    q.qclass = static_cast<std::uint16_t>(wire[at + 2] << 8 | wire[at + 3]);
    return q;
}

dns_builder dns_builder::reply_to(const query_info& q)
{
    dns_builder b;
    b.id(q.id).qr().rd(q.rd).question(q.name, q.qtype, q.qclass);
    return b;
}

dns_builder& dns_builder::id(std::uint16_t value)
{
    id_ = value;
    return *this;
}

dns_builder& dns_builder::qr(bool on)
{
    set_bit(flags_, 0x8000, on);
    return *this;
}

dns_builder& dns_builder::aa(bool on)
{
    set_bit(flags_, 0x0400, on);
    return *this;
}

dns_builder& dns_builder::tc(bool on)
{
    set_bit(flags_, 0x0200, on);
    return *this;
}

dns_builder& dns_builder::rd(bool on)
{
    set_bit(flags_, 0x0100, on);
    return *this;
}

dns_builder& dns_builder::ra(bool on)
{
    set_bit(flags_, 0x0080, on);
    return *this;
}

dns_builder& dns_builder::rcode(int code)
{
    flags_ = static_cast<std::uint16_t>((flags_ & ~0x000f) | (code & 0x0f));
    return *this;
}

dns_builder& dns_builder::question(std::string name, std::uint16_t qtype, std::uint16_t qclass)
{
    questions_.push_back({std::move(name), qtype, qclass});
    return *this;
}

dns_builder& dns_builder::answer(std::string owner, std::uint32_t ttl, rdata data, std::uint16_t klass)
{
    answers_.push_back({std::move(owner), ttl, klass, std::move(data)});
    return *this;
}

dns_builder& dns_builder::authority(std::string owner, std::uint32_t ttl, rdata data, std::uint16_t klass)
{
    authority_.push_back({std::move(owner), ttl, klass, std::move(data)});
    return *this;
}

dns_builder& dns_builder::additional(std::string owner, std::uint32_t ttl, rdata data, std::uint16_t klass)
{
    additional_.push_back({std::move(owner), ttl, klass, std::move(data)});
    return *this;
}

dns_builder& dns_builder::edns(std::uint16_t udp_size, std::uint32_t flags)
{
    return additional("", flags, rdata::raw(type_opt, {}), udp_size);
}

dns_builder& dns_builder::compress(bool on)
{
    compress_ = on;
    return *this;
}

dns_builder& dns_builder::counts_for_test(std::uint16_t qd, std::uint16_t an, std::uint16_t ns, std::uint16_t ar)
{
    counts_ = std::vector<std::uint16_t>{qd, an, ns, ar};
    return *this;
}

std::vector<unsigned char> dns_builder::build() const
{
    std::vector<unsigned char> out;
    put_u16(out, id_);
    put_u16(out, flags_);
    const auto counts = counts_.value_or(std::vector<std::uint16_t>{
        static_cast<std::uint16_t>(questions_.size()), static_cast<std::uint16_t>(answers_.size()),
        static_cast<std::uint16_t>(authority_.size()), static_cast<std::uint16_t>(additional_.size())});
    for (const std::uint16_t c : counts) {
        put_u16(out, c);
    }

    name_writer names{compress_};
    for (const auto& q : questions_) {
        names.write(out, q.name);
        put_u16(out, q.qtype);
        put_u16(out, q.qclass);
    }
    for (const auto* section : {&answers_, &authority_, &additional_}) {
        for (const auto& e : *section) {
            names.write(out, e.owner);
            put_u16(out, e.data.type_);
            put_u16(out, e.klass);
            put_u32(out, e.ttl);
            const std::size_t length_at = out.size();
            put_u16(out, 0);
            for (const auto& p : e.data.pieces_) {
                if (p.name) {
                    names.write(out, *p.name);
                } else {
                    out.insert(out.end(), p.bytes.begin(), p.bytes.end());
                }
            }
            const std::size_t length = out.size() - length_at - 2;
            if (length > 0xffff) {
                throw std::invalid_argument{"dns_builder: RDATA over 65535 bytes"};
            }
            out[length_at] = static_cast<unsigned char>(length >> 8);
            out[length_at + 1] = static_cast<unsigned char>(length & 0xff);
        }
    }
    return out;
}

std::vector<unsigned char> truncated(std::vector<unsigned char> wire, std::size_t n)
{
    wire.resize(std::min(n, wire.size()));
    return wire;
}

} // namespace stork::dnscheck::test
