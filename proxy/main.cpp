// storkd: wiring only (options → configuration → daemon).
#include "config/diagnostic.hpp"
#include "config/storkd_config.hpp"
#include "proxy/storkd.hpp"
#include "proxy/log.hpp"
#include "proxy/options.hpp"

#include <iostream>
#include <string_view>
#include <vector>

int main(int argc, char** argv)
{
    using namespace stork;
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    const auto command = proxy::parse_command_line(args);

    if (std::holds_alternative<proxy::show_help>(command)) {
        std::cout << proxy::help_text();
        return 0;
    }
    if (std::holds_alternative<proxy::show_version>(command)) {
        std::cout << proxy::version_text();
        return 0;
    }
    if (const auto* error = std::get_if<proxy::usage_error>(&command)) {
        std::cerr << "storkd: " << error->message << "\n\n" << proxy::help_text();
        return 2;
    }
    const auto& options = std::get<proxy::run_options>(command);

    std::optional<config::storkd_config> cfg;
    try {
        cfg = config::load_storkd_config(options.config);
    } catch (const config::config_error& e) {
        for (const auto& d : e.diagnostics()) {
            std::cerr << d.to_string() << '\n';
        }
        return 1;
    }
    if (options.check_only) {
        std::cout << "ok\n";
        return 0;
    }
    try {
        proxy::storkd d{std::move(*cfg)};
        return d.run();
    } catch (const std::exception& e) {
        proxy::log_error(std::string{"cannot start: "} + e.what());
        return 1;
    }
}
