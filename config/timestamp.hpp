#pragma once

#include "config/parsed.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace stork::config {

// An RFC 3339 §5.6 date-time: "2026-12-20T10:00:00Z", "2026-12-20T12:00:00+02:00",
// "2026-12-20T10:00:00.5Z". The offset is applied, so the result is UTC; a fraction of a
// second is dropped (rule expiry is kept to the second). Leap seconds (":60") are refused:
// system_clock cannot represent them.
parsed<std::chrono::sys_seconds> parse_rfc3339(std::string_view text);

// "2026-12-20T10:00:00Z": the form the admin API stores (design.md §2).
std::string format_rfc3339(std::chrono::sys_seconds t);

} // namespace stork::config
