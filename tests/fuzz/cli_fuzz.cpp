// Fuzz target: the stork command-line parser. The input is split at NUL bytes into
// arguments; any argv must end in a command, a help or version text, or a usage error
// with a message, never a crash or an exception.
#include "control/cli.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input{reinterpret_cast<const char*>(data), size};
    std::vector<std::string_view> args;
    std::size_t start = 0;
    while (start <= input.size() && args.size() < 64) {
        const std::size_t end = input.find('\0', start);
        args.push_back(input.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) {
            break;
        }
        start = end + 1;
    }
    const auto outcome = stork::control::parse_command_line(args);
    if (const auto* error = std::get_if<stork::control::usage_error>(&outcome)) {
        if (error->message.empty() || error->message.find('\n') != std::string::npos) {
            std::abort(); // a usage error is one line that says what is wrong
        }
    }
    return 0;
}
