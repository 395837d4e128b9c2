// Fuzz target: the local driver's inventory loader (stork platform import FILE). Any
// input must end in an inventory or a config_error, never a crash, a hang or another
// exception; what is accepted keeps the promises of inventory.hpp.
#include "config/diagnostic.hpp"
#include "config/inventory.hpp"

#include "tests/fuzz/fuzz_check.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string_view>

using stork::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace stork::config;
    const std::string_view text{reinterpret_cast<const char*>(data), size};
    try {
        const inventory inv = parse_inventory(text, "fuzz.yaml");
        std::set<std::string> domains;
        for (const inventory_app& app : inv.apps) {
            require(static_cast<bool>(parse_app_name(app.name)));
            for (const app_domain& d : app.domains) {
                require(domains.insert(d.name).second); // a domain belongs to one app
            }
            for (const app_alert& alert : app.alerts) {
                for (const std::string& n : alert.notifiers) {
                    require(std::any_of(app.notifiers.begin(), app.notifiers.end(),
                                        [&](const app_notifier& k) { return k.name == n; }));
                }
            }
            for (const app_addon& addon : app.addons) {
                require(addon.provider != "postgresql" || !addon.url.empty());
            }
        }
        require(parse_inventory(text, "fuzz.yaml") == inv);
    } catch (const config_error& e) {
        require(!e.diagnostics().empty());
    }
    return 0;
}
