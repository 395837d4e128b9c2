#pragma once

// The access log of the data plane (docs/data-plane.md, "Access log"): one JSON object per
// line. Each worker formats into its own buffer (access_log_writer, no locks) and hands whole
// lines to the shared access_log_sink once the buffer passes 32 KiB or when the worker's 1 s
// timer calls flush(), so a line is never split between two write(2) calls of two workers.

#include "config/storkd_config.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>

namespace stork::proxy {

// What one request leaves in the log. The views need only live until append() returns:
// append copies them into the writer's buffer.
struct access_record {
    std::chrono::system_clock::time_point time;
    unsigned worker = 0;
    boost::asio::ip::tcp::endpoint client;
    std::string_view host;      // as received, may be empty
    std::string_view method;
    std::string_view path;      // request target as received
    unsigned status = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::string_view upstream;  // "" when none, else "ip:port"
    std::string_view rule;      // matched rule host, "" when none
    std::string_view mode;      // "proxy", "redirect", "fallback", "expired", "local", ...
    std::uint64_t duration_us = 0;
};

// Formats records as JSON lines, keys in this order:
//   {"time":"2026-11-21T10:00:00.123456Z","worker":0,"client":"127.0.0.1:53422","host":"...",
//    "method":"GET","path":"/x?y","status":200,"bytes_in":123,"bytes_out":456,
//    "upstream":"10.0.0.5:80","rule":"my-app.example.com","mode":"proxy","duration_us":345}
// Host and path come from the client, so every string is escaped such that the line is valid
// JSON (RFC 8259) and valid UTF-8 (RFC 3629) whatever the bytes: '"' and '\' get a backslash,
// control bytes (and DEL) become \u00XX, and each byte that is not part of a well-formed UTF-8
// sequence (stray continuation, overlong form, surrogate, > U+10FFFF, truncated) becomes
// \u00XX of that byte. Well-formed multibyte sequences pass through unchanged.
// Keeps the "YYYY-MM-DDTHH:MM:SS." prefix of the last second it formatted, hence a class.
class access_line_formatter {
public:
    // Appends one line, '\n' included.
    void append(std::string& out, const access_record& record);

private:
    char* put_time(char* p, std::chrono::system_clock::time_point time) noexcept;

    std::int64_t cached_second_ = INT64_MIN;
    char prefix_[20] = {};      // "YYYY-MM-DDTHH:MM:SS."
};

// Appends `s` as a JSON string, quotes included (the escaping described above).
void append_json_string(std::string& out, std::string_view s);

// "1.2.3.4:80", "[::1]:80", "[fe80::1%2]:80" (numeric scope id).
void append_endpoint(std::string& out, const boost::asio::ip::tcp::endpoint& endpoint);

// The descriptor every worker writes to. Thread-safe.
class access_log_sink {
public:
    // kind::off → nullptr (a writer with no sink is disabled); kind::stdout_stream → fd 1,
    // never closed; kind::file → the file opened O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC, mode
    // 0640. Throws std::system_error naming the path when the file cannot be opened.
    static std::shared_ptr<access_log_sink> open(const config::access_log_config& config);

    ~access_log_sink();
    access_log_sink(const access_log_sink&) = delete;
    access_log_sink& operator=(const access_log_sink&) = delete;

    // Writes whole lines with write(2), retrying on EINTR and after partial writes. Never
    // throws: on an error the rest of the data is dropped and write_errors() counts it.
    void write(std::string_view whole_lines) noexcept;

    // For SIGHUP after logrotate renamed the file: opens the path again and puts the new file
    // on the same descriptor number (dup3), so writers never see a closed descriptor. Lines
    // written before land in the renamed file, lines after in the new one. On failure the
    // old file stays in use and the error is returned. No-op for stdout.
    [[nodiscard]] std::error_code reopen() noexcept;

    const std::filesystem::path& path() const noexcept { return path_; }   // empty for stdout

    // For metrics. lines_written counts lines that reached the kernel whole.
    std::uint64_t lines_written() const noexcept { return lines_written_.load(std::memory_order_relaxed); }
    std::uint64_t write_errors() const noexcept { return write_errors_.load(std::memory_order_relaxed); }

private:
    access_log_sink(int fd, bool owned, std::filesystem::path path) noexcept;

    const int fd_;              // the number stays; reopen() swaps the file behind it
    const bool owned_;          // false for stdout
    const std::filesystem::path path_;
    // O_APPEND makes each write(2) to a regular file land whole, but a pipe or socket on stdout
    // (journald) may take part of a buffer over PIPE_BUF, and a retried partial write could
    // interleave with another worker's. The lock costs one acquisition per 32 KiB.
    std::mutex write_mutex_;
    std::atomic<std::uint64_t> lines_written_{0};
    std::atomic<std::uint64_t> write_errors_{0};
};

// One per worker, used only from its thread. With no sink (access log off) every call is a
// no-op, so the worker need not check.
class access_log_writer {
public:
    static constexpr std::size_t flush_threshold = 32 * 1024;
    static constexpr std::size_t initial_capacity = 64 * 1024;

    explicit access_log_writer(std::shared_ptr<access_log_sink> sink);
    ~access_log_writer();                    // flushes
    access_log_writer(access_log_writer&&) noexcept = default;
    access_log_writer& operator=(access_log_writer&&) = delete;

    bool enabled() const noexcept { return sink_ != nullptr; }

    // Formats one line into the buffer; writes the buffer once it passes flush_threshold.
    void append(const access_record& record);

    // Writes what is buffered. The worker calls it from a 1 s timer and at shutdown.
    void flush() noexcept;

    std::size_t buffered_bytes() const noexcept { return buffer_.size(); }

private:
    std::shared_ptr<access_log_sink> sink_;
    std::string buffer_;
    access_line_formatter formatter_;
};

} // namespace stork::proxy
