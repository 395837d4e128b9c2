// Fuzz target: the small value parsers of config/ (durations, host:port endpoints under
// each rule set, host names), with the properties they promise checked on every input.
#include "config/duration.hpp"
#include "config/endpoint.hpp"
#include "config/host_name.hpp"

#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using stork::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace stork::config;
    const std::string_view text{reinterpret_cast<const char*>(data), size};

    if (const auto d = parse_duration(text)) {
        // Whatever is accepted prints back in a form that parses to the same duration.
        const auto again = parse_duration(format_duration(*d));
        require(again && *again == *d);
        require(d->count() >= 0);
    }

    const endpoint_rules rule_sets[] = {
        {},
        {.require_ip = true, .allow_port_zero = true, .default_port = std::nullopt},
        {.require_ip = true, .allow_port_zero = false, .default_port = 53},
    };
    for (const auto& rules : rule_sets) {
        if (const auto e = parse_endpoint(text, rules)) {
            require(rules.allow_port_zero || e->port != 0);
            require(!rules.require_ip || e->is_ip);
            require(e->is_ip || is_host_name(e->host));
            // The printed form is canonical: it parses to the same endpoint.
            const auto again = parse_endpoint(e->to_string(), rules);
            require(again && *again == *e);
        }
    }

    if (is_host_name(text)) {
        require(!text.empty() && text.size() <= 253 && text.back() != '.');
    }
    return 0;
}
