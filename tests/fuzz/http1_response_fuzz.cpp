// Fuzz target: the response head parser, with its promises checked on every input: a
// complete head lies inside the input and within the limits, its views point into the
// input, 1xx/204/304 and HEAD answers have no body, and the answer does not depend on how
// the bytes were split into reads.
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

void check_head(const response_head& h, std::string_view in, const limits& l, bool head_request)
{
    require(h.head_bytes <= in.size() && h.head_bytes <= l.max_head_bytes);
    const std::string_view head = in.substr(0, h.head_bytes);
    require(head.size() >= 4 && head.substr(head.size() - 4) == "\r\n\r\n");
    require(h.status >= 100 && h.status <= 999 && h.minor <= 1);
    require(inside(h.reason, head));
    require(h.headers.size() <= l.max_headers);
    for (const header& f : h.headers) {
        require(!f.name.empty() && inside(f.name, head) && inside(f.value, head));
    }
    if (head_request || h.status < 200 || h.status == 204 || h.status == 304) {
        require(h.framing == body_framing::none);
    }
    require(h.framing == body_framing::length ? h.content_length > 0 : h.content_length == 0);
}

bool same(const response_head& a, const response_head& b)
{
    return a.minor == b.minor && a.status == b.status && a.reason == b.reason && a.framing == b.framing
        && a.content_length == b.content_length && a.keep_alive == b.keep_alive && a.head_bytes == b.head_bytes
        && a.headers.size() == b.headers.size();
}

void run(std::string_view in, const limits& l, std::size_t split, bool head_request)
{
    response_parser whole{l};
    const parse_state s = whole.parse(in, head_request);
    if (s == parse_state::complete) {
        check_head(whole.head(), in, l, head_request);
        response_parser alone{l};
        require(alone.parse(in.substr(0, whole.head().head_bytes), head_request) == parse_state::complete);
        require(same(alone.head(), whole.head()));
    } else if (s == parse_state::failed) {
        require(whole.failure() != error::none);
    } else {
        require(in.size() <= l.max_head_bytes);
    }

    response_parser two{l};
    const parse_state first = two.parse(in.substr(0, split), head_request);
    const parse_state second = first == parse_state::incomplete ? two.parse(in, head_request) : first;
    if (second == parse_state::complete) {
        require(s == parse_state::complete && same(two.head(), whole.head()));
    } else if (second == parse_state::failed) {
        require(s == parse_state::failed && two.failure() == whole.failure());
    }
    if (s == parse_state::complete) {
        require(second == parse_state::complete);
    }

    if (in.size() <= 1024) {
        response_parser trickle{l};
        parse_state t = parse_state::incomplete;
        for (std::size_t n = 0; n <= in.size() && t == parse_state::incomplete; ++n) {
            t = trickle.parse(in.substr(0, n), head_request);
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
    const bool head_request = size > 0 && (data[size - 1] & 1) != 0;
    run(in, limits{}, split, head_request);
    run(in, limits{.max_head_bytes = 128, .max_headers = 4}, split, !head_request);
    return 0;
}
