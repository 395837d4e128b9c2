#pragma once

#include "http2/nghttp2_handles.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// The server side of HTTP/2 as a protocol engine without I/O (tls-design.md §3,
// docs/http2.md): bytes read from the socket go in through receive(), bytes to write come
// out of produce(), and requests come out as calls on a handler. nghttp2 1.52's memory API
// does the framing, HPACK, flow control and most of the validation; this class adds the
// request checks a proxy needs, per-stream response queues with backpressure, and manual
// WINDOW_UPDATE for request bodies.
//
// Not thread-safe: one connection belongs to one worker's io_context (style.md).
namespace stork::http2 {

// Our SETTINGS, and the limits we enforce beyond them.
struct limits {
    // SETTINGS_MAX_CONCURRENT_STREAMS. Streams opened above it are refused with
    // RST_STREAM(REFUSED_STREAM), which tells the client it may retry them (RFC 9113 §5.1.2).
    std::uint32_t max_concurrent_streams = 128;
    // SETTINGS_MAX_HEADER_LIST_SIZE: the sum over a request's fields (pseudo-fields
    // included) of name + value + 32 bytes (RFC 9113 §6.5.2). A request above it is
    // answered 431 without reaching the handler (RFC 9113 §10.5.1).
    std::uint32_t max_header_list_size = 64 * 1024;
    // SETTINGS_INITIAL_WINDOW_SIZE: how many request body bytes a client may send on a
    // stream before consumed() gives it more.
    std::uint32_t initial_window_size = 64 * 1024;
    // The connection's receive window, shared by all request bodies.
    std::uint32_t connection_window_size = 1 << 20;
};

// One field of a request or a response. Names of received fields are lower case (nghttp2
// rejects upper case, RFC 9113 §8.2.1).
struct header_field {
    std::string_view name;
    std::string_view value;
};

// A complete request head. Every view points into the connection's scratch memory and is
// valid only during the handler::on_request call that receives it: copy what outlives it.
struct request {
    std::int32_t stream_id = 0;
    std::string_view method;     // :method (never CONNECT: those streams are refused)
    std::string_view scheme;     // :scheme
    // :authority, or the Host field when :authority is absent (RFC 9113 §8.3.1); empty when
    // both are absent. When both are present they agree (case-insensitively), else the
    // stream was reset with PROTOCOL_ERROR.
    std::string_view authority;
    std::string_view path;       // :path, never empty
    // The regular fields in the order received: lower-case names, no pseudo-fields, cookie
    // crumbs joined into one "cookie" field with "; " (RFC 9113 §8.2.3) placed where the
    // first crumb was. Left out because they are given above or are framing that the
    // proxy writes itself: host (see authority) and content-length (see content_length).
    // nghttp2 has already refused connection-specific fields and a TE other than
    // "trailers" (RFC 9113 §8.2.2).
    std::span<const header_field> fields;
    bool end_stream = false;     // the HEADERS frame ended the stream: no body follows
    std::optional<std::uint64_t> content_length;  // as declared; nghttp2 checks the body against it
};

// What the proxy implements. Calls come from inside receive() and produce() only, never
// from the other members. A handler may call respond(), send_data(), reset(), consumed()
// and shutdown() from inside a call, but never receive() or produce() (nghttp2 forbids
// re-entering the session). An exception thrown by a handler ends the connection
// (receive() or produce() then fails with the exception's text): nothing is thrown across
// nghttp2's C frames.
class handler {
public:
    // A request head arrived on a new stream. `r` and its views die when this returns.
    virtual void on_request(const request& r) = 0;
    // Request body bytes, in order, never empty. They hold the client's flow-control window
    // until consumed() returns them.
    virtual void on_data(std::int32_t stream, std::string_view bytes) = 0;
    // The request body is complete (END_STREAM seen). Not called when the request head
    // already had end_stream. Request trailers are dropped; their END_STREAM still ends here.
    virtual void on_end(std::int32_t stream) = 0;
    // The stream is gone: the response was sent in full and the request ended, or either
    // side reset it (error_code is the RST_STREAM code, NO_ERROR for a normal end). Called
    // exactly once for every stream that had on_request, never for others. After it the id
    // is dead and the other members ignore it. Not called when the connection is destroyed.
    virtual void on_close(std::int32_t stream, std::uint32_t error_code) = 0;

protected:
    ~handler() = default;
};

class server_connection {
public:
    // Queues our SETTINGS (and the connection WINDOW_UPDATE): produce() has bytes to write
    // before anything was received. `h` must outlive the connection.
    server_connection(handler& h, const limits& l);
    ~server_connection();
    server_connection(const server_connection&) = delete;
    server_connection& operator=(const server_connection&) = delete;

    // Feeds bytes read from the socket (starting with the client's connection preface);
    // all are consumed. Returns false when the connection must end: a GOAWAY carrying the
    // error is then queued (produce() it, write it, then close), error() says why, and
    // every later call returns false without reading.
    // One case is reported a step late: a protocol error nghttp2 handles itself (malformed
    // frame, HPACK error, reset or CONTINUATION flood) is queued inside nghttp2 without a
    // trace receive() could see, so receive() returns true; produce() then sends that
    // GOAWAY and sets error(), later receive() calls return false, and want_read() and
    // want_write() are false. A loop on want_read()/want_write() needs nothing more
    // (docs/http2.md, "Errors").
    bool receive(std::string_view bytes);

    // Appends frames ready to go to `out`, stopping once out.size() >= max_bytes. It may
    // pass it by what nghttp2 hands out in one piece: a DATA frame (at most 16 KiB + 9
    // bytes, the client's SETTINGS_MAX_FRAME_SIZE notwithstanding: nghttp2 sends 16 KiB
    // frames) or one response head with its CONTINUATION frames. Response DATA goes out
    // within the client's flow-control windows; what does not fit stays queued. Call it
    // after receive() and after the response calls below, then write `out`.
    void produce(std::string& out, std::size_t max_bytes = 64 * 1024);

    // nghttp2_session_want_read / want_write. When both are false the connection is over
    // (after shutdown() and the last stream, after a GOAWAY from the client and the last
    // stream, or after an error once its GOAWAY went out): close the socket.
    bool want_read() const;
    bool want_write() const;

    // --- the response side ------------------------------------------------------------
    // Each of these ignores a stream id that is closed or unknown: the proxy's upstream may
    // answer after on_close(), and then there is nobody left to answer.

    // Sends the response head: `status` then `fields`. A status outside 100..599, or 101
    // (HTTP/2 has no protocol switch, RFC 9113 §8.6), resets the stream with INTERNAL_ERROR
    // instead: the proxy should have turned such an upstream answer into a 502. Names are
    // lower-cased here, and connection-specific fields (connection, keep-alive, proxy-connection,
    // transfer-encoding, upgrade) are dropped, as RFC 9113 §8.2.2 asks of an intermediary;
    // values must be valid field values (the HTTP/1.1 parser guarantees it). A 1xx other
    // than 101 is an interim response and may precede the final one. Without end_stream,
    // the body follows through send_data().
    void respond(std::int32_t stream, unsigned status, std::span<const header_field> fields, bool end_stream);

    // Appends response body bytes to the stream's queue (copied); `last` ends the stream
    // (bytes may be empty then). Only after respond() without end_stream. produce() sends
    // the queue as the client's windows allow.
    void send_data(std::int32_t stream, std::string_view bytes, bool last);

    // Response body bytes of `stream` queued and not yet framed: the proxy stops reading
    // its upstream above a threshold, and resumes when produce() has drained it.
    std::size_t queued(std::int32_t stream) const;
    // The same summed over the connection's streams: the memory this connection holds for
    // response bodies beyond nghttp2's own frame buffers.
    std::size_t queued() const;

    // Request-body backpressure: WINDOW_UPDATE is not automatic. The proxy calls this once
    // it has forwarded `n` more body bytes of `stream` upstream; nghttp2 sends WINDOW_UPDATE
    // when half a window is consumed. Body bytes never consumed are returned to the
    // connection window when the stream closes.
    void consumed(std::int32_t stream, std::size_t n);

    // RST_STREAM with `error_code` (INTERNAL_ERROR when the upstream failed,
    // REFUSED_STREAM when it was never contacted, CANCEL ...). Drops the stream's queue and
    // stops on_data for it; on_close follows once the frame is sent.
    void reset(std::int32_t stream, std::uint32_t error_code);

    // Graceful drain in two steps (RFC 9113 §6.8): a GOAWAY with the last stream id
    // 2^31-1 and a PING now; when the client answers the PING, every request it sent
    // before seeing the first GOAWAY has arrived, and the final GOAWAY names the last
    // stream we took. Streams up to it finish normally; both want_read() and want_write()
    // turn false once they have. No clock here: the caller bounds the drain with its own
    // timeout. Calling it again does nothing.
    void shutdown();

    // No stream that reached the handler is open.
    bool idle() const;

    // Why receive() or produce() failed, in English; empty while nothing failed.
    std::string_view error() const;

private:
    struct stream;
    struct callbacks;
    friend struct callbacks;

    stream* find(std::int32_t id) const;
    stream* open_stream(std::int32_t id);
    void release(stream* s);
    void fail(std::string_view why, std::uint32_t goaway_code);
    void finish_headers(stream& s, bool end_stream);
    void refuse_too_large(stream& s);
    void trim_scratch();
    std::string_view field_text(std::uint32_t offset, std::uint32_t size) const;

    handler& handler_;
    limits limits_;
    session_ptr session_;

    // Streams: owned here, found through nghttp2's stream user data; closed ones go to a
    // spare list and are reused, so a busy connection does not allocate per stream.
    std::vector<std::unique_ptr<stream>> streams_;
    std::vector<stream*> spare_;
    std::size_t open_streams_ = 0;  // streams that reached on_request and are not closed
    std::size_t queued_ = 0;        // sum of the streams' response queues

    // The header block being decoded. Blocks never interleave (RFC 9113 §6.10), so one set
    // of scratch buffers serves the connection: names and values are copied into `text_`
    // and referred to by offset until the block ends, then views are built into `fields_`.
    struct field_ref {
        std::uint32_t name_offset, name_size, value_offset, value_size;
        bool cookie;
    };
    struct pseudo_ref {
        std::uint32_t offset = 0, size = 0;
        bool present = false;
    };
    std::string text_;
    std::vector<field_ref> refs_;
    std::vector<header_field> fields_;
    pseudo_ref method_, scheme_, authority_, path_, host_;
    std::optional<std::uint64_t> content_length_;
    std::size_t header_list_size_ = 0;
    bool header_list_too_large_ = false;

    std::string nv_text_;  // lower-cased response field names for respond()

    enum class drain : std::uint8_t { none, notice_sent, goaway_sent };
    drain drain_ = drain::none;
    bool failed_ = false;
    std::string error_;
};

} // namespace stork::http2
