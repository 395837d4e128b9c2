#include "proxy/log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

namespace stork::proxy {

namespace {

// systemd sets JOURNAL_STREAM=<device>:<inode> of the stream it connected to stderr;
// it may have been inherited by a process whose stderr goes elsewhere, so compare.
bool stderr_is_journal()
{
    const char* v = std::getenv("JOURNAL_STREAM");
    if (v == nullptr) {
        return false;
    }
    struct stat st{};
    if (fstat(STDERR_FILENO, &st) != 0) {
        return false;
    }
    unsigned long long dev = 0;
    unsigned long long ino = 0;
    if (std::sscanf(v, "%llu:%llu", &dev, &ino) != 2) {
        return false;
    }
    return dev == st.st_dev && ino == st.st_ino;
}

const char* level_name(log_level level)
{
    switch (level) {
    case log_level::error:
        return "error";
    case log_level::warning:
        return "warning";
    case log_level::notice:
        return "notice";
    case log_level::info:
        return "info";
    case log_level::debug:
        return "debug";
    }
    return "?";
}

} // namespace

void log(log_level level, std::string_view message)
{
    static const bool journal = stderr_is_journal();
    std::string line;
    line.reserve(message.size() + 48);
    if (journal) {
        line += '<';
        line += std::to_string(static_cast<int>(level));
        line += '>';
    } else {
        const auto now = std::chrono::system_clock::now();
        const std::time_t t = std::chrono::system_clock::to_time_t(now);
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
        std::tm tm{};
        gmtime_r(&t, &tm);
        char stamp[80];
        std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ", tm.tm_year + 1900, tm.tm_mon + 1,
                      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
        line += stamp;
        line += level_name(level);
        line += ' ';
    }
    line += message;
    line += '\n';
    // One write(2) per line: lines from different threads never interleave.
    std::size_t done = 0;
    while (done < line.size()) {
        const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
        if (n <= 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
}

} // namespace stork::proxy
