#pragma once

#include "control/rule_json.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <string>
#include <vector>

// How `stork rules` shows rules to people. Pure functions of the rules and of `now`,
// which the caller passes so that "29d 4h" is testable (style.md: injected clocks).
// Everything that came from the server goes through config::printable: a host or a
// label cannot break a line or drive the terminal.
namespace stork::control {

// A span of time in at most two units, the second dropped when zero: "29d 4h", "30d",
// "5h 12m", "12m", "<1m" (under a minute, or negative).
std::string format_span(std::chrono::seconds span);

// The EXPIRES cell of a rule: "29d 4h" left, "expired 3d ago", "expired just now";
// "expired" alone when the server says expired but `now` is still before expires_at
// (the server's clock decides, design.md §3); "-" without an expiry.
std::string format_expiry(const rule_row& row, std::chrono::sys_seconds now);

// An aligned table, one rule per line, sorted by host (case-insensitive):
//   HOST  TARGET  MODE  EXPIRES  APP
// Columns are two spaces apart; no line ends in spaces.
std::string format_rules_table(std::vector<rule_row> rows, std::chrono::sys_seconds now);

// One rule as aligned "key: value" lines, the fields of design.md §2 in its order, then
// any field this stork does not know; expires_at carries the time left.
std::string format_rule_details(const boost::json::object& rule, std::chrono::sys_seconds now);

} // namespace stork::control
