#include "http1/message.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace stork::http1 {
namespace {

// --- character classes ---------------------------------------------------------------
// One table lookup per byte on the hot path instead of a chain of comparisons.

constexpr std::uint8_t tchar = 1;  // token character (RFC 9110 §5.6.2)
constexpr std::uint8_t vchar = 2;  // 0x21..0x7E: request-target bytes (clients percent-encode the rest)
constexpr std::uint8_t field = 4;  // field-value and reason-phrase bytes: VCHAR, SP, HTAB, obs-text
constexpr std::uint8_t hexdig = 8;

constexpr std::array<std::uint8_t, 256> make_classes()
{
    std::array<std::uint8_t, 256> t{};
    for (int c = 0x21; c <= 0x7e; ++c) {
        t[c] |= vchar | field;
    }
    for (int c = 0x80; c <= 0xff; ++c) {
        t[c] |= field;  // obs-text (RFC 9110 §5.5)
    }
    t[' '] |= field;
    t['\t'] |= field;
    for (const char c : std::string_view{"!#$%&'*+-.^_`|~"}) {
        t[static_cast<unsigned char>(c)] |= tchar;
    }
    for (int c = '0'; c <= '9'; ++c) {
        t[c] |= tchar | hexdig;
    }
    for (int c = 'a'; c <= 'z'; ++c) {
        t[c] |= tchar;
        t[c - 'a' + 'A'] |= tchar;
    }
    for (int c = 'a'; c <= 'f'; ++c) {
        t[c] |= hexdig;
        t[c - 'a' + 'A'] |= hexdig;
    }
    return t;
}

constexpr std::array<std::uint8_t, 256> classes = make_classes();

constexpr bool is(char c, std::uint8_t cls) noexcept
{
    return (classes[static_cast<unsigned char>(c)] & cls) != 0;
}

constexpr bool is_ows(char c) noexcept
{
    return c == ' ' || c == '\t';
}

constexpr std::array<char, 256> make_lower()
{
    std::array<char, 256> t{};
    for (int c = 0; c < 256; ++c) {
        t[c] = static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    return t;
}

constexpr std::array<char, 256> lower = make_lower();

std::string_view trim_ows(std::string_view s) noexcept
{
    while (!s.empty() && is_ows(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_ows(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

bool is_token(std::string_view s) noexcept
{
    if (s.empty()) {
        return false;
    }
    for (const char c : s) {
        if (!is(c, tchar)) {
            return false;
        }
    }
    return true;
}

// The long runs of a head (targets, field values) are skipped eight bytes at a time while
// no byte in them can end the run, then byte by byte with the table. The word tests are
// exact as yes/no answers (the "haszero"/"hasless" bit tricks).
constexpr std::uint64_t ones = 0x0101010101010101;
constexpr std::uint64_t highs = 0x8080808080808080;

constexpr std::uint64_t has_less(std::uint64_t x, std::uint64_t n) noexcept
{
    return (x - ones * n) & ~x & highs;
}

// Past field bytes (VCHAR, SP, HTAB, obs-text) from `pos`: a word goes at once if it has
// no byte below SP (HTAB, CR, LF and the other controls) and no DEL.
std::size_t skip_field(const char* b, std::size_t pos, std::size_t n) noexcept
{
    while (n - pos >= 8) {
        std::uint64_t x;
        std::memcpy(&x, b + pos, 8);
        if ((has_less(x, 0x20) | has_less(x ^ (ones * 0x7f), 1)) != 0) {
            break;
        }
        pos += 8;
    }
    while (pos < n && is(b[pos], field)) {
        ++pos;
    }
    return pos;
}

// Past VCHAR bytes from `pos`: a word goes at once if it has no byte below 0x21, no DEL
// and nothing from 0x80 up.
std::size_t skip_vchar(const char* b, std::size_t pos, std::size_t n) noexcept
{
    while (n - pos >= 8) {
        std::uint64_t x;
        std::memcpy(&x, b + pos, 8);
        if ((has_less(x, 0x21) | has_less(x ^ (ones * 0x7f), 1) | (x & highs)) != 0) {
            break;
        }
        pos += 8;
    }
    while (pos < n && is(b[pos], vchar)) {
        ++pos;
    }
    return pos;
}

// The members of a comma-separated list (RFC 9110 §5.6.1), OWS trimmed. Empty members
// are returned too ("a,,b" has three): has_token ignores them, Transfer-Encoding refuses them.
class list_members {
public:
    explicit list_members(std::string_view list) noexcept : rest_{list} {}

    bool next(std::string_view& member) noexcept
    {
        if (done_) {
            return false;
        }
        const auto comma = rest_.find(',');
        if (comma == std::string_view::npos) {
            member = trim_ows(rest_);
            done_ = true;
        } else {
            member = trim_ows(rest_.substr(0, comma));
            rest_.remove_prefix(comma + 1);
        }
        return true;
    }

private:
    std::string_view rest_;
    bool done_ = false;
};

// --- heads ---------------------------------------------------------------------------

// What one step of a head parse came to. `incomplete` only ever means "these bytes are a
// valid prefix so far": every decision is taken on bytes already seen, so a prefix that
// parses complete or failed parses the same whatever follows it.
struct outcome {
    parse_state state;
    error failure;
};

constexpr outcome more{parse_state::incomplete, error::none};
constexpr outcome done{parse_state::complete, error::none};

constexpr outcome fail(error e) noexcept
{
    return {parse_state::failed, e};
}

// At `pos`, where a line must end: CRLF, or the end of the bytes so far.
outcome line_end(std::string_view in, std::size_t& pos, error otherwise) noexcept
{
    if (pos == in.size()) {
        return more;
    }
    if (in[pos] != '\r') {
        return fail(in[pos] == '\n' ? error::bad_line_ending : otherwise);
    }
    if (pos + 1 == in.size()) {
        return more;
    }
    if (in[pos + 1] != '\n') {
        return fail(error::bad_line_ending);
    }
    pos += 2;
    return done;
}

// "HTTP/1.0" or "HTTP/1.1" at `pos`. `prefix_error`: what a mismatch in "HTTP/" is.
outcome http_version(std::string_view in, std::size_t& pos, unsigned& minor, error prefix_error) noexcept
{
    constexpr std::string_view name = "HTTP/1.";
    for (std::size_t i = 0; i < name.size(); ++i, ++pos) {
        if (pos == in.size()) {
            return more;
        }
        if (in[pos] != name[i]) {
            return fail(in[pos] == '\n' ? error::bad_line_ending : i < 5 ? prefix_error : error::bad_version);
        }
    }
    if (pos == in.size()) {
        return more;
    }
    if (in[pos] != '0' && in[pos] != '1') {
        return fail(in[pos] == '\n' ? error::bad_line_ending : error::bad_version);
    }
    minor = static_cast<unsigned>(in[pos] - '0');
    ++pos;
    return done;
}

// request-line = method SP request-target SP HTTP-version CRLF (RFC 9112 §3), after the
// empty lines RFC 9112 §2.2 lets a server skip.
outcome request_line(std::string_view in, std::size_t& pos, request_head& h) noexcept
{
    const char* const b = in.data();
    const std::size_t n = in.size();
    while (pos + 1 < n && b[pos] == '\r' && b[pos + 1] == '\n') {
        pos += 2;
    }

    const std::size_t method_begin = pos;
    while (pos < n && is(b[pos], tchar)) {
        ++pos;
    }
    if (pos == n) {
        return more;
    }
    if (b[pos] != ' ' || pos == method_begin) {
        const bool empty = pos == method_begin;
        switch (b[pos]) {
        case '\n':
            return fail(error::bad_line_ending);
        case '\r':
            if (empty) {
                // A CR at the end may start one more skipped CRLF; any other CR is bare.
                return pos + 1 == n ? more : fail(error::bad_line_ending);
            }
            return fail(error::bad_request_line);
        default:
            return fail(error::bad_method);
        }
    }
    h.method = {b + method_begin, pos - method_begin};
    ++pos;

    const std::size_t target_begin = pos;
    pos = skip_vchar(b, pos, n);
    if (pos == n) {
        return more;
    }
    if (b[pos] != ' ' || pos == target_begin) {
        if (b[pos] == '\n') {
            return fail(error::bad_line_ending);
        }
        // "GET /\r\n" is HTTP/0.9, which we do not speak.
        return fail(b[pos] == '\r' && pos != target_begin ? error::bad_request_line : error::bad_target);
    }
    h.target = {b + target_begin, pos - target_begin};
    ++pos;

    if (const auto o = http_version(in, pos, h.minor, error::bad_version); o.state != parse_state::complete) {
        return o;
    }
    if (pos < n && b[pos] >= '0' && b[pos] <= '9') {
        return fail(error::bad_version);  // "HTTP/1.10"
    }
    return line_end(in, pos, error::bad_request_line);
}

// status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF (RFC 9112 §4); a
// line without the second SP is accepted too, as RFC 9112 §4 asks of clients.
outcome status_line(std::string_view in, std::size_t& pos, response_head& h) noexcept
{
    const char* const b = in.data();
    const std::size_t n = in.size();
    if (const auto o = http_version(in, pos, h.minor, error::bad_status_line); o.state != parse_state::complete) {
        return o;
    }
    if (pos == n) {
        return more;
    }
    if (b[pos] != ' ') {
        const bool digit = b[pos] >= '0' && b[pos] <= '9';
        return fail(b[pos] == '\n' ? error::bad_line_ending : digit ? error::bad_version : error::bad_status_line);
    }
    ++pos;
    unsigned status = 0;
    for (int i = 0; i < 3; ++i, ++pos) {
        if (pos == n) {
            return more;
        }
        const char c = b[pos];
        if (c < '0' || c > '9' || (i == 0 && c == '0')) {
            return fail(c == '\n' ? error::bad_line_ending : error::bad_status_line);
        }
        status = status * 10 + static_cast<unsigned>(c - '0');
    }
    h.status = status;
    if (pos == n) {
        return more;
    }
    if (b[pos] == ' ') {
        ++pos;
        const std::size_t reason_begin = pos;
        pos = skip_field(b, pos, n);
        h.reason = {b + reason_begin, pos - reason_begin};
    } else {
        h.reason = {};
    }
    return line_end(in, pos, error::bad_status_line);
}

// field-line = field-name ":" OWS field-value OWS, then CRLF, up to the empty line
// (RFC 9112 §5). Strict where parsers disagree: no whitespace before the colon, no
// obs-fold, no control bytes in values.
outcome field_lines(std::string_view in, std::size_t& pos_io, std::vector<header>& out, std::size_t max_headers)
{
    const char* const b = in.data();
    const std::size_t n = in.size();
    std::size_t pos = pos_io;
    for (;;) {
        if (pos == n) {
            return more;
        }
        const char first = b[pos];
        if (first == '\r') {
            if (const auto o = line_end(in, pos, error::bad_line_ending); o.state != parse_state::complete) {
                return o;
            }
            pos_io = pos;
            return done;
        }
        if (is_ows(first)) {
            return fail(error::obs_fold);
        }

        const std::size_t name_begin = pos;
        while (pos < n && is(b[pos], tchar)) {
            ++pos;
        }
        if (pos == n) {
            return more;
        }
        if (b[pos] != ':' || pos == name_begin) {
            return fail(b[pos] == '\n' ? error::bad_line_ending : error::bad_header_name);
        }
        const std::string_view name{b + name_begin, pos - name_begin};
        ++pos;

        while (pos < n && is_ows(b[pos])) {
            ++pos;
        }
        const std::size_t value_begin = pos;
        pos = skip_field(b, pos, n);
        std::size_t value_end = pos;
        if (const auto o = line_end(in, pos, error::bad_header_value); o.state != parse_state::complete) {
            return o;
        }
        while (value_end > value_begin && is_ows(b[value_end - 1])) {
            --value_end;
        }
        if (out.size() == max_headers) {
            return fail(error::too_many_headers);
        }
        out.push_back({name, {b + value_begin, value_end - value_begin}});
    }
}

// Looks for the LF where the head could end, from `scanned` on, and remembers how far it
// looked: the cheap incremental part of parse(). True at an LF the full parse must judge:
// the one of the blank line, or a bare LF. The full parse already ran once on the bytes
// before `scanned` without meeting either.
bool blank_line_in(std::string_view w, std::size_t& scanned, bool skip_leading_empty) noexcept
{
    const char* const b = w.data();
    std::size_t from = scanned;
    while (from < w.size()) {
        const void* hit = std::memchr(b + from, '\n', w.size() - from);
        if (hit == nullptr) {
            break;
        }
        const auto lf = static_cast<std::size_t>(static_cast<const char*>(hit) - b);
        if (lf == 0 || b[lf - 1] != '\r') {
            return true;
        }
        const std::size_t line = lf - 1;  // the line's CR; the line is empty if it starts there
        if (line == 0 || b[line - 1] == '\n') {
            // Empty lines are skipped only before the request line: when the line before
            // (ending at line - 2) is empty too.
            const bool leading = line == 0 || line == 2 || b[line - 3] == '\n';
            if (!skip_leading_empty || !leading) {
                return true;
            }
        }
        from = lf + 1;
    }
    scanned = w.size();
    return false;
}

// What the fields of a head say about framing and the connection (RFC 9112 §6, §9.3).
struct field_summary {
    bool has_length = false;
    std::uint64_t length = 0;
    bool has_transfer_encoding = false;
    bool chunked_seen = false;
    bool last_chunked = false;
    bool close = false;
    bool keep_alive = false;
    bool upgrade_option = false;
    bool upgrade_field = false;
    bool expect_continue = false;
    unsigned hosts = 0;
    std::string_view host;
};

// Content-Length = 1*DIGIT (RFC 9110 §8.6). A list, even of equal values, is refused:
// another parser could take the first, the last or the sum.
error content_length(std::string_view v, field_summary& s) noexcept
{
    if (s.has_length) {
        return error::repeated_content_length;
    }
    if (v.empty()) {
        return error::bad_content_length;
    }
    std::uint64_t length = 0;
    for (const char c : v) {
        if (c == ',') {
            return error::repeated_content_length;
        }
        if (c < '0' || c > '9') {
            return error::bad_content_length;
        }
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (length > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
            return error::bad_content_length;
        }
        length = length * 10 + digit;
    }
    s.has_length = true;
    s.length = length;
    return error::none;
}

// Transfer-Encoding, over all its field lines in order: codings are tokens (parameters
// are refused), none empty, chunked at most once; the caller checks chunked is last.
error transfer_encoding(std::string_view v, field_summary& s) noexcept
{
    s.has_transfer_encoding = true;
    list_members members{v};
    std::string_view coding;
    while (members.next(coding)) {
        if (!is_token(coding)) {
            return error::bad_transfer_encoding;
        }
        const bool chunked = iequals(coding, "chunked");
        if (chunked && s.chunked_seen) {
            return error::bad_transfer_encoding;
        }
        s.chunked_seen = s.chunked_seen || chunked;
        s.last_chunked = chunked;
    }
    return error::none;
}

void connection_options(std::string_view v, field_summary& s) noexcept
{
    list_members members{v};
    std::string_view option;
    while (members.next(option)) {
        s.close = s.close || iequals(option, "close");
        s.keep_alive = s.keep_alive || iequals(option, "keep-alive");
        s.upgrade_option = s.upgrade_option || iequals(option, "upgrade");
    }
}

// One pass over the fields, looking only at the few that matter; names are told apart by
// their length first.
error summarise(std::span<const header> fields, field_summary& s) noexcept
{
    for (const header& f : fields) {
        error e = error::none;
        switch (f.name.size()) {
        case 4:
            if (iequals(f.name, "host")) {
                if (++s.hosts > 1) {
                    return error::repeated_host;
                }
                s.host = f.value;
            }
            break;
        case 6:
            if (iequals(f.name, "expect")) {
                s.expect_continue = s.expect_continue || iequals(f.value, "100-continue");
            }
            break;
        case 7:
            if (iequals(f.name, "upgrade")) {
                s.upgrade_field = true;
            }
            break;
        case 10:
            if (iequals(f.name, "connection")) {
                connection_options(f.value, s);
            }
            break;
        case 14:
            if (iequals(f.name, "content-length")) {
                e = content_length(f.value, s);
            }
            break;
        case 17:
            if (iequals(f.name, "transfer-encoding")) {
                e = transfer_encoding(f.value, s);
            }
            break;
        default:
            break;
        }
        if (e != error::none) {
            return e;
        }
    }
    return error::none;
}

// The framing rules both directions share (RFC 9112 §6.1, §6.3).
error check_framing(const field_summary& s, unsigned minor) noexcept
{
    if (s.has_transfer_encoding) {
        // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; a last coding other
        // than chunked leaves a request without a length (and a response until close,
        // which we refuse too, for simplicity).
        if (minor == 0 || !s.last_chunked) {
            return error::bad_transfer_encoding;
        }
        if (s.has_length) {
            return error::length_and_chunked;
        }
    }
    return error::none;
}

// What both heads share after their first line: the field lines, then what they say
// about framing (RFC 9112 §6.1). `Head` is request_head or response_head.
template <typename Head>
outcome fields_and_framing(std::string_view w, std::size_t pos, const limits& l, Head& h,
    std::vector<header>& fields, field_summary& s)
{
    if (const auto o = field_lines(w, pos, fields, l.max_headers); o.state != parse_state::complete) {
        return o;
    }
    h.head_bytes = pos;
    h.headers = fields;
    if (const error e = summarise(fields, s); e != error::none) {
        return fail(e);
    }
    if (const error e = check_framing(s, h.minor); e != error::none) {
        return fail(e);
    }
    return done;
}

// RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
bool keep_alive(const field_summary& s, unsigned minor) noexcept
{
    return minor == 1 ? !s.close : s.keep_alive && !s.close;
}

outcome parse_request(std::string_view w, const limits& l, request_head& h, std::vector<header>& fields)
{
    fields.clear();
    h = {};
    std::size_t pos = 0;
    if (const auto o = request_line(w, pos, h); o.state != parse_state::complete) {
        return o;
    }
    field_summary s;
    if (const auto o = fields_and_framing(w, pos, l, h, fields, s); o.state != parse_state::complete) {
        return o;
    }
    // RFC 9112 §3.2: exactly one Host in HTTP/1.1. An empty one (allowed for targets
    // without an authority) counts as missing: storkd routes by host.
    if (h.minor == 1 && (s.hosts == 0 || s.host.empty())) {
        return fail(error::missing_host);
    }
    h.host = s.host;
    if (s.has_transfer_encoding) {
        h.framing = body_framing::chunked;
    } else if (s.has_length && s.length > 0) {
        h.framing = body_framing::length;
        h.content_length = s.length;
    } else {
        // No body, and "Content-Length: 0" is no body either: none, content_length 0.
        h.framing = body_framing::none;
    }
    h.keep_alive = keep_alive(s, h.minor);
    // RFC 9110 §7.8 and §10.1.1: Upgrade and 100-continue are ignored in HTTP/1.0.
    h.expect_continue = h.minor == 1 && s.expect_continue;
    h.upgrade = h.minor == 1 && s.upgrade_field && s.upgrade_option;
    return done;
}

outcome parse_response(std::string_view w, const limits& l, bool head_request, response_head& h,
    std::vector<header>& fields)
{
    fields.clear();
    h = {};
    std::size_t pos = 0;
    if (const auto o = status_line(w, pos, h); o.state != parse_state::complete) {
        return o;
    }
    field_summary s;
    if (const auto o = fields_and_framing(w, pos, l, h, fields, s); o.state != parse_state::complete) {
        return o;
    }
    if (head_request || h.status < 200 || h.status == 204 || h.status == 304) {
        h.framing = body_framing::none;  // content_length stays 0: it is the body's length
    } else if (s.has_transfer_encoding) {
        h.framing = body_framing::chunked;
    } else if (s.has_length) {
        // As for requests, "Content-Length: 0" is no body: none.
        h.framing = s.length > 0 ? body_framing::length : body_framing::none;
        h.content_length = s.length;
    } else {
        h.framing = body_framing::until_close;
    }
    h.keep_alive = keep_alive(s, h.minor);
    return done;
}

// The part of parse() both parsers share: the cheap search for the end of the head, the
// one full parse, and the size limit. `full` parses `window` from its start.
template <typename Full>
parse_state drive(std::string_view bytes, const limits& l, std::size_t& scanned, bool skip_leading_empty,
    error& failure, Full full)
{
    const std::string_view window = bytes.substr(0, std::min(bytes.size(), l.max_head_bytes));
    const bool over = bytes.size() > l.max_head_bytes;
    // The first call parses at once: a head usually arrives whole. Later calls only look
    // for the blank line in the new bytes, and parse when it is there (or the limit is hit,
    // to report an earlier error first).
    if (scanned != 0 && !blank_line_in(window, scanned, skip_leading_empty) && !over) {
        return parse_state::incomplete;
    }
    const outcome o = full(window);
    switch (o.state) {
    case parse_state::complete:
        return parse_state::complete;
    case parse_state::failed:
        failure = o.failure;
        return parse_state::failed;
    case parse_state::incomplete:
        break;
    }
    if (over) {
        failure = error::head_too_large;
        return parse_state::failed;
    }
    scanned = window.size();
    return parse_state::incomplete;
}

constexpr std::size_t warm_headers = 32;

} // namespace

// --- errors --------------------------------------------------------------------------

std::string_view describe(error e) noexcept
{
    switch (e) {
    case error::none: return "no error";
    case error::bad_request_line: return "malformed request line";
    case error::bad_method: return "method is not a token";
    case error::bad_target: return "empty request target or bytes outside VCHAR";
    case error::bad_version: return "HTTP version is not HTTP/1.0 or HTTP/1.1";
    case error::bad_status_line: return "malformed status line";
    case error::bad_line_ending: return "bare CR or bare LF";
    case error::bad_header_name: return "field name is empty, not a token, or followed by whitespace";
    case error::bad_header_value: return "control byte in a field value";
    case error::obs_fold: return "obsolete line folding";
    case error::head_too_large: return "head too large";
    case error::too_many_headers: return "too many header fields";
    case error::missing_host: return "HTTP/1.1 request without Host";
    case error::repeated_host: return "more than one Host";
    case error::length_and_chunked: return "both Content-Length and Transfer-Encoding";
    case error::bad_content_length: return "Content-Length is not a 64-bit decimal number";
    case error::repeated_content_length: return "Content-Length given more than once";
    case error::bad_transfer_encoding: return "Transfer-Encoding does not end with chunked, or is in HTTP/1.0";
    case error::bad_chunk_size: return "malformed chunk size";
    case error::bad_chunk_extension: return "malformed or over-long chunk extension";
    case error::bad_chunk_end: return "chunk data not followed by CRLF";
    case error::bad_trailer: return "malformed trailer field";
    case error::trailer_too_large: return "trailer section too large";
    }
    return "unknown error";
}

unsigned status_for(error e) noexcept
{
    return e == error::head_too_large || e == error::too_many_headers ? 431 : 400;
}

// --- request_parser ------------------------------------------------------------------

request_parser::request_parser(limits l) : limits_{l} {}

parse_state request_parser::parse(std::string_view bytes)
{
    if (failure_ != error::none) {
        return parse_state::failed;
    }
    if (complete_) {
        return parse_state::complete;
    }
    if (headers_.capacity() == 0) {
        headers_.reserve(warm_headers); // on first use: an idle connection holds none
    }
    const parse_state s = drive(bytes, limits_, scanned_, true, failure_,
        [this](std::string_view w) { return parse_request(w, limits_, head_, headers_); });
    complete_ = s == parse_state::complete;
    return s;
}

void request_parser::reset() noexcept
{
    head_ = {};
    failure_ = error::none;
    scanned_ = 0;
    complete_ = false;
    headers_.clear();
}

void request_parser::release_memory() noexcept
{
    reset();
    headers_ = std::vector<header>{};
}

// --- response_parser -----------------------------------------------------------------

response_parser::response_parser(limits l) : limits_{l} {}

parse_state response_parser::parse(std::string_view bytes, bool head_request)
{
    if (failure_ != error::none) {
        return parse_state::failed;
    }
    if (complete_) {
        return parse_state::complete;
    }
    if (headers_.capacity() == 0) {
        headers_.reserve(warm_headers);
    }
    const parse_state s = drive(bytes, limits_, scanned_, false, failure_,
        [this, head_request](std::string_view w) { return parse_response(w, limits_, head_request, head_, headers_); });
    complete_ = s == parse_state::complete;
    return s;
}

void response_parser::reset() noexcept
{
    head_ = {};
    failure_ = error::none;
    scanned_ = 0;
    complete_ = false;
    headers_.clear();
}

void response_parser::release_memory() noexcept
{
    reset();
    headers_ = std::vector<header>{};
}

// --- chunked_scanner -----------------------------------------------------------------
//
//   size --hex--> size --';'--> ext --CR--> size_lf --LF--> data (size > 0) | trailer (size 0)
//   data --(size bytes)--> data_cr --CR--> data_lf --LF--> size
//   trailer --CR--> final_lf --LF--> end
//   trailer --tchar--> trailer_name --':'--> trailer_value --CR--> trailer_lf --LF--> trailer
//
// Anything else is an error, and final: a body whose framing two parsers could read two
// ways must never reach the upstream whole.
enum class chunked_scanner::state : std::uint8_t {
    size,
    ext,
    size_lf,
    data,
    data_cr,
    data_lf,
    trailer,
    trailer_name,
    trailer_value,
    trailer_lf,
    final_lf,
    end,
    failed,
};

namespace {

constexpr std::size_t max_chunk_line = 4096;  // a chunk-size line before its CR, extensions included
constexpr unsigned max_size_digits = 16;      // 64 bits, so the size cannot overflow

unsigned hex_value(char c) noexcept
{
    if (c <= '9') {
        return static_cast<unsigned>(c - '0');
    }
    return static_cast<unsigned>(lower[static_cast<unsigned char>(c)] - 'a' + 10);
}

} // namespace

chunked_scanner::chunked_scanner(limits l) : limits_{l}, state_{state::size} {}

void chunked_scanner::reset() noexcept
{
    state_ = state::size;
    remaining_ = 0;
    data_bytes_ = 0;
    line_bytes_ = 0;
    trailer_bytes_ = 0;
    digits_ = 0;
    failure_ = error::none;
}

chunked_scanner::step chunked_scanner::scan(std::string_view bytes) noexcept
{
    return run(bytes, nullptr); // appends nothing, so nothing can throw
}

chunked_scanner::step chunked_scanner::decode(std::string_view bytes, std::string& payload)
{
    return run(bytes, &payload);
}

chunked_scanner::step chunked_scanner::run(std::string_view bytes, std::string* payload)
{
    step r;
    if (state_ == state::end) {
        r.done = true;
        return r;
    }
    if (state_ == state::failed) {
        r.failure = failure_;
        return r;
    }
    const char* const b = bytes.data();
    const std::size_t n = bytes.size();
    std::size_t i = 0;
    const auto failed = [&](error e) {
        state_ = state::failed;
        failure_ = e;
        r.consumed = i;
        r.failure = e;
        return r;
    };

    while (i < n) {
        if (state_ == state::data) {
            const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, n - i));
            if (payload != nullptr) {
                payload->append(b + i, take);
            }
            i += take;
            remaining_ -= take;
            data_bytes_ += take;
            if (remaining_ == 0) {
                state_ = state::data_cr;
            }
            continue;
        }
        const char c = b[i];
        if (state_ >= state::trailer && ++trailer_bytes_ > limits_.max_head_bytes) {
            return failed(error::trailer_too_large);
        }
        switch (state_) {
        case state::size:
            if (is(c, hexdig)) {
                if (++digits_ > max_size_digits) {
                    return failed(error::bad_chunk_size);
                }
                remaining_ = remaining_ * 16 + hex_value(c);
            } else if (digits_ == 0) {
                return failed(error::bad_chunk_size);
            } else if (c == ';') {
                state_ = state::ext;
            } else if (c == '\r') {
                state_ = state::size_lf;
            } else {
                // Not even BWS before ';': "5 \r\n" is one of the shapes parsers read apart.
                return failed(error::bad_chunk_size);
            }
            ++line_bytes_;
            break;
        case state::ext:
            // Extensions are forwarded as they are, so only their bytes are checked, not
            // their token/quoted-string grammar.
            if (c == '\r') {
                state_ = state::size_lf;
            } else if (c == '\n') {
                return failed(error::bad_chunk_size);
            } else if (!is(c, field) || ++line_bytes_ > max_chunk_line) {
                return failed(error::bad_chunk_extension);
            }
            break;
        case state::size_lf:
            if (c != '\n') {
                return failed(error::bad_chunk_size);
            }
            state_ = remaining_ == 0 ? state::trailer : state::data;
            line_bytes_ = 0;
            digits_ = 0;
            break;
        case state::data_cr:
            if (c != '\r') {
                return failed(error::bad_chunk_end);
            }
            state_ = state::data_lf;
            break;
        case state::data_lf:
            if (c != '\n') {
                return failed(error::bad_chunk_end);
            }
            state_ = state::size;
            break;
        case state::trailer:
            if (c == '\r') {
                state_ = state::final_lf;
            } else if (is(c, tchar)) {
                state_ = state::trailer_name;
            } else {
                return failed(error::bad_trailer);  // obs-fold, empty name, bare LF ...
            }
            break;
        case state::trailer_name:
            if (c == ':') {
                state_ = state::trailer_value;
            } else if (!is(c, tchar)) {
                return failed(error::bad_trailer);
            }
            break;
        case state::trailer_value:
            if (c == '\r') {
                state_ = state::trailer_lf;
            } else if (!is(c, field)) {
                return failed(error::bad_trailer);
            }
            break;
        case state::trailer_lf:
            if (c != '\n') {
                return failed(error::bad_trailer);
            }
            state_ = state::trailer;
            break;
        case state::final_lf:
            if (c != '\n') {
                return failed(error::bad_trailer);
            }
            state_ = state::end;
            r.consumed = i + 1;
            r.done = true;
            return r;
        case state::data:
        case state::end:
        case state::failed:
            break;
        }
        ++i;
    }
    r.consumed = n;
    return r;
}

// --- field helpers -------------------------------------------------------------------

bool iequals(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower[static_cast<unsigned char>(a[i])] != lower[static_cast<unsigned char>(b[i])]) {
            return false;
        }
    }
    return true;
}

bool has_token(std::string_view list, std::string_view token) noexcept
{
    list_members members{list};
    std::string_view member;
    while (members.next(member)) {
        if (!member.empty() && iequals(member, token)) {
            return true;
        }
    }
    return false;
}

bool is_hop_by_hop(std::string_view name, std::span<const std::string_view> connection_values) noexcept
{
    // The fixed ones, by length first: most fields have a length none of them has.
    switch (name.size()) {
    case 2:
        if (iequals(name, "te")) {
            return true;
        }
        break;
    case 7:
        if (iequals(name, "upgrade")) {
            return true;
        }
        break;
    case 10:
        if (iequals(name, "connection") || iequals(name, "keep-alive")) {
            return true;
        }
        break;
    case 16:
        if (iequals(name, "proxy-connection")) {
            return true;
        }
        break;
    case 17:
        if (iequals(name, "transfer-encoding")) {
            return true;
        }
        break;
    default:
        break;
    }
    for (const std::string_view v : connection_values) {
        if (has_token(v, name)) {
            return true;
        }
    }
    return false;
}

} // namespace stork::http1
