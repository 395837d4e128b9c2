// Fuzz target: host normalisation, with its promises checked on every input: the result
// is lower-case LDH (and '*' only as a rule's first label), at most 253 bytes, without a
// trailing dot, and normalising it again changes nothing.
#include "routing/host.hpp"

#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using stork::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace stork::routing;
    const std::string_view raw{reinterpret_cast<const char*>(data), size};
    for (const host_kind kind : {host_kind::request, host_kind::rule}) {
        host_buffer buffer;
        const auto n = normalise_host(raw, kind, buffer);
        if (!n) {
            require(n.name.empty());
            continue;
        }
        require(!n.name.empty() && n.name.size() <= 253 && n.name.back() != '.');
        for (std::size_t i = 0; i < n.name.size(); ++i) {
            const char c = n.name[i];
            const bool ldh = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
            require(ldh || (c == '*' && kind == host_kind::rule && i == 0));
        }
        host_buffer again;
        const auto twice = normalise_host(n.name, kind, again);
        require(twice && twice.name == n.name);
    }
    return 0;
}
