#pragma once

#include <string_view>

namespace stork::proxy {

// storkd's operational log (the access log is separate). One line per event on stderr.
// Under systemd (JOURNAL_STREAM names our stderr) each line starts with the sd-daemon
// priority prefix "<N>" and journald adds the time; elsewhere it starts with a UTC time
// and the level. Lines are written whole by one write(2); safe from any thread.
enum class log_level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

void log(log_level level, std::string_view message);

inline void log_error(std::string_view m) { log(log_level::error, m); }
inline void log_warning(std::string_view m) { log(log_level::warning, m); }
inline void log_notice(std::string_view m) { log(log_level::notice, m); }
inline void log_info(std::string_view m) { log(log_level::info, m); }

} // namespace stork::proxy
