#pragma once

#include "http2/nghttp2_handles.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// An in-process HTTP/2 client over nghttp2's memory API, for driving server_connection
// without sockets: submit requests, take the bytes it would write, feed it the bytes the
// server produced, and read what it recorded. nghttp2 does not validate what a client
// sends, so malformed requests are just a list of fields.
namespace stork::http2::testing {

using field_list = std::vector<std::pair<std::string, std::string>>;

struct client_options {
    std::vector<nghttp2_settings_entry> settings;  // sent after the preface
    bool manual_window = false;                    // no automatic WINDOW_UPDATE: call consume()
    std::uint32_t assumed_server_streams = 100;    // concurrent streams before the server's SETTINGS
};

struct response {
    std::vector<unsigned> statuses;  // interim ones first
    field_list fields;               // of the final head, pseudo-fields left out
    std::string body;
    bool closed = false;
    std::uint32_t error_code = 0;    // of on_stream_close (RST_STREAM code or NO_ERROR)
};

struct goaway {
    std::int32_t last_stream_id = 0;
    std::uint32_t error_code = 0;
    std::string debug;
};

class test_client {
public:
    explicit test_client(const client_options& o = {});

    // Submits a request with these fields (pseudo-fields included, in order). Without a body
    // the HEADERS frame ends the stream; with one, DATA follows within the server's windows.
    // `trailers`, if any, follow the body in a HEADERS frame that ends the stream.
    std::int32_t request(const field_list& fields, std::optional<std::string> body = std::nullopt,
                         const field_list& trailers = {});
    // A GET of `path` on example.com over https.
    std::int32_t get(std::string_view path = "/");

    // Everything the client wants to write now.
    std::string take_output();
    // Feeds bytes the server produced; returns nghttp2_session_mem_recv's result.
    long feed(std::string_view bytes);

    // Gives `n` bytes of stream `id` (and of the connection) back to the server (manual_window).
    void consume(std::int32_t id, std::size_t n);

    nghttp2_session* session() { return session_.get(); }

    std::map<std::int32_t, response> responses;
    std::vector<goaway> goaways;
    std::size_t body_received = 0;     // DATA bytes received over all streams

private:
    struct body_source {
        std::string data;
        std::size_t offset = 0;
        field_list trailers;
    };
    struct callbacks;

    session_ptr session_;
    std::deque<body_source> bodies_;
};

} // namespace stork::http2::testing
