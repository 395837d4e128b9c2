#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// HTTP/1.1 message heads parsed in place (RFC 9112). The parsers never copy: every
// string_view points into the caller's buffer, which must stay put while the head is used.
// They are strict on purpose: storkd sits in front of applications it does not know, so
// anything two parsers could read two ways (request smuggling) is an error here, never a
// guess (docs/data-plane.md, "Framing").
namespace stork::http1 {

enum class error : std::uint8_t {
    none,
    bad_request_line,       // not "method SP target SP HTTP/1.x CRLF"
    bad_method,             // not a token
    bad_target,             // empty, or bytes outside VCHAR
    bad_version,            // not HTTP/1.0 or HTTP/1.1
    bad_status_line,        // not "HTTP/1.x SP 3DIGIT SP reason CRLF"
    bad_line_ending,        // a bare CR or a bare LF
    bad_header_name,        // empty or not a token, or whitespace before the colon
    bad_header_value,       // NUL, CR, LF or another control byte (except HTAB)
    obs_fold,               // a header line starting with SP or HTAB (RFC 9112 §5.2)
    head_too_large,         // more than limits::max_head_bytes before the blank line
    too_many_headers,       // more than limits::max_headers fields
    missing_host,           // HTTP/1.1 request without Host (RFC 9112 §3.2)
    repeated_host,          // more than one Host field
    length_and_chunked,     // both Content-Length and Transfer-Encoding (RFC 9112 §6.1)
    bad_content_length,     // not 1*DIGIT, or too large for 64 bits
    repeated_content_length,// Content-Length given more than once, or as a list, even if equal
    bad_transfer_encoding,  // last coding not "chunked", chunked twice, empty member, or in HTTP/1.0
    bad_chunk_size,         // not 1*HEXDIG, more than 16 digits, or overflow
    bad_chunk_extension,    // invalid bytes or longer than 4 KiB
    bad_chunk_end,          // chunk data not followed by CRLF
    bad_trailer,            // malformed trailer field line
    trailer_too_large,      // trailer section over limits::max_head_bytes
};

// A short English description ("both Content-Length and Transfer-Encoding").
std::string_view describe(error e) noexcept;

// The status a server answers a request with for this error: 431 for head_too_large and
// too_many_headers, 400 for the rest.
unsigned status_for(error e) noexcept;

struct header {
    std::string_view name;   // as received (case kept); compare with iequals
    std::string_view value;  // leading and trailing SP/HTAB removed
};

enum class body_framing : std::uint8_t {
    none,         // no body (no CL/TE in a request; 1xx/204/304 or a HEAD response)
    length,       // Content-Length bytes follow
    chunked,      // chunked transfer coding (the last coding)
    until_close,  // responses only: the body ends when the server closes
};

struct limits {
    std::size_t max_head_bytes = 64 * 1024;  // request line/status line + fields + blank line
    std::size_t max_headers = 256;
};

struct request_head {
    std::string_view method;
    std::string_view target;            // request-target as received
    unsigned minor = 1;                 // HTTP/1.<minor>
    std::string_view host;              // the Host value; empty only for HTTP/1.0 without Host
    body_framing framing = body_framing::none;
    std::uint64_t content_length = 0;   // when framing == length
    bool keep_alive = true;             // 1.1 unless "Connection: close"; 1.0 only with "keep-alive"
    bool expect_continue = false;       // "Expect: 100-continue" (case-insensitive)
    bool upgrade = false;               // an Upgrade field and "upgrade" among the Connection options
    std::span<const header> headers;    // every field in order, as received
    std::size_t head_bytes = 0;         // bytes of the head, blank line included
};

struct response_head {
    unsigned minor = 1;
    unsigned status = 0;                // 100..999
    std::string_view reason;
    body_framing framing = body_framing::until_close;
    std::uint64_t content_length = 0;
    bool keep_alive = true;             // as for requests
    std::span<const header> headers;
    std::size_t head_bytes = 0;
};

enum class parse_state : std::uint8_t { complete, incomplete, failed };

// Parses a request head at the start of `bytes`. Incremental in the cheap way: call again
// with the same bytes plus more after `incomplete`; the parser remembers how far it looked
// for the blank line, so a head that trickles in byte by byte costs linear time, and it
// parses the fields once, when the blank line is there. `failed` is final until reset().
class request_parser {
public:
    explicit request_parser(limits l = {});

    parse_state parse(std::string_view bytes);
    const request_head& head() const noexcept { return head_; }   // after complete
    error failure() const noexcept { return failure_; }           // after failed

    // Ready for the next message; keeps the field storage (no allocation per request).
    void reset() noexcept;
    // reset(), and the field list's memory given back (a long-idle connection); the
    // next parse() takes it again.
    void release_memory() noexcept;

private:
    limits limits_;
    request_head head_;
    error failure_ = error::none;
    std::size_t scanned_ = 0;  // how far the blank line was looked for
    bool complete_ = false;
    std::vector<header> headers_;
};

// Parses a response head. `head_request`: the request was HEAD, so no body follows
// whatever the fields say. 1xx, 204 and 304 have no body either (RFC 9112 §6.3).
class response_parser {
public:
    explicit response_parser(limits l = {});

    parse_state parse(std::string_view bytes, bool head_request);
    const response_head& head() const noexcept { return head_; }
    error failure() const noexcept { return failure_; }
    void reset() noexcept;
    // reset(), and the field list's memory given back (a long-idle connection); the
    // next parse() takes it again.
    void release_memory() noexcept;

private:
    limits limits_;
    response_head head_;
    error failure_ = error::none;
    std::size_t scanned_ = 0;  // how far the blank line was looked for
    bool complete_ = false;
    std::vector<header> headers_;
};

// Walks a chunked body (RFC 9112 §7.1) as it streams by, without changing it: storkd
// forwards the validated bytes verbatim. scan() consumes framing, data, trailers and the
// final CRLF; it stops early only at the end of the body (done) or at an error.
class chunked_scanner {
public:
    explicit chunked_scanner(limits l = {});

    struct step {
        std::size_t consumed = 0;  // bytes of `bytes` that belong to the body
        bool done = false;         // the last chunk, the trailers and the final CRLF are in
        error failure = error::none;
    };
    step scan(std::string_view bytes) noexcept;
    // The same, appending the chunks' payload (the body without its framing) to `payload`:
    // for a receiver that frames the body itself (HTTP/2 DATA).
    step decode(std::string_view bytes, std::string& payload);

    std::uint64_t data_bytes() const noexcept { return data_bytes_; }  // payload so far
    void reset() noexcept;

private:
    step run(std::string_view bytes, std::string* payload);
    enum class state : std::uint8_t;
    limits limits_;
    state state_;
    std::uint64_t remaining_ = 0;
    std::uint64_t data_bytes_ = 0;
    std::size_t line_bytes_ = 0;
    std::size_t trailer_bytes_ = 0;
    unsigned digits_ = 0;
    error failure_ = error::none;  // repeated by every scan() after the first error
};

// Case-insensitive ASCII comparison, for field names and tokens.
bool iequals(std::string_view a, std::string_view b) noexcept;

// True when a comma-separated field value (Connection, Upgrade, Transfer-Encoding ...)
// holds `token` as one of its members, case-insensitively, OWS ignored.
bool has_token(std::string_view list, std::string_view token) noexcept;

// True for the fields a proxy never forwards as they are (RFC 9110 §7.6.1): Connection,
// Proxy-Connection, Keep-Alive, TE, Transfer-Encoding, Upgrade, and any field the
// message's Connection values name. `connection_values`: every Connection field value of
// the message.
bool is_hop_by_hop(std::string_view name, std::span<const std::string_view> connection_values) noexcept;

} // namespace stork::http1
