#include "tests/support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>

namespace stork::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

http_reply http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        std::vector<std::pair<std::string, std::string>> headers, std::string body)
{
    asio::io_context io;
    beast::tcp_stream stream{io};
    stream.expires_after(std::chrono::seconds{10});
    stream.connect(asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});

    http::request<http::string_body> request{http::string_to_verb(method), target, 11};
    request.method_string(method);
    request.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    for (auto& [name, value] : headers) {
        request.set(name, value);
    }
    request.body() = std::move(body);
    if (!request.body().empty() || method == "PUT" || method == "POST") {
        request.prepare_payload();
    }
    http::write(stream, request);

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    parser.skip(method == "HEAD");
    http::read(stream, buffer, parser);
    const auto& response = parser.get();

    http_reply reply;
    reply.status = response.result_int();
    for (const auto& field : response) {
        std::string name{field.name_string()};
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        reply.headers[name] = std::string{field.value()};
    }
    reply.body = response.body();
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    return reply;
}

std::string raw_exchange(std::uint16_t port, const std::string& bytes)
{
    asio::io_context io;
    beast::tcp_stream stream{io};
    stream.expires_after(std::chrono::seconds{10});
    stream.connect(asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
    stream.write_some(asio::buffer(bytes));
    std::string received;
    char chunk[4096];
    beast::error_code ec;
    while (true) {
        stream.expires_after(std::chrono::seconds{10});
        const std::size_t n = stream.read_some(asio::buffer(chunk), ec);
        received.append(chunk, n);
        if (ec) {
            break;
        }
    }
    return received;
}

} // namespace stork::test
