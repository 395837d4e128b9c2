// storkd: wiring only (options → configuration → daemon).
#include "config/diagnostic.hpp"
#include "config/storkd_config.hpp"
#include "proxy/storkd.hpp"
#include "proxy/log.hpp"
#include "proxy/options.hpp"

#include <malloc.h>

#include <iostream>
#include <string_view>
#include <vector>

int main(int argc, char** argv)
{
    // Every TLS connection allocates and frees some 40 KiB (the SSL object, its record
    // buffers). With glibc's defaults a worker thread's heap gives that memory back to the
    // kernel and asks for it again (mprotect, then a page fault per 4 KiB) at nearly every
    // connection; seen with strace under scenario g. Keep what was grown instead: grow by
    // 4 MiB at a time and trim only above 64 MiB free at the top.
    mallopt(M_TOP_PAD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
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
