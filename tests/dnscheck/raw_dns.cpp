#include "tests/dnscheck/raw_dns.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <random>

namespace stork::dnscheck::test {
namespace {

class fd_guard {
public:
    explicit fd_guard(int fd) : fd_{fd} {}
    ~fd_guard()
    {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    int get() const noexcept { return fd_; }

private:
    int fd_;
};

std::optional<sockaddr_in> endpoint(std::string_view address, std::uint16_t port)
{
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (::inet_pton(AF_INET, std::string{address}.c_str(), &a.sin_addr) != 1) {
        return std::nullopt;
    }
    return a;
}

std::uint16_t bound_port(int fd)
{
    sockaddr_in a{};
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        return 0;
    }
    return ntohs(a.sin_port);
}

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// Reads the message with bounds checks; any overrun makes ok() false and every later
// read return zeros, so the caller checks once at the end of a record.
class reader {
public:
    explicit reader(std::span<const unsigned char> m) : m_{m} {}

    bool ok() const noexcept { return ok_; }
    std::size_t at() const noexcept { return at_; }

    std::uint16_t u16()
    {
        if (!need(2)) {
            return 0;
        }
        const auto v = static_cast<std::uint16_t>(m_[at_] << 8 | m_[at_ + 1]);
        at_ += 2;
        return v;
    }
    std::uint32_t u32()
    {
        const std::uint32_t hi = u16();
        return hi << 16 | u16();
    }
    std::span<const unsigned char> bytes(std::size_t n)
    {
        if (!need(n)) {
            return {};
        }
        auto b = m_.subspan(at_, n);
        at_ += n;
        return b;
    }

    // A name at the current position (RFC 1035 §4.1.4 compression), lower case, no
    // trailing dot. At most 128 pointers are followed: a loop fails instead of hanging.
    std::string name()
    {
        std::string out;
        std::size_t pos = at_;
        std::optional<std::size_t> resume;
        for (int jumps = 0; ok_;) {
            if (pos >= m_.size()) {
                ok_ = false;
                break;
            }
            const unsigned len = m_[pos];
            if (len == 0) {
                ++pos;
                break;
            }
            if ((len & 0xc0) == 0xc0) {
                if (pos + 1 >= m_.size() || ++jumps > 128) {
                    ok_ = false;
                    break;
                }
                if (!resume) {
                    resume = pos + 2;
                }
                pos = (len & 0x3f) << 8 | m_[pos + 1];
                continue;
            }
            if ((len & 0xc0) != 0 || pos + 1 + len > m_.size()) {
                ok_ = false;
                break;
            }
            if (!out.empty()) {
                out += '.';
            }
            out.append(reinterpret_cast<const char*>(&m_[pos + 1]), len);
            pos += 1 + len;
        }
        at_ = resume.value_or(pos);
        return lower(std::move(out));
    }

private:
    bool need(std::size_t n)
    {
        ok_ = ok_ && at_ + n <= m_.size();
        return ok_;
    }

    std::span<const unsigned char> m_;
    std::size_t at_ = 0;
    bool ok_ = true;
};

// The RDATA of one record as text; nothing when it does not fill exactly RDLENGTH.
std::optional<std::string> rdata_text(reader& r, std::uint16_t type, std::size_t rdlength)
{
    const std::size_t end = r.at() + rdlength;
    std::string text;
    if (type == 1 && rdlength == 4) {
        char buf[INET_ADDRSTRLEN] = {};
        ::inet_ntop(AF_INET, r.bytes(4).data(), buf, sizeof buf);
        text = buf;
    } else if (type == 28 && rdlength == 16) {
        char buf[INET6_ADDRSTRLEN] = {};
        ::inet_ntop(AF_INET6, r.bytes(16).data(), buf, sizeof buf);
        text = buf;
    } else if (type == 2 || type == 5) {
        text = r.name();
    } else if (type == 6) {
        text = r.name();
        text += ' ' + r.name();
        for (int i = 0; i < 5; ++i) {
            text += ' ' + std::to_string(r.u32());
        }
    } else {
        text = "\\# " + std::to_string(rdlength) + (rdlength > 0 ? " " : "");
        for (const unsigned char b : r.bytes(rdlength)) {
            char hex[3];
            std::snprintf(hex, sizeof hex, "%02x", b);
            text += hex;
        }
    }
    if (!r.ok() || r.at() != end) {
        return std::nullopt;
    }
    return text;
}

std::vector<unsigned char> make_query(std::uint16_t id, std::string_view name, std::uint16_t qtype, bool recurse)
{
    std::vector<unsigned char> q{static_cast<unsigned char>(id >> 8), static_cast<unsigned char>(id & 0xff),
                                 static_cast<unsigned char>(recurse ? 0x01 : 0x00), 0x00,   // opcode 0, RD
                                 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};           // one question
    std::size_t start = 0;
    while (start < name.size()) {
        std::size_t dot = name.find('.', start);
        if (dot == std::string_view::npos) {
            dot = name.size();
        }
        q.push_back(static_cast<unsigned char>(dot - start));
        q.insert(q.end(), name.begin() + static_cast<std::ptrdiff_t>(start), name.begin() + static_cast<std::ptrdiff_t>(dot));
        start = dot + 1;
    }
    q.insert(q.end(), {0x00, static_cast<unsigned char>(qtype >> 8), static_cast<unsigned char>(qtype & 0xff), 0x00, 0x01});
    return q;
}

std::uint16_t next_id()
{
    // Each test process starts its own sequence somewhere else: replies to an earlier
    // process's queries (same port reused) never match.
    static std::uint16_t id = static_cast<std::uint16_t>(std::random_device{}());
    return ++id;
}

} // namespace

std::uint16_t free_port(std::string_view address)
{
    const auto any = endpoint(address, 0);
    if (!any) {
        return 0;
    }
    for (int attempt = 0; attempt < 20; ++attempt) {
        fd_guard udp{::socket(AF_INET, SOCK_DGRAM, 0)};
        if (udp.get() < 0 || ::bind(udp.get(), reinterpret_cast<const sockaddr*>(&*any), sizeof *any) != 0) {
            continue;
        }
        const std::uint16_t port = bound_port(udp.get());
        fd_guard tcp{::socket(AF_INET, SOCK_STREAM, 0)};
        const auto same = endpoint(address, port);
        if (tcp.get() >= 0 && ::bind(tcp.get(), reinterpret_cast<const sockaddr*>(&*same), sizeof *same) == 0) {
            return port;
        }
    }
    return 0;
}

std::vector<raw_record> raw_reply::of(const std::vector<raw_record>& section, std::uint16_t type, std::string_view name)
{
    std::vector<raw_record> out;
    if (name.ends_with('.')) {
        name.remove_suffix(1);
    }
    const std::string wanted = lower(std::string{name});
    for (const auto& r : section) {
        if (r.type == type && (wanted.empty() || r.name == wanted)) {
            out.push_back(r);
        }
    }
    return out;
}

std::optional<raw_reply> parse_raw_reply(std::span<const unsigned char> message)
{
    reader r{message};
    raw_reply reply;
    reply.id = r.u16();
    const std::uint16_t flags = r.u16();
    const std::uint16_t qdcount = r.u16();
    const std::uint16_t ancount = r.u16();
    const std::uint16_t nscount = r.u16();
    r.u16();   // ARCOUNT: the additional section is not read
    if (!r.ok() || (flags & 0x8000) == 0) {
        return std::nullopt;
    }
    reply.aa = (flags & 0x0400) != 0;
    reply.rcode = flags & 0x000f;
    for (unsigned i = 0; i < qdcount; ++i) {
        r.name();
        r.bytes(4);
    }
    for (auto* section : {&reply.answers, &reply.authority}) {
        const unsigned count = section == &reply.answers ? ancount : nscount;
        for (unsigned i = 0; i < count; ++i) {
            raw_record rec;
            rec.name = r.name();
            rec.type = r.u16();
            r.u16();   // class
            rec.ttl = r.u32();
            const std::uint16_t rdlength = r.u16();
            if (!r.ok()) {
                return std::nullopt;
            }
            auto text = rdata_text(r, rec.type, rdlength);
            if (!text) {
                return std::nullopt;
            }
            rec.data = std::move(*text);
            section->push_back(std::move(rec));
        }
    }
    return reply;
}

std::optional<raw_reply> raw_query(std::string_view address, std::uint16_t port, std::string_view name,
                                   std::uint16_t qtype, bool recurse, std::chrono::milliseconds timeout)
{
    const auto to = endpoint(address, port);
    if (!to) {
        return std::nullopt;
    }
    const std::uint16_t id = next_id();
    const auto q = make_query(id, name, qtype, recurse);
    fd_guard s{::socket(AF_INET, SOCK_DGRAM, 0)};
    if (s.get() < 0 || ::connect(s.get(), reinterpret_cast<const sockaddr*>(&*to), sizeof *to) != 0 ||
        ::send(s.get(), q.data(), q.size(), 0) != static_cast<ssize_t>(q.size())) {
        return std::nullopt;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return std::nullopt;
        }
        pollfd p{s.get(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) != 1) {
            return std::nullopt;
        }
        unsigned char buf[65535];
        const ssize_t n = ::recv(s.get(), buf, sizeof buf, 0);
        if (n < 0) {
            return std::nullopt;   // ECONNREFUSED: nothing listens (yet)
        }
        auto reply = parse_raw_reply({buf, static_cast<std::size_t>(n)});
        if (reply && reply->id == id) {
            return reply;
        }
    }
}

std::optional<std::uint32_t> soa_serial(const raw_reply& reply, std::string_view zone)
{
    for (const auto& soa : raw_reply::of(reply.answers, 6, zone)) {
        // "mname rname serial ...": the third field.
        unsigned long serial = 0;
        const auto first = soa.data.find(' ');
        const auto second = first == std::string::npos ? first : soa.data.find(' ', first + 1);
        if (second != std::string::npos && std::sscanf(soa.data.c_str() + second + 1, "%lu", &serial) == 1) {
            return static_cast<std::uint32_t>(serial);
        }
    }
    return std::nullopt;
}

bool answers_soa(std::uint16_t port, std::string_view name, int timeout_ms)
{
    const auto reply = raw_query("127.0.0.1", port, name, 6, false, std::chrono::milliseconds{timeout_ms});
    return reply && reply->rcode == 0;
}

} // namespace stork::dnscheck::test
