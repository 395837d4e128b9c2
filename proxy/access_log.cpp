#include "proxy/access_log.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

namespace stork::proxy {

namespace {

// The formatter writes through a raw pointer into space reserved up front (one resize per
// line instead of a capacity check per field), then trims the string to what was written.

constexpr char hex_digits[] = "0123456789abcdef";

// Output bound of one escaped byte ("\u00XX"), and of an endpoint: "[" + INET6_ADDRSTRLEN
// + "%" + 10-digit scope + "]:" + 5-digit port.
constexpr std::size_t max_escaped_byte = 6;
constexpr std::size_t max_endpoint = 1 + INET6_ADDRSTRLEN + 1 + 10 + 2 + 5;

template <std::size_t N>
char* put_literal(char* p, const char (&literal)[N]) noexcept
{
    std::memcpy(p, literal, N - 1);
    return p + N - 1;
}

template <typename Integer>
char* put_number(char* p, Integer value) noexcept
{
    // 20 digits is the most a 64-bit unsigned value needs; the caller reserved them.
    return std::to_chars(p, p + 20, value).ptr;
}

char* put_escaped_byte(char* p, unsigned char byte) noexcept
{
    p[0] = '\\';
    p[1] = 'u';
    p[2] = '0';
    p[3] = '0';
    p[4] = hex_digits[byte >> 4];
    p[5] = hex_digits[byte & 0xf];
    return p + 6;
}

char* put2(char* p, unsigned value) noexcept
{
    p[0] = static_cast<char>('0' + value / 10);
    p[1] = static_cast<char>('0' + value % 10);
    return p + 2;
}

// Bytes that can be copied as they are: printable ASCII other than '"' and '\'.
constexpr std::array<bool, 256> plain_bytes = [] {
    std::array<bool, 256> table{};
    for (int c = 0x20; c < 0x7f; ++c) {
        table[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
    }
    return table;
}();

// Whether all eight bytes of `word` are plain (see plain_bytes), with the bit tricks of
// "Bit Twiddling Hacks" (haszero, hasless): no byte < 0x20, none >= 0x7f, no '"', no '\'.
constexpr bool all_plain(std::uint64_t word) noexcept
{
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t highs = 0x8080808080808080ull;
    const auto has_zero = [](std::uint64_t v) { return ((v - ones) & ~v & highs) != 0; };
    const bool below_space = ((word - ones * 0x20) & ~word & highs) != 0;
    const bool high_or_del = (word & highs) != 0 || has_zero(word ^ (ones * 0x7f));
    return !below_space && !high_or_del && !has_zero(word ^ (ones * '"')) && !has_zero(word ^ (ones * '\\'));
}

// Length of the well-formed UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0 when it
// is not one. RFC 3629 §4: no overlong forms, no surrogates (U+D800..DFFF), nothing above
// U+10FFFF.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept
{
    const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const auto in = [](unsigned char b, unsigned char lo, unsigned char hi) { return b >= lo && b <= hi; };
    const std::size_t left = s.size() - i;
    const unsigned char b0 = at(i);
    if (in(b0, 0xc2, 0xdf)) {
        return left >= 2 && in(at(i + 1), 0x80, 0xbf) ? 2 : 0;
    }
    if (in(b0, 0xe0, 0xef)) {
        if (left < 3) {
            return 0;
        }
        const unsigned char lo = b0 == 0xe0 ? 0xa0 : 0x80;
        const unsigned char hi = b0 == 0xed ? 0x9f : 0xbf;
        return in(at(i + 1), lo, hi) && in(at(i + 2), 0x80, 0xbf) ? 3 : 0;
    }
    if (in(b0, 0xf0, 0xf4)) {
        if (left < 4) {
            return 0;
        }
        const unsigned char lo = b0 == 0xf0 ? 0x90 : 0x80;
        const unsigned char hi = b0 == 0xf4 ? 0x8f : 0xbf;
        return in(at(i + 1), lo, hi) && in(at(i + 2), 0x80, 0xbf) && in(at(i + 3), 0x80, 0xbf) ? 4 : 0;
    }
    return 0;   // 80..C1 (continuation or overlong lead), F5..FF
}

// Writes `s` as a JSON string, quotes included; needs 2 + max_escaped_byte * s.size() bytes.
char* put_json_string(char* p, std::string_view s) noexcept
{
    *p++ = '"';
    const std::size_t size = s.size();
    const char* data = s.data();
    std::size_t i = 0;
    while (i < size) {
        // Eight plain bytes at a time: most hosts and paths are printable ASCII throughout.
        while (size - i >= 8) {
            std::uint64_t word;
            std::memcpy(&word, data + i, 8);
            if (!all_plain(word)) {
                break;
            }
            std::memcpy(p, &word, 8);
            p += 8;
            i += 8;
        }
        if (i == size) {
            break;
        }
        const auto byte = static_cast<unsigned char>(data[i]);
        if (plain_bytes[byte]) {
            *p++ = static_cast<char>(byte);
            ++i;
        } else if (byte == '"' || byte == '\\') {
            p[0] = '\\';
            p[1] = static_cast<char>(byte);
            p += 2;
            ++i;
        } else if (byte < 0x80) {
            p = put_escaped_byte(p, byte);   // control byte or DEL
            ++i;
        } else if (const std::size_t n = utf8_sequence_length(s, i); n != 0) {
            std::memcpy(p, data + i, n);
            p += n;
            i += n;
        } else {
            p = put_escaped_byte(p, byte);   // not UTF-8: keep the byte's value, stay valid
            ++i;
        }
    }
    *p++ = '"';
    return p;
}

char* put_ipv4(char* p, const unsigned char* bytes) noexcept
{
    for (int k = 0; k < 4; ++k) {
        if (k != 0) {
            *p++ = '.';
        }
        p = put_number(p, static_cast<unsigned>(bytes[k]));
    }
    return p;
}

// RFC 5952 text form (inet_ntop goes through sprintf and costs more than the rest of the
// line): lowercase hex without leading zeros, the longest run of two or more zero groups
// (the first on a tie) as "::", and IPv4-mapped addresses (::ffff:0:0/96, what a dual-stack
// socket reports for an IPv4 client) with a dotted quad (§5).
char* put_ipv6(char* p, const std::array<unsigned char, 16>& bytes) noexcept
{
    unsigned groups[8];
    for (int k = 0; k < 8; ++k) {
        groups[k] = (static_cast<unsigned>(bytes[2 * k]) << 8) | bytes[2 * k + 1];
    }
    const bool mapped = groups[0] == 0 && groups[1] == 0 && groups[2] == 0 && groups[3] == 0 &&
                        groups[4] == 0 && groups[5] == 0xffff;
    if (mapped) {
        p = put_literal(p, "::ffff:");
        return put_ipv4(p, bytes.data() + 12);
    }
    int best = -1;
    int best_length = 1;   // a single zero group is not compressed (RFC 5952 §4.2.2)
    for (int k = 0; k < 8;) {
        if (groups[k] != 0) {
            ++k;
            continue;
        }
        int end = k;
        while (end < 8 && groups[end] == 0) {
            ++end;
        }
        if (end - k > best_length) {
            best = k;
            best_length = end - k;
        }
        k = end;
    }
    for (int k = 0; k < 8;) {
        if (k == best) {
            p = put_literal(p, "::");
            k += best_length;
            continue;
        }
        if (k != 0 && k != best + best_length) {
            *p++ = ':';
        }
        p = std::to_chars(p, p + 4, groups[k], 16).ptr;
        ++k;
    }
    return p;
}

// Needs max_endpoint bytes.
char* put_endpoint(char* p, const boost::asio::ip::tcp::endpoint& endpoint) noexcept
{
    const auto address = endpoint.address();
    if (address.is_v4()) {
        p = put_ipv4(p, address.to_v4().to_bytes().data());
    } else {
        const auto v6 = address.to_v6();
        const auto bytes = v6.to_bytes();
        *p++ = '[';
        p = put_ipv6(p, bytes);
        if (v6.scope_id() != 0) {
            *p++ = '%';
            p = put_number(p, v6.scope_id());
        }
        *p++ = ']';
    }
    *p++ = ':';
    return put_number(p, endpoint.port());
}

// Grows `out` by `bound` bytes, lets `put` write from the old end, and trims to what it wrote.
template <typename Put>
void append_bounded(std::string& out, std::size_t bound, Put put)
{
    const std::size_t old_size = out.size();
    out.resize(old_size + bound);
    char* const begin = out.data() + old_size;
    char* const end = put(begin);
    assert(static_cast<std::size_t>(end - begin) <= bound);
    out.resize(old_size + static_cast<std::size_t>(end - begin));
}

} // namespace

void append_json_string(std::string& out, std::string_view s)
{
    append_bounded(out, 2 + max_escaped_byte * s.size(), [&](char* p) { return put_json_string(p, s); });
}

void append_endpoint(std::string& out, const boost::asio::ip::tcp::endpoint& endpoint)
{
    append_bounded(out, max_endpoint, [&](char* p) { return put_endpoint(p, endpoint); });
}

char* access_line_formatter::put_time(char* p, std::chrono::system_clock::time_point time) noexcept
{
    using namespace std::chrono;
    const auto second = floor<seconds>(time);
    const auto micros = duration_cast<microseconds>(time - second).count();   // 0..999999
    const std::int64_t second_count = second.time_since_epoch().count();
    if (second_count != cached_second_) {
        const auto day = floor<days>(second);
        const year_month_day date{day};
        const hh_mm_ss clock{second - day};
        const int y = static_cast<int>(date.year());
        char* q = prefix_;
        if (y < 0 || y > 9999) {
            // RFC 3339 has four-digit years only; a clock this far off still gets a valid line.
            q = put_literal(q, "0000");
        } else {
            q = put2(q, static_cast<unsigned>(y / 100));
            q = put2(q, static_cast<unsigned>(y % 100));
        }
        *q++ = '-';
        q = put2(q, static_cast<unsigned>(date.month()));
        *q++ = '-';
        q = put2(q, static_cast<unsigned>(date.day()));
        *q++ = 'T';
        q = put2(q, static_cast<unsigned>(clock.hours().count()));
        *q++ = ':';
        q = put2(q, static_cast<unsigned>(clock.minutes().count()));
        *q++ = ':';
        q = put2(q, static_cast<unsigned>(clock.seconds().count()));
        *q = '.';
        cached_second_ = second_count;
    }
    *p++ = '"';
    std::memcpy(p, prefix_, sizeof prefix_);
    p += sizeof prefix_;
    auto us = static_cast<unsigned>(micros);
    for (int k = 5; k >= 0; --k) {
        p[k] = static_cast<char>('0' + us % 10);
        us /= 10;
    }
    p += 6;
    *p++ = 'Z';
    *p++ = '"';
    return p;
}

void access_line_formatter::append(std::string& out, const access_record& r)
{
    // Keys, punctuation, quotes, the time and five numbers take 246 bytes at most.
    const std::size_t strings = r.host.size() + r.method.size() + r.path.size() + r.upstream.size() +
                                r.rule.size() + r.mode.size();
    const std::size_t bound = 320 + max_endpoint + max_escaped_byte * strings;
    append_bounded(out, bound, [&](char* p) {
        p = put_literal(p, R"({"time":)");
        p = put_time(p, r.time);
        p = put_literal(p, R"(,"worker":)");
        p = put_number(p, r.worker);
        p = put_literal(p, R"(,"client":")");
        p = put_endpoint(p, r.client);
        p = put_literal(p, R"(","host":)");
        p = put_json_string(p, r.host);
        p = put_literal(p, R"(,"method":)");
        p = put_json_string(p, r.method);
        p = put_literal(p, R"(,"path":)");
        p = put_json_string(p, r.path);
        p = put_literal(p, R"(,"status":)");
        p = put_number(p, r.status);
        p = put_literal(p, R"(,"bytes_in":)");
        p = put_number(p, r.bytes_in);
        p = put_literal(p, R"(,"bytes_out":)");
        p = put_number(p, r.bytes_out);
        p = put_literal(p, R"(,"upstream":)");
        p = put_json_string(p, r.upstream);
        p = put_literal(p, R"(,"rule":)");
        p = put_json_string(p, r.rule);
        p = put_literal(p, R"(,"mode":)");
        p = put_json_string(p, r.mode);
        p = put_literal(p, R"(,"duration_us":)");
        p = put_number(p, r.duration_us);
        return put_literal(p, "}\n");
    });
}

// --- access_log_sink ------------------------------------------------------------------------

namespace {

constexpr int open_flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC;
constexpr mode_t open_mode = 0640;

int open_log_file(const std::filesystem::path& path) noexcept
{
    int fd;
    do {
        fd = ::open(path.c_str(), open_flags, open_mode);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

// memchr is vectorised; std::count over 32 KiB byte by byte cost more than the write(2).
std::uint64_t count_lines(const char* begin, const char* end) noexcept
{
    std::uint64_t lines = 0;
    while (begin < end) {
        const void* nl = std::memchr(begin, '\n', static_cast<std::size_t>(end - begin));
        if (nl == nullptr) {
            break;
        }
        ++lines;
        begin = static_cast<const char*>(nl) + 1;
    }
    return lines;
}

} // namespace

std::shared_ptr<access_log_sink> access_log_sink::open(const config::access_log_config& config)
{
    using kind = config::access_log_config::kind;
    switch (config.where) {
    case kind::off:
        return nullptr;
    case kind::stdout_stream:
        return std::shared_ptr<access_log_sink>(new access_log_sink(STDOUT_FILENO, false, {}));
    case kind::file: {
        const int fd = open_log_file(config.path);
        if (fd < 0) {
            throw std::system_error(errno, std::generic_category(),
                                    "cannot open the access log " + config.path.string());
        }
        return std::shared_ptr<access_log_sink>(new access_log_sink(fd, true, config.path));
    }
    }
    return nullptr;
}

access_log_sink::access_log_sink(int fd, bool owned, std::filesystem::path path) noexcept
    : fd_(fd), owned_(owned), path_(std::move(path))
{
}

access_log_sink::~access_log_sink()
{
    if (owned_) {
        ::close(fd_);
    }
}

void access_log_sink::write(std::string_view whole_lines) noexcept
{
    const char* const begin = whole_lines.data();
    const char* p = begin;
    std::size_t left = whole_lines.size();
    bool failed = false;
    {
        const std::lock_guard lock{write_mutex_};
        while (left > 0) {
            const ssize_t n = ::write(fd_, p, left);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                // Disk full, EPIPE, EAGAIN on a non-blocking stdout...: the data plane goes
                // on, the rest of the lines is lost, and the metric says so.
                failed = true;
                break;
            }
            p += n;
            left -= static_cast<std::size_t>(n);
        }
    }
    if (failed) {
        write_errors_.fetch_add(1, std::memory_order_relaxed);
    }
    lines_written_.fetch_add(count_lines(begin, p), std::memory_order_relaxed);
}

std::error_code access_log_sink::reopen() noexcept
{
    if (!owned_) {
        return {};
    }
    const int fd = open_log_file(path_);
    if (fd < 0) {
        return {errno, std::generic_category()};
    }
    // Under the lock so that a batch (and any retried partial write of it) lands in one file.
    // dup3, not dup2: dup2 would clear close-on-exec on fd_.
    const std::lock_guard lock{write_mutex_};
    int rc;
    do {
        rc = ::dup3(fd, fd_, O_CLOEXEC);
    } while (rc < 0 && errno == EINTR);
    const int error = rc < 0 ? errno : 0;
    ::close(fd);
    return error != 0 ? std::error_code{error, std::generic_category()} : std::error_code{};
}

// --- access_log_writer ----------------------------------------------------------------------

access_log_writer::access_log_writer(std::shared_ptr<access_log_sink> sink) : sink_(std::move(sink))
{
    if (sink_) {
        buffer_.reserve(initial_capacity);
    }
}

access_log_writer::~access_log_writer()
{
    flush();
}

void access_log_writer::append(const access_record& record)
{
    if (!sink_) {
        return;
    }
    formatter_.append(buffer_, record);
    if (buffer_.size() >= flush_threshold) {
        flush();
        if (buffer_.capacity() > 4 * initial_capacity) {
            // One huge request target grew the buffer; do not keep that memory per worker.
            std::string{}.swap(buffer_);
            buffer_.reserve(initial_capacity);
        }
    }
}

void access_log_writer::flush() noexcept
{
    if (!sink_ || buffer_.empty()) {
        return;
    }
    sink_->write(buffer_);
    buffer_.clear();   // keeps the capacity
}

} // namespace stork::proxy
