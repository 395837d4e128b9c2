#pragma once

#include <boost/system/error_code.hpp>

namespace stork::dnscheck {

// The error category of c-ares statuses (ARES_ENOTFOUND, ARES_ETIMEOUT, ...): the value
// is the c-ares status itself and message() is ares_strerror(), so a logged error_code
// reads "Domain name not found" rather than a bare number.
const boost::system::error_category& ares_category() noexcept;

// ARES_SUCCESS becomes the empty error_code; any other status an error of ares_category().
boost::system::error_code make_ares_error(int status) noexcept;

// Calls ares_library_init(ARES_LIB_INIT_ALL) once per process. c-ares 1.18 says it is
// not thread-safe, so storkd calls this from main() before the workers start; channel's
// constructor calls it too (a C++ function-local static, so the first call wins).
void ensure_ares_library() noexcept;

} // namespace stork::dnscheck
