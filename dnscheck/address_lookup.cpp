#include "dnscheck/address_lookup.hpp"

#include <ares.h>

#include <arpa/nameser.h>

#include <boost/throw_exception.hpp>

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace stork::dnscheck {
namespace {

bool is_negative(const boost::system::error_code& ec)
{
    return ec == make_ares_error(ARES_ENOTFOUND) || ec == make_ares_error(ARES_ENODATA);
}

std::uint16_t answer_count(std::span<const unsigned char> m)
{
    return m.size() < 12 ? 0 : static_cast<std::uint16_t>(m[6] << 8 | m[7]);
}

std::chrono::seconds ttl_of(int ttl)
{
    // RFC 2181 §8: TTLs are 31-bit; c-ares hands them as int, clamp anything odd to 0.
    return std::chrono::seconds{std::max(ttl, 0)};
}

// The state shared by the A and the AAAA query of one resolve().
struct pair_state {
    std::string host;
    address_lookup::handler handler;
    family_answer a;
    family_answer aaaa;
    int outstanding = 2;

    void done()
    {
        if (--outstanding == 0) {
            handler(combine_answers(host, a, aaaa));
        }
    }
};

} // namespace

void throw_exception_from_error(const lookup_error& e, const boost::source_location& loc)
{
    boost::throw_exception(std::runtime_error{e.message}, loc);
}

std::string describe_lookup_error(boost::system::error_code code)
{
    if (code.category() != ares_category()) {
        return code.message();
    }
    switch (code.value()) {
    case ARES_ENOTFOUND:
        return "no such domain (NXDOMAIN)";
    case ARES_ENODATA:
        return "no A or AAAA records";
    case ARES_ETIMEOUT:
        return "DNS timeout (no answer from the DNS servers)";
    case ARES_ESERVFAIL:
        return "DNS server failure (SERVFAIL)";
    case ARES_EREFUSED:
        return "DNS query refused (REFUSED)";
    case ARES_ECONNREFUSED:
        return "could not contact the DNS servers (connection refused)";
    case ARES_EBADNAME:
        return "not a valid DNS name";
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
        return "DNS lookup cancelled";
    default:
        return std::string{"DNS error: "} + ares_strerror(code.value());
    }
}

family_answer parse_family_answer(int qtype, boost::system::error_code code, std::span<const unsigned char> answer)
{
    family_answer out;
    out.code = code;
    if (code || answer.empty()) {
        if (!code) {
            out.code = make_ares_error(ARES_EBADRESP);
        }
        return out;
    }
    const auto* abuf = answer.data();
    const int alen = static_cast<int>(answer.size());
    // One addrttl per answer RR is enough (CNAMEs included, so it over-allocates a little).
    int n = std::max<int>(1, answer_count(answer));
    int status = ARES_SUCCESS;
    if (qtype == ns_t_a) {
        std::vector<ares_addrttl> ttls(static_cast<std::size_t>(n));
        status = ares_parse_a_reply(abuf, alen, nullptr, ttls.data(), &n);
        if (status == ARES_SUCCESS) {
            for (int i = 0; i < n; ++i) {
                boost::asio::ip::address_v4::bytes_type b;
                std::memcpy(b.data(), &ttls[static_cast<std::size_t>(i)].ipaddr, b.size());
                out.addresses.emplace_back(boost::asio::ip::address_v4{b});
                const auto t = ttl_of(ttls[static_cast<std::size_t>(i)].ttl);
                out.ttl = i == 0 ? t : std::min(out.ttl, t);
            }
        }
    } else {
        std::vector<ares_addr6ttl> ttls(static_cast<std::size_t>(n));
        status = ares_parse_aaaa_reply(abuf, alen, nullptr, ttls.data(), &n);
        if (status == ARES_SUCCESS) {
            for (int i = 0; i < n; ++i) {
                boost::asio::ip::address_v6::bytes_type b;
                std::memcpy(b.data(), &ttls[static_cast<std::size_t>(i)].ip6addr, b.size());
                out.addresses.emplace_back(boost::asio::ip::address_v6{b});
                const auto t = ttl_of(ttls[static_cast<std::size_t>(i)].ttl);
                out.ttl = i == 0 ? t : std::min(out.ttl, t);
            }
        }
    }
    if (status != ARES_SUCCESS) {
        out.code = make_ares_error(status);
    } else if (out.addresses.empty()) {
        // A CNAME chain ending in a name without this type: c-ares says SUCCESS.
        out.code = make_ares_error(ARES_ENODATA);
    }
    return out;
}

lookup_result combine_answers(std::string_view host, const family_answer& a, const family_answer& aaaa,
                              std::chrono::seconds partial_ttl_cap)
{
    const bool a_ok = !a.code && !a.addresses.empty();
    const bool aaaa_ok = !aaaa.code && !aaaa.addresses.empty();
    if (a_ok || aaaa_ok) {
        resolved_addresses r;
        if (a_ok) {
            r.addresses = a.addresses;
            r.ttl = a.ttl;
        }
        if (aaaa_ok) {
            r.addresses.insert(r.addresses.end(), aaaa.addresses.begin(), aaaa.addresses.end());
            r.ttl = a_ok ? std::min(r.ttl, aaaa.ttl) : aaaa.ttl;
        }
        const family_answer& other = a_ok ? aaaa : a;
        if (!(a_ok && aaaa_ok) && other.code && !is_negative(other.code)) {
            r.ttl = std::min(r.ttl, partial_ttl_cap);
        }
        return r;
    }
    boost::system::error_code code;
    if (a.code == make_ares_error(ARES_ENOTFOUND) || aaaa.code == make_ares_error(ARES_ENOTFOUND)) {
        code = make_ares_error(ARES_ENOTFOUND);
    } else if (is_negative(a.code) && is_negative(aaaa.code)) {
        code = make_ares_error(ARES_ENODATA);
    } else if (a.code && !is_negative(a.code)) {
        code = a.code;
    } else if (aaaa.code) {
        code = aaaa.code;
    } else {
        code = make_ares_error(ARES_ENODATA);
    }
    return lookup_error{code, std::string{host} + ": " + describe_lookup_error(code)};
}

void address_lookup::resolve(std::string_view host, handler h)
{
    // "[2001:db8::1]" as in a URL authority, or a bare literal.
    std::string_view literal = host;
    if (literal.size() > 2 && literal.front() == '[' && literal.back() == ']') {
        literal = literal.substr(1, literal.size() - 2);
    }
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(std::string{literal}, ec);
    if (!ec) {
        h(resolved_addresses{{ip}, std::chrono::seconds::max()});
        return;
    }

    auto state = std::make_shared<pair_state>();
    state->host = std::string{host};
    state->handler = std::move(h);
    channel_.query(host, ns_t_a, [state](boost::system::error_code code, std::span<const unsigned char> answer) {
        state->a = parse_family_answer(ns_t_a, code, answer);
        state->done();
    });
    channel_.query(host, ns_t_aaaa, [state](boost::system::error_code code, std::span<const unsigned char> answer) {
        state->aaaa = parse_family_answer(ns_t_aaaa, code, answer);
        state->done();
    });
}

} // namespace stork::dnscheck
