#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace stork::config {

// Why a piece of text is not a valid value; written for the person who typed it.
struct invalid {
    std::string why;
};

// The result of a parser that takes text and returns a value or the reason it cannot.
// (GCC 12 has no std::expected, and boost::system::result<T, E> wants E default-constructible
// and not constructible from T.)
template <class T>
class parsed {
public:
    parsed(T value) : v_{std::in_place_index<0>, std::move(value)} {}
    parsed(invalid error) : v_{std::in_place_index<1>, std::move(error)} {}

    explicit operator bool() const noexcept { return v_.index() == 0; }
    const T& operator*() const& { assert(*this); return std::get<0>(v_); }
    T&& operator*() && { assert(*this); return std::get<0>(std::move(v_)); }
    const T* operator->() const { assert(*this); return &std::get<0>(v_); }
    const std::string& error() const { assert(!*this); return std::get<1>(v_).why; }

private:
    std::variant<T, invalid> v_;
};

} // namespace stork::config
