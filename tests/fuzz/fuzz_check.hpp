#pragma once

#include <cstdlib>

namespace stork::fuzz {

// A property a fuzz target checks on every input: a violation aborts, which libFuzzer
// reports as a crash with the input saved (and the corpus replay reports as a failure).
inline void require(bool property)
{
    if (!property) {
        std::abort();
    }
}

} // namespace stork::fuzz
