// The test origin (origin.py through origin_instance) serves what storkd's process tests
// rely on: framing, keep-alive, pipelining, 100-continue, resets, counters, WebSocket echo.
#include "tests/support/origin_instance.hpp"

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_certs.hpp"
#include "tests/support/tls_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace stork::test {
namespace {

// A client socket that sends exact bytes and reads with a deadline, for what a real client
// library would hide: 100 Continue, chunk sizes, pipelining, RST versus FIN.
class raw_connection {
public:
    explicit raw_connection(std::uint16_t port)
        : fd_{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)}
    {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd_ < 0 || ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
            throw std::runtime_error{std::string{"connect: "} + std::strerror(errno)};
        }
    }
    ~raw_connection() { ::close(fd_); }
    raw_connection(const raw_connection&) = delete;
    raw_connection& operator=(const raw_connection&) = delete;

    void send(std::string_view bytes)
    {
        while (!bytes.empty()) {
            const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n < 0) {
                throw std::runtime_error{std::string{"send: "} + std::strerror(errno)};
            }
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    // Reads until received() contains `needle`: 0 then, otherwise why it stopped (-1 for an
    // orderly close, an errno such as ECONNRESET, ETIMEDOUT after 10 s).
    int read_until(std::string_view needle)
    {
        while (received_.find(needle) == std::string::npos) {
            if (const int stopped = read_some(); stopped != 0) {
                return stopped;
            }
        }
        return 0;
    }

    // Reads until the peer closes: -1 for a FIN, the errno for a reset, ETIMEDOUT after 10 s.
    int read_to_end()
    {
        int stopped = 0;
        while ((stopped = read_some()) == 0) {
        }
        return stopped;
    }

    const std::string& received() const noexcept { return received_; }

private:
    int read_some()
    {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 10'000) <= 0) {
            return ETIMEDOUT;
        }
        char chunk[65536];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n < 0) {
            return errno;
        }
        if (n == 0) {
            return -1;
        }
        received_.append(chunk, static_cast<std::size_t>(n));
        return 0;
    }

    int fd_;
    std::string received_;
};

// The values of every "X-Connection-Id:" line in raw response bytes, in order.
std::vector<std::string> connection_ids(const std::string& raw)
{
    std::vector<std::string> ids;
    constexpr std::string_view field = "X-Connection-Id: ";
    for (auto at = raw.find(field); at != std::string::npos; at = raw.find(field, at + 1)) {
        const auto begin = at + field.size();
        ids.push_back(raw.substr(begin, raw.find("\r\n", begin) - begin));
    }
    return ids;
}

// /bytes/<N> sends byte i = i % 251.
bool is_pattern(std::string_view body)
{
    for (std::size_t i = 0; i < body.size(); ++i) {
        if (static_cast<unsigned char>(body[i]) != i % 251) {
            return false;
        }
    }
    return true;
}

TEST(origin_process, echo_shows_the_request_as_received)
{
    origin_instance origin;
    ASSERT_NE(origin.http_port(), 0);
    const http_reply reply = http_request(origin.http_port(), "POST", "/echo?x=1", {{"X-Test", "one"}}, "abc");
    ASSERT_EQ(reply.status, 200);
    const boost::json::value v = boost::json::parse(reply.body);
    const boost::json::object& echo = v.as_object();
    EXPECT_EQ(echo.at("method").as_string(), "POST");
    EXPECT_EQ(echo.at("target").as_string(), "/echo?x=1");
    EXPECT_EQ(echo.at("version").as_string(), "HTTP/1.1");
    EXPECT_EQ(echo.at("body_bytes").to_number<int>(), 3);
    EXPECT_EQ(echo.at("body_sha256").as_string(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const boost::json::array& headers = echo.at("headers").as_array();
    bool found = false;
    for (const auto& h : headers) {
        found = found || (h.as_array().at(0).as_string() == "X-Test" && h.as_array().at(1).as_string() == "one");
    }
    EXPECT_TRUE(found) << reply.body;
    EXPECT_EQ(std::to_string(echo.at("connection_id").to_number<int>()), reply.headers.at("x-connection-id"));
}

TEST(origin_process, any_other_path_says_hello)
{
    origin_instance origin;
    const http_reply reply = http_request(origin.http_port(), "GET", "/anything?at=all");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, "hello");
    EXPECT_EQ(reply.headers.at("x-origin"), "stork-test");
    EXPECT_EQ(reply.headers.at("content-length"), "5");
}

TEST(origin_process, bytes_with_content_length)
{
    origin_instance origin;
    const http_reply reply = http_request(origin.http_port(), "GET", "/bytes/100000");
    ASSERT_EQ(reply.status, 200);
    EXPECT_EQ(reply.headers.at("content-length"), "100000");
    EXPECT_FALSE(reply.headers.contains("transfer-encoding"));
    EXPECT_EQ(reply.body.size(), 100000U);
    EXPECT_TRUE(is_pattern(reply.body));
}

TEST(origin_process, bytes_chunked_in_16_kib_chunks)
{
    origin_instance origin;
    const http_reply reply = http_request(origin.http_port(), "GET", "/bytes/100000?chunked=1");
    ASSERT_EQ(reply.status, 200);
    EXPECT_EQ(reply.headers.at("transfer-encoding"), "chunked");
    EXPECT_FALSE(reply.headers.contains("content-length"));
    EXPECT_EQ(reply.body.size(), 100000U);
    EXPECT_TRUE(is_pattern(reply.body));

    // 40000 = 16384 + 16384 + 7232 (0x1c40), then the last chunk.
    raw_connection raw{origin.http_port()};
    raw.send("GET /bytes/40000?chunked=1 HTTP/1.1\r\nHost: o\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(raw.read_to_end(), -1);
    const std::string& r = raw.received();
    EXPECT_NE(r.find("\r\n\r\n4000\r\n"), std::string::npos) << r.substr(0, 300);
    EXPECT_NE(r.find("\r\n1c40\r\n"), std::string::npos);
    EXPECT_TRUE(r.ends_with("\r\n0\r\n\r\n"));
}

TEST(origin_process, bytes_until_close)
{
    origin_instance origin;
    raw_connection raw{origin.http_port()};
    raw.send("GET /bytes/70000?close=1 HTTP/1.1\r\nHost: o\r\n\r\n");
    EXPECT_EQ(raw.read_to_end(), -1); // a FIN ends the body
    const std::string& r = raw.received();
    const auto head_end = r.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos);
    const std::string head = r.substr(0, head_end);
    EXPECT_EQ(head.find("Content-Length"), std::string::npos) << head;
    EXPECT_EQ(head.find("Transfer-Encoding"), std::string::npos) << head;
    EXPECT_NE(head.find("Connection: close"), std::string::npos) << head;
    const std::string_view body = std::string_view{r}.substr(head_end + 4);
    EXPECT_EQ(body.size(), 70000U);
    EXPECT_TRUE(is_pattern(body));
}

TEST(origin_process, upload_of_3_mb)
{
    origin_instance origin;
    std::string body(3 * 1024 * 1024, '\0');
    for (std::size_t i = 0; i < body.size(); ++i) {
        body[i] = static_cast<char>(i * 7 % 256);
    }
    const http_reply reply = http_request(origin.http_port(), "POST", "/upload", {}, body);
    ASSERT_EQ(reply.status, 200);
    const boost::json::value v = boost::json::parse(reply.body);
    EXPECT_EQ(v.at("body_bytes").to_number<std::size_t>(), body.size());

    // The same body chunked gives the same digest.
    raw_connection raw{origin.http_port()};
    raw.send("POST /upload HTTP/1.1\r\nHost: o\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    for (std::size_t at = 0; at < body.size(); at += 100000) {
        const std::string_view part = std::string_view{body}.substr(at, 100000);
        char size[32];
        std::snprintf(size, sizeof size, "%zx\r\n", part.size());
        raw.send(size);
        raw.send(part);
        raw.send("\r\n");
    }
    raw.send("0\r\n\r\n");
    EXPECT_EQ(raw.read_to_end(), -1);
    const std::string& r = raw.received();
    EXPECT_NE(r.find(v.at("body_sha256").as_string().c_str()), std::string::npos) << r;
}

TEST(origin_process, upload_with_expect_100_continue)
{
    origin_instance origin;
    raw_connection raw{origin.http_port()};
    raw.send("POST /upload HTTP/1.1\r\nHost: o\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    ASSERT_EQ(raw.read_until("\r\n\r\n"), 0);
    EXPECT_EQ(raw.received(), "HTTP/1.1 100 Continue\r\n\r\n");
    raw.send("abc");
    ASSERT_EQ(raw.read_until("}"), 0);
    EXPECT_NE(raw.received().find("\"body_bytes\": 3"), std::string::npos) << raw.received();

    raw_connection rejected{origin.http_port()};
    rejected.send("POST /upload?reject=1 HTTP/1.1\r\nHost: o\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    EXPECT_EQ(rejected.read_to_end(), -1);
    EXPECT_TRUE(rejected.received().starts_with("HTTP/1.1 417 ")) << rejected.received();
    EXPECT_EQ(rejected.received().find("100 Continue"), std::string::npos);
}

TEST(origin_process, status_codes)
{
    origin_instance origin;
    const http_reply not_found = http_request(origin.http_port(), "GET", "/status/404");
    EXPECT_EQ(not_found.status, 404);
    EXPECT_EQ(not_found.body, "status 404\n");
    const http_reply no_content = http_request(origin.http_port(), "GET", "/status/204");
    EXPECT_EQ(no_content.status, 204);
    EXPECT_TRUE(no_content.body.empty());
    EXPECT_FALSE(no_content.headers.contains("content-length"));
}

TEST(origin_process, keep_alive_and_pipelining_stay_on_one_connection)
{
    origin_instance origin;
    raw_connection raw{origin.http_port()};
    raw.send("GET /a HTTP/1.1\r\nHost: o\r\n\r\n");
    ASSERT_EQ(raw.read_until("hello"), 0);
    // Two more requests in one write: answered in order on the same connection.
    raw.send("GET /echo HTTP/1.1\r\nHost: o\r\n\r\nGET /c HTTP/1.1\r\nHost: o\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(raw.read_to_end(), -1);
    const std::string& r = raw.received();
    const auto ids = connection_ids(r);
    ASSERT_EQ(ids.size(), 3U) << r;
    EXPECT_EQ(ids[0], ids[1]);
    EXPECT_EQ(ids[1], ids[2]);
    EXPECT_LT(r.find("\"target\": \"/echo\""), r.rfind("hello"));

    const auto stats = origin.wait_for_stats([](const origin_stats& s) { return s.connections_open == 0; });
    ASSERT_TRUE(stats);
    EXPECT_EQ(stats->connections_accepted, 1U);
    EXPECT_EQ(stats->requests, 3U);
}

TEST(origin_process, stats_count_connections_and_requests_but_not_themselves)
{
    origin_instance origin;
    origin_stats seen = origin.stats();
    EXPECT_EQ(seen.connections_accepted, 0U);
    EXPECT_EQ(seen.connections_open, 0U);
    EXPECT_EQ(seen.requests, 0U);

    http_request(origin.http_port(), "GET", "/one");
    http_request(origin.http_port(), "GET", "/two");
    {
        raw_connection idle{origin.http_port()};
        raw_connection busy{origin.http_port()};
        busy.send("GET /three HTTP/1.1\r\nHost: o\r\n\r\n");
        ASSERT_EQ(busy.read_until("hello"), 0);
        seen = origin.wait_for_stats([](const origin_stats& s) { return s.connections_accepted == 4; }).value();
        EXPECT_GE(seen.connections_open, 2U); // idle and busy (the first two may still be closing)
        EXPECT_EQ(seen.requests, 3U);
    }
    const auto closed = origin.wait_for_stats([](const origin_stats& s) { return s.connections_open == 0; });
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->connections_accepted, 4U);
    EXPECT_EQ(closed->requests, 3U);
}

TEST(origin_process, reset_before_head)
{
    origin_instance origin;
    raw_connection raw{origin.http_port()};
    raw.send("GET /reset-before-head HTTP/1.1\r\nHost: o\r\n\r\n");
    EXPECT_EQ(raw.read_to_end(), ECONNRESET);
    EXPECT_TRUE(raw.received().empty());
    EXPECT_ANY_THROW(http_request(origin.http_port(), "GET", "/reset-before-head"));
}

TEST(origin_process, reset_after_head)
{
    origin_instance origin;
    raw_connection raw{origin.http_port()};
    raw.send("GET /reset-after-head HTTP/1.1\r\nHost: o\r\n\r\n");
    EXPECT_EQ(raw.read_to_end(), ECONNRESET);
    EXPECT_TRUE(raw.received().starts_with("HTTP/1.1 200 OK\r\n")) << raw.received();
    EXPECT_NE(raw.received().find("Content-Length: 1000\r\n"), std::string::npos);
    EXPECT_TRUE(raw.received().ends_with("\r\n\r\n0123456789"));
}

TEST(origin_process, slow_answers_after_the_delay)
{
    origin_instance origin;
    const auto start = std::chrono::steady_clock::now();
    const http_reply reply = http_request(origin.http_port(), "GET", "/slow?ms=200");
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds{200});
    EXPECT_EQ(reply.body, "slow");
}

TEST(origin_process, websocket_echo_with_ws_client)
{
    origin_instance origin;
    ASSERT_NE(origin.ws_port(), 0);
    const std::string url = "ws://127.0.0.1:" + std::to_string(origin.ws_port()) + "/any/path";
    const run_result text = run({python3(), support_script("ws_client.py").string(), url, "ping", "--count", "3"});
    EXPECT_EQ(text.status.code, 0) << text.err;
    EXPECT_EQ(text.out, "ping\nping\nping\n");
    const run_result binary =
        run({python3(), support_script("ws_client.py").string(), url, "bin", "--binary", "--host", "app.example:8080"});
    EXPECT_EQ(binary.status.code, 0) << binary.err;
    EXPECT_EQ(binary.out, "bin\n");
}

TEST(origin_process, curl_is_served)
{
    origin_instance origin;
    const std::string base = "http://127.0.0.1:" + std::to_string(origin.http_port());
    // Two URLs in one curl: the second reuses the first's connection.
    const run_result r = run({"/usr/bin/curl", "-sS", "--fail", "--data-binary", "hello", base + "/echo", base + "/echo"});
    ASSERT_EQ(r.status.code, 0) << r.err;
    EXPECT_NE(r.out.find("\"body_bytes\": 5"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"User-Agent\", \"curl/"), std::string::npos) << r.out;
    const auto stats = origin.wait_for_stats([](const origin_stats& s) { return s.connections_open == 0; });
    ASSERT_TRUE(stats);
    EXPECT_EQ(stats->connections_accepted, 1U);
    EXPECT_EQ(stats->requests, 2U);
}

TEST(origin_process, sigterm_ends_it_cleanly)
{
    origin_instance origin;
    raw_connection open{origin.http_port()}; // an idle keep-alive connection does not hold it
    const auto status = origin.stop();
    ASSERT_TRUE(status);
    EXPECT_TRUE(status->exited());
    EXPECT_EQ(status->code, 0) << origin.process().err();
    EXPECT_EQ(origin.process().err(), "");
}

// The TLS listener (origin_options::tls): certificates by SNI, X-Origin-Sni, the SNI list in
// /stats; the plaintext listener is unchanged (no X-Origin-Sni there).
TEST(origin_process, tls_listener_picks_the_certificate_by_sni_and_reports_it)
{
    test_ca ca;
    temp_dir certs;
    const auto a = ca.issue(certs.path(), "a", {.sans = {"a.example.com"}});
    const auto wild = ca.issue(certs.path(), "wild", {.sans = {"*.w.example.com"}, .key = key_kind::rsa_2048});
    origin_instance origin{{.tls = {{"a.example.com", a.crt, a.key}, {"*.w.example.com", wild.crt, wild.key}}}};
    ASSERT_NE(origin.https_port(), 0);
    const std::string port = std::to_string(origin.https_port());

    const run_result r = run({"/usr/bin/curl", "-sS", "-i", "--cacert", ca.certificate().string(), "--resolve",
                              "x.w.example.com:" + port + ":127.0.0.1", "https://x.w.example.com:" + port + "/echo"});
    ASSERT_EQ(r.status.code, 0) << r.err;
    EXPECT_NE(r.out.find("X-Origin-Sni: x.w.example.com\r\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"sni\": \"x.w.example.com\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"tls\": true"), std::string::npos) << r.out;

    const auto exact = fetch_served_certificate(origin.https_port(), "a.example.com");
    ASSERT_TRUE(exact.ok) << exact.output;
    EXPECT_EQ(exact.facts.serial, a.serial);
    const auto by_wildcard = fetch_served_certificate(origin.https_port(), "y.w.example.com");
    ASSERT_TRUE(by_wildcard.ok) << by_wildcard.output;
    EXPECT_EQ(by_wildcard.facts.serial, wild.serial);
    const auto without_sni = fetch_served_certificate(origin.https_port(), "");
    ASSERT_TRUE(without_sni.ok) << without_sni.output;
    EXPECT_EQ(without_sni.facts.serial, a.serial) << "the first certificate is the default";

    const origin_stats stats = origin.stats();
    EXPECT_EQ(stats.tls_connections_accepted, 4U);
    EXPECT_EQ(stats.sni, (std::vector<std::string>{"x.w.example.com", "a.example.com", "y.w.example.com", ""}));

    // tls_keepalive: two requests on one verified connection.
    tls_keepalive keep{origin.https_port(), "a.example.com", ca.certificate()};
    ASSERT_TRUE(keep.ok()) << keep.error();
    EXPECT_EQ(keep.peer_serial(), a.serial);
    const auto first = keep.get("a.example.com", "/echo");
    EXPECT_EQ(first.first, 200U) << keep.error();
    EXPECT_NE(first.second.find("\"connection_id\""), std::string::npos) << first.second;
    EXPECT_EQ(keep.get("a.example.com", "/bytes/100000?chunked=1").first, 200U) << keep.error();
    EXPECT_EQ(keep.get("a.example.com", "/").first, 200U) << keep.error();
    EXPECT_EQ(origin.stats().tls_connections_accepted, 5U);
    tls_keepalive wrong_name{origin.https_port(), "b.example.com", ca.certificate()};
    EXPECT_FALSE(wrong_name.ok()) << "the certificate for a.example.com verified for b.example.com";

    const http_reply plain = http_request(origin.http_port(), "GET", "/");
    EXPECT_EQ(plain.status, 200U);
    EXPECT_FALSE(plain.headers.contains("x-origin-sni"));
}

} // namespace
} // namespace stork::test
