#include "proxy/options.hpp"

#include "stork/version.hpp"

namespace stork::proxy {

command_line parse_command_line(std::span<const std::string_view> args)
{
    run_options run;
    bool config_seen = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (arg == "--help" || arg == "-h") {
            return show_help{};
        }
        if (arg == "--version") {
            return show_version{};
        }
        if (arg == "--check") {
            run.check_only = true;
            continue;
        }
        if (arg == "--config" || arg.starts_with("--config=")) {
            if (config_seen) {
                return usage_error{"--config is given twice"};
            }
            config_seen = true;
            std::string_view value;
            if (arg == "--config") {
                if (i + 1 == args.size()) {
                    return usage_error{"--config needs a file"};
                }
                value = args[++i];
            } else {
                value = arg.substr(std::string_view{"--config="}.size());
            }
            if (value.empty()) {
                return usage_error{"--config needs a file"};
            }
            run.config = std::string{value};
            continue;
        }
        return usage_error{"unknown argument \"" + std::string{arg} + "\""};
    }
    return run;
}

std::string help_text()
{
    return std::string{"usage: storkd [--config FILE] [--check]\n"
                       "       storkd --version | --help\n"
                       "\n"
                       "storkd carries the traffic of applications migrated to another region until\n"
                       "their DNS points there, and sends everything else to the local router.\n"
                       "\n"
                       "  --config FILE   the configuration (default "} +
           default_config_path +
           ")\n"
           "  --check         validate the configuration: print \"ok\" and exit 0, or print\n"
           "                  every error (file:line:col: key: message) and exit 1\n"
           "  --version       print the version and exit\n"
           "  --help          print this help and exit\n"
           "\n"
           "Signals: SIGHUP reloads the configuration (a broken one is refused and the\n"
           "running one kept); SIGTERM and SIGINT stop cleanly with exit status 0.\n";
}

std::string version_text()
{
    return std::string{"storkd "} + stork::version + " (" + stork::commit + ")\n";
}

} // namespace stork::proxy
