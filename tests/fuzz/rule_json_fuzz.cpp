// Fuzz target: the rule JSON decoders (API requests and stored records). Any body ends in
// a rule or a field error; a decoded rule survives the stored form unchanged.
#include "routing/rule.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace stork::routing;
    const std::string_view body{reinterpret_cast<const char*>(data), size};
    const request_context context{"my-app.example.com", time_point{std::chrono::seconds{1'800'000'000}},
                                  std::chrono::days{30}};
    auto decoded = rule_from_request(body, context);
    if (auto* r = std::get_if<rule>(&decoded)) {
        r->created_at = context.now;
        r->updated_at = context.now;
        const auto back = rule_from_stored(to_stored_json(*r));
        if (!std::holds_alternative<rule>(back) || std::get<rule>(back) != *r) {
            std::abort();
        }
    }
    (void)rule_from_stored(body);
    return 0;
}
