// Fuzz target: the stored JSON codecs of migrate/app_json.hpp (the local driver's app
// document and table counts, the migration's formation snapshot). Every input goes
// through all three: each ends in a value or an app_json_error with a short message,
// never a crash or another exception; what is accepted survives writing and reading
// again unchanged, and its written form is a fixed point.
#include "migrate/app_json.hpp"

#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

using stork::fuzz::require;

namespace {

using namespace stork::migrate;

// A message names what is wrong and quotes at most a short piece of the input: a
// damaged record of megabytes must not become a log line of megabytes.
void require_short(const app_json_error& e)
{
    const std::size_t length = std::strlen(e.what());
    require(length > 0 && length < 256);
}

void app_document(std::string_view text)
{
    // Members outside the document must survive a read, failed or not.
    app a;
    a.id = "app-fuzz";
    a.addons = {addon{.id = "ad-1", .provider = "redis", .plan = {}, .version = {}, .url = {}}};
    const app before = a;
    try {
        app_document_from_json(text, a);
    } catch (const app_json_error& e) {
        require_short(e);
        require(a == before);
        return;
    }
    require(a.id == before.id && a.addons == before.addons);
    const std::string written = app_document_to_json(a);
    app again = before;
    app_document_from_json(written, again);
    require(again == a);
    require(app_document_to_json(again) == written);
}

void formation(std::string_view text)
{
    std::vector<formation_type> f;
    try {
        f = formation_from_json(text);
    } catch (const app_json_error& e) {
        require_short(e);
        return;
    }
    const std::string written = formation_to_json(f);
    require(formation_from_json(written) == f);
    require(formation_to_json(formation_from_json(written)) == written);
}

void table_counts(std::string_view text)
{
    std::map<std::string, std::int64_t> t;
    try {
        t = table_counts_from_json(text);
    } catch (const app_json_error& e) {
        require_short(e);
        return;
    }
    const std::string written = table_counts_to_json(t);
    require(table_counts_from_json(written) == t);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text{reinterpret_cast<const char*>(data), size};
    app_document(text);
    formation(text);
    table_counts(text);
    return 0;
}
