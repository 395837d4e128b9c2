// stork: wiring only (argv -> parser -> the command's family).
#include "control/cli.hpp"
#include "control/dispatch.hpp"

#include <exception>
#include <iostream>
#include <string_view>
#include <vector>

int main(int argc, char** argv)
{
    using namespace stork::control;
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    const parse_outcome outcome = parse_command_line(args);

    if (const auto* help = std::get_if<help_request>(&outcome)) {
        std::cout << help->text;
        return exit_ok;
    }
    if (const auto* version = std::get_if<version_request>(&outcome)) {
        std::cout << version->text;
        return exit_ok;
    }
    if (const auto* error = std::get_if<usage_error>(&outcome)) {
        std::cerr << "stork: " << error->message << "\n" << error->usage;
        return exit_error;
    }
    try {
        return run_command(std::get<command>(outcome));
    } catch (const std::exception& e) {
        // Start-up and I/O failures of a command arrive as exceptions (style.md "Errors").
        std::cerr << "stork: " << e.what() << "\n";
        return exit_error;
    }
}
