#include "dnscheck/ares_error.hpp"

#include <ares.h>

#include <cassert>
#include <string>

namespace stork::dnscheck {
namespace {

// boost::system::error_category's destructor is protected and non-virtual by design
// (categories are never deleted through it); -Wnon-virtual-dtor does not know that.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class ares_error_category final : public boost::system::error_category {
public:
    // A fixed id so that two copies of the category (static libraries linked twice)
    // still compare equal (Boost.System's documented way).
    constexpr ares_error_category() noexcept : boost::system::error_category{0x73746f726b636172ULL} {}

    const char* name() const noexcept override { return "c-ares"; }

    std::string message(int ev) const override { return ares_strerror(ev); }

    char const* message(int ev, char* buffer, std::size_t len) const noexcept override
    {
        // ares_strerror returns a static string for every value (unknown ones included).
        (void)buffer;
        (void)len;
        return ares_strerror(ev);
    }
};
#pragma GCC diagnostic pop

} // namespace

const boost::system::error_category& ares_category() noexcept
{
    static const ares_error_category category;
    return category;
}

boost::system::error_code make_ares_error(int status) noexcept
{
    if (status == ARES_SUCCESS) {
        return {};
    }
    return {status, ares_category()};
}

void ensure_ares_library() noexcept
{
    static const int status = ares_library_init(ARES_LIB_INIT_ALL);
    // Only fails on allocation failure (and WinSock set-up elsewhere): a broken process.
    assert(status == ARES_SUCCESS);
    (void)status;
}

} // namespace stork::dnscheck
