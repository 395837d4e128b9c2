#pragma once

#include <string>

namespace stork::migrate {

// A random (version 4, RFC 9562 §5.4) UUID in its lowercase 8-4-4-4-12 text form.
// The 122 random bits come from the kernel (getrandom(2)), not from a seeded PRNG:
// IDs made by two processes started at the same moment must not collide.
// Throws std::system_error when the kernel has no randomness to give.
std::string new_uuid_v4();

} // namespace stork::migrate
