#include "tls/client_hello.hpp"

#include <algorithm>
#include <array>

namespace stork::tls {
namespace {

constexpr std::size_t record_header = 5;
// RFC 8446 §5.2 bounds TLSCiphertext at 2^14 + 256; a plaintext hello is smaller, but some
// stacks size records as if encrypted, so the looser bound is the one enforced.
constexpr std::size_t max_record = 16384 + 256;
constexpr std::uint8_t content_handshake = 22;
constexpr std::uint8_t handshake_client_hello = 1;
constexpr std::size_t handshake_header = 4;  // msg_type, uint24 length
constexpr std::uint16_t ext_server_name = 0;  // RFC 6066 §3
constexpr std::uint16_t ext_alpn = 16;        // RFC 7301 §3.1
constexpr std::uint8_t host_name = 0;
constexpr std::size_t max_host_name = 255;    // RFC 1035 §2.3.4, textual form

std::uint8_t at(std::string_view s, std::size_t i) noexcept
{
    return static_cast<std::uint8_t>(s[i]);
}

bool good_version(std::uint8_t major, std::uint8_t minor) noexcept
{
    return major == 3 && minor >= 1 && minor <= 4;
}

// Reads big-endian fields off the front of a view; every read says whether it fit, and a
// read that does not fit moves nothing.
class reader {
public:
    explicit reader(std::string_view s) noexcept : s_{s} {}

    bool u8(std::uint8_t& v) noexcept
    {
        if (s_.size() - pos_ < 1) {
            return false;
        }
        v = at(s_, pos_);
        pos_ += 1;
        return true;
    }

    bool u16(std::uint16_t& v) noexcept
    {
        if (s_.size() - pos_ < 2) {
            return false;
        }
        v = static_cast<std::uint16_t>(at(s_, pos_) << 8 | at(s_, pos_ + 1));
        pos_ += 2;
        return true;
    }

    bool take(std::size_t n, std::string_view& v) noexcept
    {
        if (s_.size() - pos_ < n) {
            return false;
        }
        v = s_.substr(pos_, n);
        pos_ += n;
        return true;
    }

    bool skip(std::size_t n) noexcept
    {
        std::string_view ignored;
        return take(n, ignored);
    }

    std::size_t remaining() const noexcept { return s_.size() - pos_; }
    bool empty() const noexcept { return pos_ == s_.size(); }

private:
    std::string_view s_;
    std::size_t pos_ = 0;
};

constexpr std::array<bool, 256> make_host_chars()
{
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) {
        t[c] = true;
    }
    for (int c = 'a'; c <= 'z'; ++c) {
        t[c] = true;
        t[c - 'a' + 'A'] = true;
    }
    t['.'] = true;
    t['-'] = true;
    t['_'] = true;  // not in hostnames, but in real service names (_acme-challenge, SRV-like)
    return t;
}

constexpr std::array<bool, 256> host_chars = make_host_chars();

// RFC 6066 §3: struct { NameType name_type; select (name_type) { case host_name: HostName; } }
// ServerName; ServerName server_name_list<1..2^16-1>. A client sends one host_name; any
// other name type has no defined encoding (so cannot be skipped), and two host_names are
// forbidden, so both are errors.

// RFC 7301 §3.1: ProtocolName protocol_name_list<2..2^16-1>, ProtocolName opaque<1..2^8-1>.
bool good_alpn(std::string_view data) noexcept
{
    reader r{data};
    std::uint16_t list_length = 0;
    if (!r.u16(list_length) || list_length < 2 || list_length != r.remaining()) {
        return false;
    }
    while (!r.empty()) {
        std::uint8_t length = 0;
        if (!r.u8(length) || length == 0 || !r.skip(length)) {
            return false;
        }
    }
    return true;
}

// The ClientHello body (RFC 8446 §4.1.2; RFC 5246 §7.4.1.2 for the optional extensions of
// TLS 1.0..1.2 clients). The whole body is there: anything that does not fit is an error.
hello_error parse_body(std::string_view body, client_hello& out) noexcept
{
    reader r{body};
    std::uint8_t major = 0;
    std::uint8_t minor = 0;
    if (!r.u8(major) || !r.u8(minor)) {
        return hello_error::bad_length;
    }
    if (!good_version(major, minor)) {
        return hello_error::bad_version;
    }
    std::uint8_t session_id = 0;
    if (!r.skip(32) || !r.u8(session_id) || session_id > 32 || !r.skip(session_id)) {
        return hello_error::bad_length;
    }
    std::uint16_t suites = 0;
    if (!r.u16(suites) || suites == 0 || suites % 2 != 0 || !r.skip(suites)) {
        return hello_error::bad_length;
    }
    std::uint8_t compressions = 0;
    if (!r.u8(compressions) || compressions == 0 || !r.skip(compressions)) {
        return hello_error::bad_length;
    }
    if (r.empty()) {
        return hello_error::none;  // no extensions (TLS 1.0..1.2 only)
    }
    std::uint16_t extensions = 0;
    if (!r.u16(extensions) || extensions != r.remaining()) {
        return hello_error::bad_length;
    }
    bool seen_server_name = false;
    while (!r.empty()) {
        std::uint16_t type = 0;
        std::uint16_t length = 0;
        std::string_view data;
        if (!r.u16(type) || !r.u16(length) || !r.take(length, data)) {
            return hello_error::bad_extension;
        }
        // RFC 8446 §4.2: no extension type more than once. Only the two read here are
        // checked: the rest pass through to the origin, which judges them.
        if (type == ext_server_name) {
            if (seen_server_name) {
                return hello_error::bad_extension;
            }
            seen_server_name = true;
            if (const auto e = parse_server_name(data, out.server_name); e != hello_error::none) {
                return e;
            }
        } else if (type == ext_alpn) {
            if (out.has_alpn || !good_alpn(data)) {
                return hello_error::bad_extension;
            }
            out.has_alpn = true;
        }
    }
    return hello_error::none;
}

} // namespace

hello_error parse_server_name(std::string_view data, std::string_view& name) noexcept
{
    reader r{data};
    std::uint16_t list_length = 0;
    if (!r.u16(list_length) || list_length == 0 || list_length != r.remaining()) {
        return hello_error::bad_server_name;
    }
    while (!r.empty()) {
        std::uint8_t type = 0;
        std::uint16_t length = 0;
        std::string_view value;
        if (!r.u8(type) || type != host_name || !name.empty() || !r.u16(length) || !r.take(length, value)) {
            return hello_error::bad_server_name;
        }
        if (value.empty() || value.size() > max_host_name) {
            return hello_error::bad_server_name;
        }
        for (const char c : value) {
            if (!host_chars[static_cast<unsigned char>(c)]) {
                return hello_error::bad_server_name;
            }
        }
        name = value;
    }
    return hello_error::none;
}

std::string_view describe(hello_error e) noexcept
{
    switch (e) {
    case hello_error::none:
        return "no error";
    case hello_error::not_tls:
        return "not a TLS handshake";
    case hello_error::bad_record:
        return "malformed TLS record";
    case hello_error::bad_version:
        return "unsupported TLS version";
    case hello_error::not_client_hello:
        return "first handshake message is not a ClientHello";
    case hello_error::bad_length:
        return "malformed ClientHello length";
    case hello_error::bad_extension:
        return "malformed ClientHello extension";
    case hello_error::bad_server_name:
        return "malformed server name (SNI)";
    case hello_error::too_large:
        return "ClientHello too large";
    }
    return "unknown ClientHello error";
}

hello_state parse_client_hello(std::string_view bytes, std::string& scratch, client_hello& out, hello_error& error)
{
    out = {};
    error = hello_error::none;
    const auto fail = [&](hello_error e) {
        error = e;
        return hello_state::failed;
    };

    // The records: each header field is checked as soon as its byte is there, so that a
    // prefix fails exactly when (and as) the whole would.
    std::array<std::uint8_t, handshake_header> head{};
    std::size_t seen = 0;   // handshake bytes seen so far, over every record
    std::size_t total = 0;  // handshake header + ClientHello body; 0 until the header is in
    std::size_t pos = 0;
    std::size_t records = 0;
    for (;;) {
        const std::size_t left = bytes.size() - pos;
        if (left == 0) {
            return hello_state::incomplete;
        }
        if (at(bytes, pos) != content_handshake) {
            // RFC 8446 §5.1: handshake messages are never interleaved with other records.
            return fail(records == 0 ? hello_error::not_tls : hello_error::bad_record);
        }
        if ((left > 1 && at(bytes, pos + 1) != 3) || (left > 2 && !good_version(3, at(bytes, pos + 2)))) {
            return fail(hello_error::bad_version);
        }
        if (left < record_header) {
            return hello_state::incomplete;
        }
        const std::size_t length = std::size_t{at(bytes, pos + 3)} << 8 | at(bytes, pos + 4);
        // RFC 8446 §5.1: no zero-length handshake fragments.
        if (length == 0 || length > max_record) {
            return fail(hello_error::bad_record);
        }
        if (pos + record_header + length > max_hello_bytes) {
            return fail(hello_error::too_large);
        }
        const std::string_view fragment = bytes.substr(pos + record_header, std::min(length, left - record_header));
        // The handshake header may itself be split over records (one byte each, at worst).
        const std::size_t before = seen;  // handshake bytes in the earlier records
        for (std::size_t i = 0; before + i < handshake_header && i < fragment.size(); ++i) {
            head[before + i] = static_cast<std::uint8_t>(fragment[i]);
            if (before + i == 0 && head[0] != handshake_client_hello) {
                return fail(hello_error::not_client_hello);
            }
        }
        seen += fragment.size();
        if (total == 0 && seen >= handshake_header) {
            total = handshake_header + (std::size_t{head[1]} << 16 | std::size_t{head[2]} << 8 | head[3]);
            if (record_header + total > max_hello_bytes) {
                return fail(hello_error::too_large);
            }
        }
        // A client sends nothing after its ClientHello until the server answers (early data
        // comes in records of its own), so the record that ends the hello ends with it.
        if (total != 0 && before + length > total) {
            return fail(hello_error::bad_length);
        }
        if (fragment.size() < length) {
            return hello_state::incomplete;
        }
        pos += record_header + length;
        ++records;
        if (seen == total) {
            break;
        }
    }

    std::string_view message;
    if (records == 1) {
        message = bytes.substr(record_header, total);
    } else {
        scratch.clear();
        scratch.reserve(total);
        for (std::size_t p = 0; p < pos;) {
            const std::size_t length = std::size_t{at(bytes, p + 3)} << 8 | at(bytes, p + 4);
            scratch.append(bytes.substr(p + record_header, length));
            p += record_header + length;
        }
        message = scratch;
    }
    if (const auto e = parse_body(message.substr(handshake_header), out); e != hello_error::none) {
        out = {};
        return fail(e);
    }
    out.bytes = pos;
    return hello_state::complete;
}

} // namespace stork::tls
