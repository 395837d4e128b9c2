// Fuzz target: the control configuration loader (control.yaml). Any input must end in a
// configuration or a config_error, never a crash, a hang or another exception; an
// accepted configuration parses the same way twice.
#include "config/control_config.hpp"
#include "config/diagnostic.hpp"

#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using stork::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace stork::config;
    const std::string_view text{reinterpret_cast<const char*>(data), size};
    try {
        // check_files off: the fuzzer must not probe the file system with random paths.
        const control_config c = parse_control_config(text, "fuzz.yaml", {.check_files = false});
        require(!c.regions.empty());
        for (const auto& [name, region] : c.regions) {
            require(name == region.name && parse_region_name(name));
        }
        require(parse_control_config(text, "fuzz.yaml", {.check_files = false}) == c);
    } catch (const config_error& e) {
        require(!e.diagnostics().empty());
    }
    return 0;
}
