#include "tls/load_error.hpp"

namespace stork::tls {

std::string to_string(const load_error& e)
{
    return e.file.string() + ": " + e.why;
}

} // namespace stork::tls
