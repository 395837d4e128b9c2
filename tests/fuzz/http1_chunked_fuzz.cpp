// Fuzz target: the chunked-body scanner, with its promises checked on every input: it
// consumes everything it is given unless the body ends or is bad, it never consumes past
// the end of the body, the payload it counts fits in what it consumed, and the input split
// at any point (or fed byte by byte) scans exactly as in one piece; decode() steps exactly
// as scan() does and its payload is the consumed bytes minus their framing.
#include "http1/message.hpp"

#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using stork::fuzz::require;

namespace {

using namespace stork::http1;

struct result {
    std::size_t consumed = 0;
    bool done = false;
    error failure = error::none;
    std::uint64_t data = 0;

    bool operator==(const result&) const = default;
};

// Offers `in` in reads ending at `cuts` (then at its end), as a connection would: what a
// read does not consume is offered again with the next one.
template <typename Cuts>
result scan_in_reads(std::string_view in, const limits& l, Cuts next_cut)
{
    chunked_scanner s{l};
    result r;
    std::size_t end = 0;
    while (end < in.size() || end == 0) {
        end = next_cut(end);
        const auto step = s.scan(in.substr(r.consumed, end - r.consumed));
        require(step.consumed <= end - r.consumed);
        if (!step.done && step.failure == error::none) {
            require(step.consumed == end - r.consumed);
        }
        r.consumed += step.consumed;
        r.done = step.done;
        r.failure = step.failure;
        if (r.done || r.failure != error::none || end >= in.size()) {
            break;
        }
    }
    require(!(r.done && r.failure != error::none));
    r.data = s.data_bytes();
    require(r.data <= r.consumed);
    return r;
}

// decode() against scan() on the same input in one piece: the same steps, and a payload of
// exactly data_bytes() bytes, each of them found in the input in order.
void decode_matches_scan(std::string_view in, const limits& l)
{
    chunked_scanner scanner{l};
    chunked_scanner decoder{l};
    std::string payload;
    const auto a = scanner.scan(in);
    const auto b = decoder.decode(in, payload);
    require(a.consumed == b.consumed && a.done == b.done && a.failure == b.failure);
    require(payload.size() == decoder.data_bytes() && decoder.data_bytes() == scanner.data_bytes());
    std::size_t at = 0;
    for (const char c : payload) {
        at = in.find(c, at);
        require(at != std::string_view::npos && at < b.consumed);
        ++at;
    }
}

void run(std::string_view in, const limits& l)
{
    decode_matches_scan(in, l);
    const result whole = scan_in_reads(in, l, [&](std::size_t) { return in.size(); });
    if (whole.done) {
        // The body alone scans the same: nothing after it mattered.
        const std::string_view body = in.substr(0, whole.consumed);
        require(body.size() >= 5 && body.substr(body.size() - 2) == "\r\n");
        require(scan_in_reads(body, l, [&](std::size_t) { return body.size(); }) == whole);
    }
    const std::size_t splits = in.size() <= 256 ? in.size() : 256;
    for (std::size_t i = 0; i <= splits; ++i) {
        const std::size_t split = in.size() <= 256 ? i : i * in.size() / 256;
        const result two = scan_in_reads(in, l, [&](std::size_t end) { return end < split ? split : in.size(); });
        require(two == whole);
    }
    const result trickle = scan_in_reads(in, l, [&](std::size_t end) { return end < in.size() ? end + 1 : end; });
    require(trickle == whole);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view in{reinterpret_cast<const char*>(data), size};
    run(in, limits{});
    run(in, limits{.max_head_bytes = 32, .max_headers = 4});
    return 0;
}
