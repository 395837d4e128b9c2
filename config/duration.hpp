#pragma once

#include "config/parsed.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace stork::config {

using duration = std::chrono::milliseconds;

// "500ms", "5s", "10m", "12h", "30d": one non-negative integer and one unit, nothing else
// (no sign, no fraction, no spaces, no unit-less numbers: "5" is refused because seconds
// or milliseconds would be a guess). Overflow is refused, not wrapped.
parsed<duration> parse_duration(std::string_view text);

// The shortest exact spelling in the same syntax: 30d, 90s, 1500ms.
std::string format_duration(duration d);

} // namespace stork::config
