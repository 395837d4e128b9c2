#include "tests/http2/test_client.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace stork::http2::testing {

namespace {

std::string_view view(const std::uint8_t* p, std::size_t n)
{
    return {reinterpret_cast<const char*>(p), n};
}

nghttp2_nv make_nv(const std::string& name, const std::string& value)
{
    return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                      reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                      value.size(), NGHTTP2_NV_FLAG_NONE};
}

} // namespace

struct test_client::callbacks {
    static test_client& self(void* user) { return *static_cast<test_client*>(user); }

    static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                         std::size_t name_n, const std::uint8_t* value, std::size_t value_n, std::uint8_t,
                         void* user)
    {
        auto& r = self(user).responses[frame->hd.stream_id];
        const std::string_view n = view(name, name_n);
        const std::string_view v = view(value, value_n);
        if (n == ":status") {
            r.statuses.push_back(static_cast<unsigned>(std::stoul(std::string{v})));
            r.fields.clear();  // an interim head's fields are not the final head's
        } else {
            r.fields.emplace_back(n, v);
        }
        return 0;
    }

    static int on_data(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data, std::size_t n,
                       void* user)
    {
        self(user).responses[id].body.append(view(data, n));
        self(user).body_received += n;
        return 0;
    }

    static int on_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* user)
    {
        auto& r = self(user).responses[id];
        r.closed = true;
        r.error_code = code;
        return 0;
    }

    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user)
    {
        if (frame->hd.type == NGHTTP2_GOAWAY) {
            self(user).goaways.push_back({frame->goaway.last_stream_id, frame->goaway.error_code,
                                          std::string{view(frame->goaway.opaque_data, frame->goaway.opaque_data_len)}});
        }
        return 0;
    }

    static ssize_t read_body(nghttp2_session* session, std::int32_t id, std::uint8_t* buf, std::size_t length,
                             std::uint32_t* flags, nghttp2_data_source* source, void*)
    {
        auto& b = *static_cast<body_source*>(source->ptr);
        const std::size_t n = std::min(length, b.data.size() - b.offset);
        std::memcpy(buf, b.data.data() + b.offset, n);
        b.offset += n;
        if (b.offset == b.data.size()) {
            *flags |= NGHTTP2_DATA_FLAG_EOF;
            if (!b.trailers.empty()) {
                std::vector<nghttp2_nv> nva;
                for (const auto& [name, value] : b.trailers) {
                    nva.push_back(make_nv(name, value));
                }
                *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
                nghttp2_submit_trailer(session, id, nva.data(), nva.size());
            }
        }
        return static_cast<ssize_t>(n);
    }
};

test_client::test_client(const client_options& o)
{
    nghttp2_session_callbacks* raw_callbacks = nullptr;
    nghttp2_session_callbacks_new(&raw_callbacks);
    const callbacks_ptr cbs{raw_callbacks};
    nghttp2_session_callbacks_set_on_header_callback(cbs.get(), &callbacks::on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs.get(), &callbacks::on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs.get(), &callbacks::on_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs.get(), &callbacks::on_frame_recv);

    nghttp2_option* raw_option = nullptr;
    nghttp2_option_new(&raw_option);
    const option_ptr option{raw_option};
    nghttp2_option_set_no_auto_window_update(option.get(), o.manual_window ? 1 : 0);
    nghttp2_option_set_peer_max_concurrent_streams(option.get(), o.assumed_server_streams);
    // nghttp2 refuses to send a head larger than 64 KiB by default; tests send larger ones.
    nghttp2_option_set_max_send_header_block_length(option.get(), 1 << 20);

    nghttp2_session* raw = nullptr;
    if (nghttp2_session_client_new2(&raw, cbs.get(), this, option.get()) != 0) {
        throw std::runtime_error{"nghttp2_session_client_new2"};
    }
    session_.reset(raw);
    nghttp2_submit_settings(session_.get(), NGHTTP2_FLAG_NONE, o.settings.data(), o.settings.size());
}

std::int32_t test_client::request(const field_list& fields, std::optional<std::string> body,
                                  const field_list& trailers)
{
    std::vector<nghttp2_nv> nva;
    for (const auto& [n, v] : fields) {
        nva.push_back(make_nv(n, v));
    }
    nghttp2_data_provider provider{};
    if (body) {
        bodies_.push_back(body_source{std::move(*body), 0, trailers});
        provider.source.ptr = &bodies_.back();
        provider.read_callback = &callbacks::read_body;
    }
    const std::int32_t id =
        nghttp2_submit_request(session_.get(), nullptr, nva.data(), nva.size(), body ? &provider : nullptr, nullptr);
    if (id < 0) {
        throw std::runtime_error{std::string{"nghttp2_submit_request: "} + nghttp2_strerror(id)};
    }
    return id;
}

std::int32_t test_client::get(std::string_view path)
{
    return request({{":method", "GET"}, {":scheme", "https"}, {":authority", "example.com"}, {":path", std::string{path}}});
}

std::string test_client::take_output()
{
    std::string out;
    for (;;) {
        const std::uint8_t* data = nullptr;
        const auto n = nghttp2_session_mem_send(session_.get(), &data);
        if (n <= 0) {
            return out;
        }
        out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
}

long test_client::feed(std::string_view bytes)
{
    return static_cast<long>(
        nghttp2_session_mem_recv(session_.get(), reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

void test_client::consume(std::int32_t id, std::size_t n)
{
    nghttp2_session_consume(session_.get(), id, n);
}

} // namespace stork::http2::testing
