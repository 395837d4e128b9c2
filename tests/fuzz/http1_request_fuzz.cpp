// Fuzz target: the request head parser, with its promises checked on every input: a
// complete head lies inside the input and within the limits, its views point into the
// input, and the answer does not depend on how the bytes were split into reads (a
// complete or failed answer on a prefix is the answer on the whole).
#include "http1/message.hpp"

#include "tests/fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using stork::fuzz::require;

namespace {

using namespace stork::http1;

bool inside(std::string_view part, std::string_view whole)
{
    return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void check_head(const request_head& h, std::string_view in, const limits& l)
{
    require(h.head_bytes <= in.size() && h.head_bytes <= l.max_head_bytes);
    const std::string_view head = in.substr(0, h.head_bytes);
    require(head.size() >= 4 && head.substr(head.size() - 4) == "\r\n\r\n");
    require(!h.method.empty() && inside(h.method, head));
    require(!h.target.empty() && inside(h.target, head));
    require(inside(h.host, head));
    require(h.minor <= 1 && (h.minor == 0 || !h.host.empty()));
    require(h.headers.size() <= l.max_headers);
    for (const header& f : h.headers) {
        require(!f.name.empty() && inside(f.name, head) && inside(f.value, head));
        for (const char c : f.value) {
            require(c != '\r' && c != '\n' && c != '\0');
        }
    }
    require(h.framing != body_framing::until_close);
    require(h.framing == body_framing::length ? h.content_length > 0 : h.content_length == 0);
}

bool same(const request_head& a, const request_head& b)
{
    return a.method == b.method && a.target == b.target && a.minor == b.minor && a.host == b.host
        && a.framing == b.framing && a.content_length == b.content_length && a.keep_alive == b.keep_alive
        && a.expect_continue == b.expect_continue && a.upgrade == b.upgrade && a.head_bytes == b.head_bytes
        && a.headers.size() == b.headers.size();
}

void run(std::string_view in, const limits& l, std::size_t split)
{
    request_parser whole{l};
    const parse_state s = whole.parse(in);
    if (s == parse_state::complete) {
        check_head(whole.head(), in, l);
        // The head alone parses the same: nothing after it mattered.
        request_parser alone{l};
        require(alone.parse(in.substr(0, whole.head().head_bytes)) == parse_state::complete);
        require(same(alone.head(), whole.head()));
    } else if (s == parse_state::failed) {
        require(whole.failure() != error::none);
    } else {
        require(in.size() <= l.max_head_bytes);
    }

    // In two reads.
    request_parser two{l};
    const parse_state first = two.parse(in.substr(0, split));
    const parse_state second = first == parse_state::incomplete ? two.parse(in) : first;
    if (second == parse_state::complete) {
        require(s == parse_state::complete && same(two.head(), whole.head()));
    } else if (second == parse_state::failed) {
        require(s == parse_state::failed && two.failure() == whole.failure());
    }
    if (s == parse_state::complete) {
        require(second == parse_state::complete);
    }

    // Byte by byte, for inputs short enough.
    if (in.size() <= 1024) {
        request_parser trickle{l};
        parse_state t = parse_state::incomplete;
        for (std::size_t n = 0; n <= in.size() && t == parse_state::incomplete; ++n) {
            t = trickle.parse(in.substr(0, n));
        }
        if (t == parse_state::complete) {
            require(s == parse_state::complete && same(trickle.head(), whole.head()));
        } else if (t == parse_state::failed) {
            require(s == parse_state::failed && trickle.failure() == whole.failure());
        }
        if (s == parse_state::complete) {
            require(t == parse_state::complete);
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view in{reinterpret_cast<const char*>(data), size};
    const std::size_t split = size == 0 ? 0 : data[0] % (size + 1);
    run(in, limits{}, split);
    run(in, limits{.max_head_bytes = 128, .max_headers = 4}, split);
    return 0;
}
