#include "routing/host.hpp"

namespace stork::routing {

std::string_view describe(host_error e) noexcept
{
    switch (e) {
    case host_error::none:
        return "valid";
    case host_error::empty:
        return "empty host name";
    case host_error::too_long:
        return "host name longer than 253 bytes";
    case host_error::empty_label:
        return "host name with an empty label";
    case host_error::label_too_long:
        return "host name with a label longer than 63 bytes";
    case host_error::bad_byte:
        return "host name with a byte outside letters, digits, '-' and '.'";
    case host_error::bad_wildcard:
        return "'*' is only allowed as the whole first label (\"*.example.com\")";
    case host_error::bad_port:
        return "host name followed by a port that is not a number";
    }
    return "invalid host name";
}

namespace {

// One table lookup per byte: 0 refused, 1 kept as is, else the lower-case form.
constexpr std::array<char, 256> make_fold()
{
    std::array<char, 256> t{};
    for (int c = 'a'; c <= 'z'; ++c) {
        t[c] = static_cast<char>(c);
    }
    for (int c = 'A'; c <= 'Z'; ++c) {
        t[c] = static_cast<char>(c - 'A' + 'a');
    }
    for (int c = '0'; c <= '9'; ++c) {
        t[c] = static_cast<char>(c);
    }
    t['-'] = '-';
    t['.'] = '.';
    t['*'] = '*';
    return t;
}

constexpr std::array<char, 256> fold = make_fold();

normalised_host fail(host_error e) noexcept
{
    return normalised_host{{}, e};
}

} // namespace

normalised_host normalise_host(std::string_view raw, host_kind kind, host_buffer& buffer) noexcept
{
    // The port: the last ':' and digits after it. A name never holds a ':', so any colon
    // that is not followed by digits only is an error, not part of the name.
    if (const std::size_t colon = raw.find(':'); colon != std::string_view::npos) {
        const std::string_view port = raw.substr(colon + 1);
        if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) {
            return fail(host_error::bad_port);
        }
        raw = raw.substr(0, colon);
    }
    if (!raw.empty() && raw.back() == '.') {
        raw.remove_suffix(1);
    }
    if (raw.empty()) {
        return fail(host_error::empty);
    }
    if (raw.size() > 253) {
        return fail(host_error::too_long);
    }

    std::size_t label_start = 0;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const char c = fold[static_cast<unsigned char>(raw[i])];
        if (c == 0) {
            return fail(host_error::bad_byte);
        }
        if (c == '*') {
            // "*" alone as the first label, followed by a dot and more.
            const bool whole_first_label = i == 0 && raw.size() > 2 && raw[1] == '.';
            if (kind != host_kind::rule || !whole_first_label) {
                return fail(kind == host_kind::rule ? host_error::bad_wildcard : host_error::bad_byte);
            }
        }
        if (c == '.') {
            if (i == label_start) {
                return fail(host_error::empty_label);
            }
            if (i - label_start > 63) {
                return fail(host_error::label_too_long);
            }
            label_start = i + 1;
        }
        buffer[i] = c;
    }
    if (label_start == raw.size()) {
        return fail(host_error::empty_label); // "a.." became "a." after the one dot we strip
    }
    if (raw.size() - label_start > 63) {
        return fail(host_error::label_too_long);
    }
    return normalised_host{std::string_view{buffer.data(), raw.size()}, host_error::none};
}

} // namespace stork::routing
