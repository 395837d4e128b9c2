#pragma once

#include <nghttp2/nghttp2.h>

#include <memory>

namespace stork::http2 {

// Owning pointers for nghttp2's handles (style.md: an RAII wrapper for every C handle).

struct session_deleter {
    void operator()(nghttp2_session* p) const noexcept { nghttp2_session_del(p); }
};
struct callbacks_deleter {
    void operator()(nghttp2_session_callbacks* p) const noexcept { nghttp2_session_callbacks_del(p); }
};
struct option_deleter {
    void operator()(nghttp2_option* p) const noexcept { nghttp2_option_del(p); }
};

using session_ptr = std::unique_ptr<nghttp2_session, session_deleter>;
using callbacks_ptr = std::unique_ptr<nghttp2_session_callbacks, callbacks_deleter>;
using option_ptr = std::unique_ptr<nghttp2_option, option_deleter>;

} // namespace stork::http2
