// Fuzz target: the storkd configuration loader. Any input must end in a configuration or
// a config_error, never a crash, a hang or another exception.
#include "config/diagnostic.hpp"
#include "config/storkd_config.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text{reinterpret_cast<const char*>(data), size};
    try {
        // check_files off: the fuzzer must not probe the file system with random paths.
        stork::config::parse_storkd_config(text, "fuzz.yaml", {.check_files = false, .cpu_count = 2});
    } catch (const stork::config::config_error&) {
        // Refused with diagnostics: the expected outcome for most inputs.
    }
    return 0;
}
