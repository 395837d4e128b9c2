// Fuzz target: the ClientHello reader for passthrough (tls/client_hello.hpp), with its
// promises checked on every input: no read outside the input (ASan), a complete hello
// covers at most the input and its server_name lies inside the input or the scratch
// buffer, the hello's own bytes parse the same without what follows, and every prefix
// parses incomplete or exactly as the whole (a prefix never decides differently).
#include "tls/client_hello.hpp"

#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using stork::fuzz::require;

namespace {

using namespace stork::tls;

struct result {
    hello_state state = hello_state::failed;
    hello_error error = hello_error::none;
    std::string server_name;
    bool has_alpn = false;
    std::size_t bytes = 0;

    bool operator==(const result&) const = default;
};

bool inside(std::string_view part, std::string_view whole)
{
    // As integers: comparing pointers into different objects is unspecified.
    const auto p = reinterpret_cast<std::uintptr_t>(part.data());
    const auto w = reinterpret_cast<std::uintptr_t>(whole.data());
    return p >= w && p + part.size() <= w + whole.size();
}

result parse(std::string_view in, std::string& scratch)
{
    client_hello out;
    hello_error error = hello_error::none;
    result r;
    r.state = parse_client_hello(in, scratch, out, error);
    r.error = error;
    if (r.state == hello_state::failed) {
        require(error != hello_error::none);
    } else {
        require(error == hello_error::none);
    }
    if (r.state == hello_state::complete) {
        require(out.bytes >= 9 && out.bytes <= in.size());
        require(out.bytes <= max_hello_bytes);
        require(out.server_name.empty() || inside(out.server_name, in) || inside(out.server_name, scratch));
        require(!describe(error).empty());
    } else {
        require(out.bytes == 0 && out.server_name.empty() && !out.has_alpn);
    }
    r.server_name = std::string{out.server_name};
    r.has_alpn = out.has_alpn;
    r.bytes = out.bytes;
    return r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view in{reinterpret_cast<const char*>(data), size};
    std::string scratch;
    const result whole = parse(in, scratch);

    // A scratch buffer left over from another hello changes nothing.
    std::string used = "a scratch buffer that held an earlier ClientHello";
    require(parse(in, used) == whole);

    if (whole.state == hello_state::complete) {
        std::string s;
        require(parse(in.substr(0, whole.bytes), s) == whole);
    }

    const std::size_t steps = size <= 512 ? size : 512;
    for (std::size_t i = 0; i < steps; ++i) {
        const std::size_t n = size <= 512 ? i : i * size / 512;
        const result prefix = parse(in.substr(0, n), scratch);  // scratch reused, as a session would
        require(prefix.state == hello_state::incomplete || prefix == whole);
    }
    return 0;
}
