#include "http2/server_connection.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <utility>

namespace stork::http2 {

namespace {

// The opaque data of the PING that shutdown() sends: its ACK proves the client has seen the
// first GOAWAY (RFC 9113 §6.8 suggests a PING for exactly this).
constexpr std::array<std::uint8_t, 8> drain_ping{'s', 't', 'o', 'r', 'k', 'g', 'o', 'a'};

// A response queue that grew for a large body is freed when its stream closes; smaller ones
// are kept for the next stream, so a connection of small responses does not allocate.
constexpr std::size_t kept_queue_capacity = 16 * 1024;
// The same for the header scratch, after an unusually large request head.
constexpr std::size_t kept_scratch_capacity = 16 * 1024;
constexpr std::size_t kept_scratch_fields = 128;

std::string_view view(const std::uint8_t* p, std::size_t n)
{
    return {reinterpret_cast<const char*>(p), n};
}

char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

bool iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

// Connection-specific fields an intermediary must drop when it forwards an HTTP/1.1
// response over HTTP/2 (RFC 9113 §8.2.2); nghttp2 would otherwise send them as they are.
bool connection_specific(std::string_view name)
{
    constexpr std::array<std::string_view, 5> names{"connection", "keep-alive", "proxy-connection",
                                                     "transfer-encoding", "upgrade"};
    for (const auto n : names) {
        if (iequals(name, n)) {
            return true;
        }
    }
    return false;
}

nghttp2_nv make_nv(std::string_view name, std::string_view value)
{
    // nghttp2_submit_* copies the name and value (no NO_COPY flags), so scratch storage is fine.
    return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                      reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                      value.size(), NGHTTP2_NV_FLAG_NONE};
}

} // namespace

// What the connection keeps per stream that reached on_begin_headers.
struct server_connection::stream {
    std::int32_t id = 0;          // 0 while spare
    bool announced = false;       // on_request was called: on_data/on_end/on_close are owed
    bool reset_sent = false;      // we reset it (or refused it): its body is dropped, not delivered
    bool responded = false;       // a final response head was submitted
    bool has_body = false;        // ... without end_stream: send_data() feeds the data provider
    std::size_t unconsumed = 0;   // body bytes delivered to on_data and not yet consumed()

    // The response body waiting for flow-control window: out[offset..] is still to be framed.
    std::string out;
    std::size_t offset = 0;
    bool last = false;            // send_data(..., last = true) was called
    bool deferred = false;        // the data provider said DEFERRED: resume when data arrives

    std::size_t pending() const { return out.size() - offset; }
};

// nghttp2's callbacks: thin trampolines into the connection. Each catches everything, since an
// exception must not unwind through nghttp2's C frames: it becomes NGHTTP2_ERR_CALLBACK_FAILURE,
// which makes mem_recv/mem_send fail, and the connection ends with error() saying why.
struct server_connection::callbacks {
    template <typename F>
    static int guarded(void* user, F&& f) noexcept
    {
        auto& c = *static_cast<server_connection*>(user);
        try {
            return f(c);
        } catch (const std::exception& e) {
            c.error_ = std::string{"handler failed: "} + e.what();
        } catch (...) {
            c.error_ = "handler failed with an unknown exception";
        }
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }

    static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user)
    {
        return guarded(user, [&](server_connection& c) {
            if (frame->hd.type != NGHTTP2_HEADERS) {
                return 0;
            }
            c.text_.clear();
            c.refs_.clear();
            c.method_ = c.scheme_ = c.authority_ = c.path_ = c.host_ = pseudo_ref{};
            c.content_length_.reset();
            c.header_list_size_ = 0;
            c.header_list_too_large_ = false;
            if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
                c.open_stream(frame->hd.stream_id);
            }
            return 0;
        });
    }

    static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name_p,
                         std::size_t name_n, const std::uint8_t* value_p, std::size_t value_n,
                         std::uint8_t, void* user)
    {
        return guarded(user, [&](server_connection& c) {
            // Trailers (HCAT_HEADERS) are dropped: see handler::on_end.
            if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
                return 0;
            }
            // RFC 9113 §6.5.2: each field counts its name, its value and 32 bytes. Past the limit
            // nothing more is stored; the block is still decoded by nghttp2 (HPACK state must stay
            // in step) and the request is answered 431 when it ends.
            c.header_list_size_ += name_n + value_n + 32;
            if (c.header_list_size_ > c.limits_.max_header_list_size) {
                c.header_list_too_large_ = true;
            }
            if (c.header_list_too_large_) {
                return 0;
            }
            const std::string_view name = view(name_p, name_n);
            const std::string_view value = view(value_p, value_n);
            const auto name_offset = static_cast<std::uint32_t>(c.text_.size());
            const auto value_offset = static_cast<std::uint32_t>(name_offset + name_n);
            const auto keep_value = [&](pseudo_ref& r) {
                r = pseudo_ref{static_cast<std::uint32_t>(c.text_.size()), static_cast<std::uint32_t>(value_n), true};
                c.text_.append(value);
            };
            if (!name.empty() && name[0] == ':') {
                // nghttp2 has checked the pseudo-fields: known names, once each, before the
                // regular fields, and :path non-empty (RFC 9113 §8.3).
                if (name == ":method") {
                    keep_value(c.method_);
                } else if (name == ":scheme") {
                    keep_value(c.scheme_);
                } else if (name == ":authority") {
                    keep_value(c.authority_);
                } else if (name == ":path") {
                    keep_value(c.path_);
                }
                return 0;
            }
            if (name == "host") {
                keep_value(c.host_);
                return 0;
            }
            if (name == "content-length") {
                // nghttp2 has checked it is 1*DIGIT, given once and within 63 bits.
                std::uint64_t n = 0;
                const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
                if (ec == std::errc{} && end == value.data() + value.size()) {
                    c.content_length_ = n;
                }
                return 0;
            }
            c.text_.append(name);
            c.text_.append(value);
            c.refs_.push_back(field_ref{name_offset, static_cast<std::uint32_t>(name_n), value_offset,
                                        static_cast<std::uint32_t>(value_n), name == "cookie"});
            return 0;
        });
    }

    static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user)
    {
        return guarded(user, [&](server_connection& c) {
            const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
            switch (frame->hd.type) {
            case NGHTTP2_HEADERS: {
                stream* s = c.find(frame->hd.stream_id);
                if (s == nullptr) {
                    return 0;
                }
                if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
                    if (c.header_list_too_large_) {
                        c.refuse_too_large(*s);
                    } else {
                        c.finish_headers(*s, end_stream);
                    }
                } else if (end_stream && s->announced && !s->reset_sent) {
                    c.handler_.on_end(s->id);  // trailers ended the body
                }
                return 0;
            }
            case NGHTTP2_DATA: {
                stream* s = c.find(frame->hd.stream_id);
                if (end_stream && s != nullptr && s->announced && !s->reset_sent) {
                    c.handler_.on_end(s->id);
                }
                return 0;
            }
            case NGHTTP2_PING:
                if ((frame->hd.flags & NGHTTP2_FLAG_ACK) != 0 && c.drain_ == drain::notice_sent &&
                    std::memcmp(frame->ping.opaque_data, drain_ping.data(), drain_ping.size()) == 0) {
                    // The client has seen the first GOAWAY: what it sent before is all here.
                    c.drain_ = drain::goaway_sent;
                    const int rv = nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE,
                                                         nghttp2_session_get_last_proc_stream_id(session),
                                                         NGHTTP2_NO_ERROR, nullptr, 0);
                    if (rv != 0) {
                        throw std::runtime_error{std::string{"GOAWAY: "} + nghttp2_strerror(rv)};
                    }
                }
                return 0;
            default:
                return 0;
            }
        });
    }

    static int on_data_chunk_recv(nghttp2_session* session, std::uint8_t, std::int32_t id,
                                  const std::uint8_t* data, std::size_t n, void* user)
    {
        return guarded(user, [&](server_connection& c) {
            if (n == 0) {
                return 0;  // on_data promises bytes
            }
            stream* s = c.find(id);
            if (s == nullptr || !s->announced || s->reset_sent) {
                // Nobody will forward these bytes: give the window back now.
                nghttp2_session_consume(session, id, n);
                return 0;
            }
            s->unconsumed += n;
            c.handler_.on_data(id, view(data, n));
            return 0;
        });
    }

    static int on_stream_close(nghttp2_session* session, std::int32_t id, std::uint32_t error_code, void* user)
    {
        return guarded(user, [&](server_connection& c) {
            stream* s = c.find(id);
            if (s == nullptr) {
                return 0;
            }
            // Body bytes never consumed would otherwise shrink the connection window for good.
            if (s->unconsumed > 0) {
                nghttp2_session_consume_connection(session, s->unconsumed);
            }
            const bool announced = s->announced;
            nghttp2_session_set_stream_user_data(session, id, nullptr);
            c.release(s);
            if (announced) {
                --c.open_streams_;
                c.handler_.on_close(id, error_code);
            }
            return 0;
        });
    }

    static int on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user)
    {
        return guarded(user, [&](server_connection& c) {
            // The response is complete but the request body is still coming (an early 413 or
            // 431, or an upstream that answered before reading it all): RST_STREAM(NO_ERROR)
            // asks the client to stop sending it (RFC 9113 §8.1). Only after the last frame
            // went out: a RST_STREAM submitted earlier would overtake the response.
            const bool ends = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
            if (ends && (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
                nghttp2_session_get_stream_remote_close(session, frame->hd.stream_id) == 0) {
                nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
            }
            // A GOAWAY with an error is nghttp2 ending the connection over a protocol error it
            // found itself (it queues the frame inside mem_recv and does not say so there).
            if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR && !c.failed_) {
                c.failed_ = true;
                if (c.error_.empty()) {
                    c.error_ = std::string{"HTTP/2 "} + nghttp2_http2_strerror(frame->goaway.error_code);
                    if (frame->goaway.opaque_data_len > 0) {
                        c.error_ += ": ";
                        c.error_ += view(frame->goaway.opaque_data, frame->goaway.opaque_data_len);
                    }
                }
            }
            return 0;
        });
    }

    static ssize_t read_body(nghttp2_session*, std::int32_t id, std::uint8_t* buf, std::size_t length,
                             std::uint32_t* flags, nghttp2_data_source* source, void* user)
    {
        auto& c = *static_cast<server_connection*>(user);
        auto* s = static_cast<stream*>(source->ptr);
        if (s == nullptr || s->id != id) {
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // cannot happen: resets the stream
        }
        const std::size_t n = std::min(length, s->pending());
        if (n == 0 && !s->last) {
            s->deferred = true;
            return NGHTTP2_ERR_DEFERRED;
        }
        std::memcpy(buf, s->out.data() + s->offset, n);
        s->offset += n;
        c.queued_ -= n;
        if (s->offset == s->out.size()) {
            s->out.clear();
            s->offset = 0;
            if (s->last) {
                *flags |= NGHTTP2_DATA_FLAG_EOF;
            }
        }
        return static_cast<ssize_t>(n);
    }
};

server_connection::server_connection(handler& h, const limits& l) : handler_{h}, limits_{l}
{
    nghttp2_session_callbacks* raw_callbacks = nullptr;
    if (nghttp2_session_callbacks_new(&raw_callbacks) != 0) {
        throw std::bad_alloc{};
    }
    const callbacks_ptr cbs{raw_callbacks};
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs.get(), &callbacks::on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs.get(), &callbacks::on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs.get(), &callbacks::on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs.get(), &callbacks::on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs.get(), &callbacks::on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs.get(), &callbacks::on_frame_send);

    nghttp2_option* raw_option = nullptr;
    if (nghttp2_option_new(&raw_option) != 0) {
        throw std::bad_alloc{};
    }
    const option_ptr option{raw_option};
    // Request bodies: the window opens only as the proxy forwards (consumed()).
    nghttp2_option_set_no_auto_window_update(option.get(), 1);
    // We ignore RFC 7540 priorities (and say so in SETTINGS): closed streams need not be kept.
    nghttp2_option_set_no_closed_streams(option.get(), 1);
    // Debian's 1.52.0-1+deb12u2/u3 carry the CVE-2023-44487 (rapid reset) and CVE-2024-28182
    // (CONTINUATION flood) fixes; spelled out here with their upstream defaults so that a
    // reader sees both defences are on.
    nghttp2_option_set_stream_reset_rate_limit(option.get(), 1000, 33);
    nghttp2_option_set_max_continuations(option.get(), 8);

    nghttp2_session* raw_session = nullptr;
    if (nghttp2_session_server_new2(&raw_session, cbs.get(), this, option.get()) != 0) {
        throw std::bad_alloc{};
    }
    session_.reset(raw_session);

    const std::array<nghttp2_settings_entry, 4> settings{{
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits_.max_concurrent_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits_.max_header_list_size},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits_.initial_window_size},
        {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
    }};
    if (nghttp2_submit_settings(session_.get(), NGHTTP2_FLAG_NONE, settings.data(), settings.size()) != 0 ||
        nghttp2_session_set_local_window_size(session_.get(), NGHTTP2_FLAG_NONE, 0,
                                              static_cast<std::int32_t>(limits_.connection_window_size)) != 0) {
        throw std::invalid_argument{"http2::limits out of range"};
    }
}

server_connection::~server_connection() = default;

server_connection::stream* server_connection::find(std::int32_t id) const
{
    if (id <= 0) {
        return nullptr;
    }
    auto* s = static_cast<stream*>(nghttp2_session_get_stream_user_data(session_.get(), id));
    return s != nullptr && s->id == id ? s : nullptr;
}

server_connection::stream* server_connection::open_stream(std::int32_t id)
{
    stream* s = nullptr;
    if (!spare_.empty()) {
        s = spare_.back();
        spare_.pop_back();
    } else {
        streams_.push_back(std::make_unique<stream>());
        s = streams_.back().get();
    }
    s->id = id;
    nghttp2_session_set_stream_user_data(session_.get(), id, s);
    return s;
}

void server_connection::release(stream* s)
{
    queued_ -= s->pending();
    std::string out = std::move(s->out);
    *s = stream{};
    if (out.capacity() <= kept_queue_capacity) {
        out.clear();
        s->out = std::move(out);
    }
    spare_.push_back(s);
}

void server_connection::fail(std::string_view why, std::uint32_t goaway_code)
{
    if (failed_) {
        return;
    }
    failed_ = true;
    if (error_.empty()) {
        error_ = why;
    }
    nghttp2_session_terminate_session(session_.get(), goaway_code);
}

std::string_view server_connection::field_text(std::uint32_t offset, std::uint32_t size) const
{
    return std::string_view{text_}.substr(offset, size);
}

void server_connection::finish_headers(stream& s, bool end_stream)
{
    if (field_text(method_.offset, method_.size) == "CONNECT") {
        // Tunnels are not something a reverse proxy to HTTP/1.1 applications offers. Refused
        // rather than answered: REFUSED_STREAM tells the client nothing was processed.
        s.reset_sent = true;
        nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, s.id, NGHTTP2_REFUSED_STREAM);
        return;
    }
    // RFC 9113 §8.3.1: Host stands in for a missing :authority.
    const pseudo_ref& authority = authority_.present ? authority_ : host_;
    if (host_.present && authority_.present) {
        if (!iequals(field_text(host_.offset, host_.size), field_text(authority_.offset, authority_.size))) {
            // RFC 9113 §8.3.1: a server SHOULD treat a request whose Host differs from its
            // :authority as malformed. Two names for one request is how routing is confused.
            s.reset_sent = true;
            nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, s.id, NGHTTP2_PROTOCOL_ERROR);
            return;
        }
    }

    // RFC 9113 §8.2.3: cookie crumbs are joined with "; " before going to HTTP/1.1. The joined
    // value goes at the end of text_ before any view into text_ is taken below: appending may
    // move text_ (ASan caught a view taken before this point).
    std::size_t cookies = 0;
    for (const auto& r : refs_) {
        cookies += r.cookie ? 1 : 0;
    }
    std::uint32_t joined_offset = 0;
    if (cookies > 1) {
        std::size_t joined = 2 * (cookies - 1);
        for (const auto& r : refs_) {
            joined += r.cookie ? r.value_size : 0;
        }
        text_.reserve(text_.size() + joined);  // the appends below copy from text_ itself
        joined_offset = static_cast<std::uint32_t>(text_.size());
        bool first = true;
        for (const auto& r : refs_) {
            if (r.cookie) {
                if (!first) {
                    text_.append("; ");
                }
                first = false;
                text_.append(text_, r.value_offset, r.value_size);
            }
        }
    }
    const auto joined_size = static_cast<std::uint32_t>(text_.size() - joined_offset);

    fields_.clear();
    bool cookie_placed = false;
    for (const auto& r : refs_) {
        if (r.cookie && cookies > 1) {
            if (!cookie_placed) {
                fields_.push_back({field_text(r.name_offset, r.name_size), field_text(joined_offset, joined_size)});
                cookie_placed = true;
            }
            continue;
        }
        fields_.push_back({field_text(r.name_offset, r.name_size), field_text(r.value_offset, r.value_size)});
    }

    request r;
    r.stream_id = s.id;
    r.method = field_text(method_.offset, method_.size);
    r.scheme = field_text(scheme_.offset, scheme_.size);
    r.authority = field_text(authority.offset, authority.size);
    r.path = field_text(path_.offset, path_.size);
    r.fields = fields_;
    r.end_stream = end_stream;
    r.content_length = content_length_;

    s.announced = true;
    ++open_streams_;
    handler_.on_request(r);

    trim_scratch();
}

void server_connection::trim_scratch()
{
    // A 64 KiB request head should not stay in memory for the rest of a keep-alive
    // connection: scratch grown past the sizes of ordinary heads is freed.
    fields_.clear();
    if (text_.capacity() > kept_scratch_capacity) {
        std::string{}.swap(text_);
    }
    if (refs_.capacity() > kept_scratch_fields) {
        std::vector<field_ref>{}.swap(refs_);
    }
    if (fields_.capacity() > kept_scratch_fields) {
        std::vector<header_field>{}.swap(fields_);
    }
}

void server_connection::refuse_too_large(stream& s)
{
    // RFC 9113 §10.5.1: a server can answer a header section it will not handle with 431.
    // The handler never sees the request; its body, if any, is dropped as it arrives, and
    // on_frame_send follows the response with RST_STREAM(NO_ERROR) to stop it.
    s.reset_sent = true;
    const std::array<nghttp2_nv, 1> nv{make_nv(":status", "431")};
    nghttp2_submit_response(session_.get(), s.id, nv.data(), nv.size(), nullptr);
    trim_scratch();
}

bool server_connection::receive(std::string_view bytes)
{
    if (failed_) {
        return false;
    }
    const auto rv = nghttp2_session_mem_recv(session_.get(), reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                             bytes.size());
    if (rv >= 0) {
        return !failed_;
    }
    switch (rv) {
    case NGHTTP2_ERR_BAD_CLIENT_MAGIC:
        fail("the client did not open with the HTTP/2 connection preface", NGHTTP2_PROTOCOL_ERROR);
        break;
    case NGHTTP2_ERR_FLOODED:
        fail("the client flooded the connection with frames that need an answer", NGHTTP2_ENHANCE_YOUR_CALM);
        break;
    case NGHTTP2_ERR_CALLBACK_FAILURE:
        fail("a callback failed", NGHTTP2_INTERNAL_ERROR);  // error_ already says which
        break;
    default:
        fail(nghttp2_strerror(static_cast<int>(rv)), NGHTTP2_INTERNAL_ERROR);
        break;
    }
    return false;
}

void server_connection::produce(std::string& out, std::size_t max_bytes)
{
    while (out.size() < max_bytes) {
        const std::uint8_t* data = nullptr;
        const auto n = nghttp2_session_mem_send(session_.get(), &data);
        if (n < 0) {
            if (failed_) {
                return;  // the terminating GOAWAY could not be produced either: just close
            }
            fail(n == NGHTTP2_ERR_CALLBACK_FAILURE ? std::string_view{"a callback failed"}
                                                   : std::string_view{nghttp2_strerror(static_cast<int>(n))},
                 NGHTTP2_INTERNAL_ERROR);
            continue;
        }
        if (n == 0) {
            return;
        }
        out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
}

bool server_connection::want_read() const
{
    return nghttp2_session_want_read(session_.get()) != 0;
}

bool server_connection::want_write() const
{
    return nghttp2_session_want_write(session_.get()) != 0;
}

void server_connection::respond(std::int32_t id, unsigned status, std::span<const header_field> fields,
                                bool end_stream)
{
    stream* s = find(id);
    if (s == nullptr || !s->announced || s->reset_sent || s->responded) {
        return;
    }
    if (status < 100 || status > 599 || status == 101) {
        // Outside RFC 9110 §15, or a protocol switch, which HTTP/2 does not have (RFC 9113
        // §8.6): the upstream's answer cannot be relayed, and the client learns that much.
        reset(id, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    const bool interim = status < 200;

    // Names lower-cased into one scratch string, sized first so that it does not move while
    // the nghttp2_nv array points into it.
    std::size_t names = 0;
    for (const auto& f : fields) {
        names += f.name.size();
    }
    nv_text_.clear();
    nv_text_.reserve(names);
    std::array<char, 3> status_text{static_cast<char>('0' + status / 100 % 10),
                                    static_cast<char>('0' + status / 10 % 10), static_cast<char>('0' + status % 10)};

    // Small heads need no allocation; larger ones take one vector.
    constexpr std::size_t inline_nvs = 32;
    std::array<nghttp2_nv, inline_nvs> small;
    std::vector<nghttp2_nv> large;
    nghttp2_nv* nva = small.data();
    if (fields.size() + 1 > inline_nvs) {
        large.resize(fields.size() + 1);
        nva = large.data();
    }
    std::size_t count = 0;
    nva[count++] = make_nv(":status", std::string_view{status_text.data(), status_text.size()});
    for (const auto& f : fields) {
        if (connection_specific(f.name)) {
            continue;
        }
        const std::size_t at = nv_text_.size();
        for (const char ch : f.name) {
            nv_text_.push_back(lower(ch));
        }
        nva[count++] = make_nv(std::string_view{nv_text_}.substr(at, f.name.size()), f.value);
    }

    int rv = 0;
    if (interim) {
        rv = nghttp2_submit_headers(session_.get(), NGHTTP2_FLAG_NONE, id, nullptr, nva, count, nullptr);
    } else {
        s->responded = true;
        s->has_body = !end_stream;
        nghttp2_data_provider body{};
        body.source.ptr = s;
        body.read_callback = &callbacks::read_body;
        rv = nghttp2_submit_response(session_.get(), id, nva, count, end_stream ? nullptr : &body);
    }
    if (rv != 0) {
        // Only on a broken invariant (bad id) or out of memory: end the stream, not the process.
        reset(id, NGHTTP2_INTERNAL_ERROR);
    }
}

void server_connection::send_data(std::int32_t id, std::string_view bytes, bool last)
{
    stream* s = find(id);
    if (s == nullptr || !s->has_body || s->reset_sent || s->last) {
        return;
    }
    if (s->offset > 0 && s->offset >= s->out.size() / 2) {
        s->out.erase(0, s->offset);  // keep the queue from creeping: at most one move per half
        s->offset = 0;
    }
    s->out.append(bytes);
    queued_ += bytes.size();
    s->last = last;
    if (s->deferred && (!bytes.empty() || last)) {
        s->deferred = false;
        nghttp2_session_resume_data(session_.get(), id);
    }
}

std::size_t server_connection::queued(std::int32_t id) const
{
    const stream* s = find(id);
    return s != nullptr ? s->pending() : 0;
}

std::size_t server_connection::queued() const
{
    return queued_;
}

void server_connection::consumed(std::int32_t id, std::size_t n)
{
    stream* s = find(id);
    if (s == nullptr) {
        return;  // closed: on_stream_close already gave the connection window back
    }
    n = std::min(n, s->unconsumed);
    s->unconsumed -= n;
    if (n > 0) {
        nghttp2_session_consume(session_.get(), id, n);
    }
}

void server_connection::reset(std::int32_t id, std::uint32_t error_code)
{
    stream* s = find(id);
    if (s == nullptr || s->reset_sent) {
        return;
    }
    s->reset_sent = true;
    queued_ -= s->pending();
    s->out.clear();
    s->offset = 0;
    // Body bytes the handler holds will not be consumed now: return them with the close.
    nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, id, error_code);
}

void server_connection::shutdown()
{
    if (drain_ != drain::none || failed_) {
        return;
    }
    drain_ = drain::notice_sent;
    nghttp2_submit_shutdown_notice(session_.get());
    nghttp2_submit_ping(session_.get(), NGHTTP2_FLAG_NONE, drain_ping.data());
}

bool server_connection::idle() const
{
    return open_streams_ == 0;
}

std::string_view server_connection::error() const
{
    return error_;
}

} // namespace stork::http2
