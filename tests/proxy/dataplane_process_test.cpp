// The HTTP/1.1 data plane of a real storkd, black-box: curl, wrk, raw sockets and the
// Python origin (tests/support/origin.py) on loopback. design.md §3 and
// docs/data-plane.md are the contract.
//
// Most cases share one storkd and one origin (dataplane_process, set up once per suite);
// the ones that stop, reload or need a fresh origin start their own.
#include "tests/support/http_client.hpp"
#include "tests/support/origin_instance.hpp"
#include "tests/support/process.hpp"
#include "tests/support/storkd_instance.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

namespace stork {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using namespace std::chrono_literals;
namespace json = boost::json;
using steady = std::chrono::steady_clock;

const std::string token = "0123456789abcdef0123456789abcdef";
const std::vector<std::pair<std::string, std::string>> auth{{"Authorization", "Bearer " + token}};
const std::string curl_path = "/usr/bin/curl";

std::string lower(std::string s)
{
    for (auto& c : s) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
}

std::size_t count_of(const std::string& text, const std::string& what)
{
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) {
        ++n;
    }
    return n;
}

long long ms_since(steady::time_point t)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t).count();
}

// --- curl ---------------------------------------------------------------------------------

struct curl_reply {
    int exit = -1;
    unsigned status = 0;
    std::multimap<std::string, std::string> headers; // lower-case names
    std::string head;                                // the final head, as received
    std::string body;
    std::string err;

    std::string header(const std::string& name) const
    {
        const auto it = headers.find(lower(name));
        return it == headers.end() ? std::string{} : it->second;
    }
    bool has(const std::string& name) const { return headers.contains(lower(name)); }
};

// curl -i (HTTP/1.1) with `args`; the reply's last head (1xx heads skipped) and body.
curl_reply curl(std::vector<std::string> args, std::chrono::milliseconds timeout = 30s)
{
    std::vector<std::string> argv{curl_path, "-sS", "-i", "--http1.1", "--max-time", "25"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = test::run(argv, timeout);
    curl_reply reply;
    reply.exit = r.status.code;
    reply.err = r.err;
    std::string rest = r.out;
    for (;;) {
        const auto end = rest.find("\r\n\r\n");
        if (end == std::string::npos || !rest.starts_with("HTTP/")) {
            reply.body = rest;
            break;
        }
        std::string head = rest.substr(0, end + 2);
        rest = rest.substr(end + 4);
        const auto sp = head.find(' ');
        const unsigned status = static_cast<unsigned>(std::atoi(head.c_str() + sp + 1));
        if (status >= 100 && status < 200 && status != 101) {
            continue; // interim response
        }
        reply.status = status;
        reply.head = head;
        std::size_t at = head.find("\r\n") + 2;
        while (at < head.size()) {
            const auto eol = head.find("\r\n", at);
            const std::string line = head.substr(at, eol - at);
            at = eol + 2;
            const auto colon = line.find(':');
            if (colon == std::string::npos) {
                continue;
            }
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') {
                value.erase(0, 1);
            }
            reply.headers.emplace(lower(line.substr(0, colon)), value);
        }
        reply.body = rest;
        break;
    }
    return reply;
}

std::string url(std::uint16_t port, const std::string& target)
{
    return "http://127.0.0.1:" + std::to_string(port) + target;
}

// The values of header `name` as the origin's /echo saw them.
std::vector<std::string> echoed(const json::value& echo, const std::string& name)
{
    std::vector<std::string> values;
    for (const auto& pair : echo.at("headers").as_array()) {
        if (lower(std::string{pair.as_array()[0].as_string()}) == lower(name)) {
            values.emplace_back(pair.as_array()[1].as_string());
        }
    }
    return values;
}

std::string sha256_of(const std::filesystem::path& file)
{
    const auto r = test::run({"/usr/bin/sha256sum", file.string()});
    return r.out.substr(0, 64);
}

// origin.py's /bytes/N content: byte i is i % 251.
std::string pattern_bytes(std::size_t n)
{
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>(i % 251);
    }
    return s;
}

// VmHWM of a process, in KiB.
long vm_hwm_kib(pid_t pid)
{
    std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("VmHWM:")) {
            return std::atol(line.c_str() + 6);
        }
    }
    return -1;
}

// A port nothing listens on: bound, then closed.
std::uint16_t closed_port()
{
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a{io, {boost::asio::ip::make_address("127.0.0.1"), 0}};
    const auto port = a.local_endpoint().port();
    a.close();
    return port;
}

// One connection to 127.0.0.1:port; true when it was refused.
bool connection_refused(std::uint16_t port)
{
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket s{io};
    boost::system::error_code ec;
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
    return ec == boost::asio::error::connection_refused;
}

// An upstream that answers one request with canned bytes: for what origin.py does not
// send (hop-by-hop response fields). Binds before the constructor returns.
class canned_upstream {
public:
    canned_upstream(std::string response, std::uint16_t port = 0) : response_{std::move(response)}
    {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 8) != 0) {
            ::close(fd_);
            fd_ = -1;
            return;
        }
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread{[this] { serve(); }};
    }
    ~canned_upstream()
    {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    canned_upstream(const canned_upstream&) = delete;
    canned_upstream& operator=(const canned_upstream&) = delete;

    bool ok() const { return fd_ >= 0; }
    std::uint16_t port() const { return port_; }
    // The request heads it received, in order.
    std::vector<std::string> requests() const
    {
        std::lock_guard lock{mutex_};
        return requests_;
    }

private:
    void serve()
    {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) {
                continue;
            }
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) {
                continue;
            }
            std::string got;
            char buf[4096];
            while (got.find("\r\n\r\n") == std::string::npos) {
                pollfd q{c, POLLIN, 0};
                if (::poll(&q, 1, 5000) <= 0) {
                    break;
                }
                const auto n = ::read(c, buf, sizeof buf);
                if (n <= 0) {
                    break;
                }
                got.append(buf, static_cast<std::size_t>(n));
            }
            {
                std::lock_guard lock{mutex_};
                requests_.push_back(got);
            }
            (void)!::write(c, response_.data(), response_.size());
            ::shutdown(c, SHUT_WR);
            // Let the peer read before the close.
            pollfd q{c, POLLIN, 0};
            ::poll(&q, 1, 2000);
            ::close(c);
        }
    }

    std::string response_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    mutable std::mutex mutex_;
    std::vector<std::string> requests_;
};

// A listener on 127.0.0.1 that never accepts, its accept queue filled by connections of
// its own: the kernel drops further SYNs, so connecting to it hangs.
class stalled_listener {
public:
    stalled_listener()
    {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 0) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            return;
        }
        port_ = ntohs(a.sin_port);
        for (int i = 0; i < 16; ++i) {
            const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            fillers_.push_back(c);
            if (::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
                continue;
            }
            pollfd p{c, POLLOUT, 0};
            if (::poll(&p, 1, 300) == 0) {
                full_ = true; // this one hangs: the queue is full
                return;
            }
        }
    }
    ~stalled_listener()
    {
        for (const int c : fillers_) {
            ::close(c);
        }
        ::close(fd_);
    }
    stalled_listener(const stalled_listener&) = delete;
    stalled_listener& operator=(const stalled_listener&) = delete;

    bool ok() const { return full_; }
    std::uint16_t port() const { return port_; }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
    bool full_ = false;
    std::vector<int> fillers_;
};

// A DNS server for storkd's address cache: every A query is answered 127.0.0.1 (TTL 60),
// every other type NOERROR without answers. For rules that name their target by DNS name.
class fake_dns {
public:
    fake_dns()
    {
        fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread{[this] { serve(); }};
    }
    ~fake_dns()
    {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    fake_dns(const fake_dns&) = delete;
    fake_dns& operator=(const fake_dns&) = delete;

    std::uint16_t port() const { return port_; }

private:
    void serve()
    {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) {
                continue;
            }
            unsigned char q[512];
            sockaddr_in from{};
            socklen_t len = sizeof from;
            const auto n = ::recvfrom(fd_, q, sizeof q, 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n < 17) {
                continue;
            }
            std::size_t at = 12; // the question's name
            while (at < static_cast<std::size_t>(n) && q[at] != 0) {
                at += q[at] + 1u;
            }
            const std::size_t question_end = at + 5;
            if (question_end > static_cast<std::size_t>(n)) {
                continue;
            }
            const bool a_query = q[at + 1] == 0 && q[at + 2] == 1;
            std::string r(reinterpret_cast<const char*>(q), question_end);
            r[2] = static_cast<char>(0x81); // QR, RD
            r[3] = static_cast<char>(0x80); // RA, NOERROR
            r[4] = 0;
            r[5] = 1;
            r[6] = 0;
            r[7] = a_query ? 1 : 0;
            r[8] = r[9] = r[10] = r[11] = 0;
            if (a_query) {
                const unsigned char answer[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1};
                r.append(reinterpret_cast<const char*>(answer), sizeof answer);
            }
            ::sendto(fd_, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
    }

    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// --- storkd -------------------------------------------------------------------------------

struct stack_options {
    bool fallback = true;
    std::string access_log = "off";
    std::string extra; // more YAML
    int workers = 2;
    std::string keepalive = "75s";
};

// A storkd with its folder and configuration.
class storkd_stack {
public:
    storkd_stack(std::uint16_t fallback_port, const stack_options& o)
    {
        dir_.write("admin.token", token + "\n");
        std::string yaml = "node: dp-test\n"
                           "workers: " + std::to_string(o.workers) + "\n"
                           "listen:\n"
                           "  http: [\"127.0.0.1:0\"]\n"
                           "admin:\n"
                           "  listen: \"127.0.0.1:0\"\n"
                           "  token_file: admin.token\n"
                           "rules:\n"
                           "  path: rules\n"
                           "upstream:\n"
                           "  connect_timeout: 500ms\n"
                           "timeouts:\n"
                           "  header_read: 1s\n"
                           "  keepalive: " + o.keepalive + "\n"
                           "  drain: 10s\n"
                           "access_log: \"" + o.access_log + "\"\n" + o.extra;
        if (o.fallback) {
            yaml += "fallback:\n  http: \"127.0.0.1:" + std::to_string(fallback_port) + "\"\n";
        }
        config_ = dir_.write("storkd.yaml", yaml);
        storkd_.emplace(config_);
    }

    test::storkd_instance& d() { return *storkd_; }
    std::uint16_t http() const { return storkd_->http_port(); }
    std::uint16_t admin() const { return storkd_->admin_port(); }
    const test::temp_dir& dir() const { return dir_; }
    std::string err() { return storkd_->process().err(); }

    std::string metrics() { return test::http_request(admin(), "GET", "/metrics").body; }

    // The value of one sample ("name{labels} value"), -1 when absent.
    double metric(const std::string& sample)
    {
        const std::string text = "\n" + metrics();
        const auto at = text.find("\n" + sample + " ");
        if (at == std::string::npos) {
            return -1;
        }
        return std::stod(text.substr(at + sample.size() + 2));
    }

    // PUT /v1/rules/HOST, then waits until every worker's table has it.
    ::testing::AssertionResult put_rule(const std::string& host, const std::string& body)
    {
        const auto r = test::http_request(admin(), "PUT", "/v1/rules/" + host, auth, body);
        if (r.status != 200 && r.status != 201) {
            return ::testing::AssertionFailure() << "PUT " << host << ": " << r.status << " " << r.body;
        }
        const auto started = steady::now();
        for (;;) {
            const double wanted = metric("stork_rules_generation");
            if (metric("stork_rules_table_generation") >= wanted && wanted >= 0) {
                return ::testing::AssertionSuccess();
            }
            if (steady::now() - started > 10s) {
                return ::testing::AssertionFailure() << "the table never reached the workers";
            }
            std::this_thread::sleep_for(5ms);
        }
    }

    std::optional<test::exit_status> stop()
    {
        storkd_->process().send_signal(SIGTERM);
        return storkd_->process().wait(30s);
    }

private:
    test::temp_dir dir_;
    std::filesystem::path config_;
    std::optional<test::storkd_instance> storkd_;
};

std::string proxy_rule(const std::string& target, std::uint16_t port, bool preserve_host)
{
    return R"({"target":")" + target + R"(","upstream":"127.0.0.1:)" + std::to_string(port) +
           R"(","upstream_tls":false,"preserve_host":)" + (preserve_host ? "true" : "false") + "}";
}

// --- the shared storkd --------------------------------------------------------------------

class dataplane_process : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        origin_ = std::make_unique<test::origin_instance>();
        log_dir_ = std::make_unique<test::temp_dir>();
        dns_ = std::make_unique<fake_dns>();
        stack_options o;
        o.access_log = (log_dir_->path() / "access.log").string();
        o.extra = "dns:\n  resolvers: [\"127.0.0.1:" + std::to_string(dns_->port()) + "\"]\n";
        stack_ = std::make_unique<storkd_stack>(origin_->http_port(), o);
        if (stack_->admin() == 0 || origin_->http_port() == 0) {
            return;
        }
        const auto op = origin_->http_port();
        bool ok = true;
        const auto add = [&](const std::string& host, const std::string& body) {
            const auto r = stack_->put_rule(host, body);
            if (!r) {
                ADD_FAILURE() << r.message();
                ok = false;
            }
        };
        add("proxy.example.com", proxy_rule("app.new.example", op, false));
        add("keep.example.com", proxy_rule("keep.new.example", op, true));
        add("ws.example.com", proxy_rule("ws.new.example", origin_->ws_port(), true));
        add("redirect.example.com", R"({"target":"app.new.example","mode":"redirect","redirect_code":308})");
        add("moved.example.com", R"({"target":"moved.new.example","mode":"redirect","redirect_code":301})");
        add("expired.example.com", R"({"target":"gone.new.example","upstream":"127.0.0.1:)" + std::to_string(op) +
                                       R"(","upstream_tls":false,"expires_at":"2020-01-01T00:00:00Z"})");
        add("closed.example.com", proxy_rule("closed.new.example", closed_port(), false));
        ready_ = ok;
    }

    static void TearDownTestSuite()
    {
        stack_.reset();
        origin_.reset();
        log_dir_.reset();
        dns_.reset();
    }

    void SetUp() override
    {
        ASSERT_TRUE(ready_) << "the shared storkd is not up; stderr:\n" << (stack_ ? stack_->err() : "");
    }

    void TearDown() override
    {
        if (HasFailure()) {
            std::cerr << "--- storkd stderr ---\n" << stack_->err() << "--- origin stderr ---\n"
                      << origin_->process().err();
        }
    }

    static std::uint16_t port() { return stack_->http(); }
    static std::vector<std::string> host(const std::string& h) { return {"-H", "Host: " + h}; }
    static curl_reply get(const std::string& h, const std::string& target, std::vector<std::string> more = {})
    {
        std::vector<std::string> args = host(h);
        args.insert(args.end(), more.begin(), more.end());
        args.push_back(url(port(), target));
        return curl(args);
    }

    static inline std::unique_ptr<test::origin_instance> origin_;
    static inline std::unique_ptr<test::temp_dir> log_dir_;
    static inline std::unique_ptr<fake_dns> dns_;
    static inline std::unique_ptr<storkd_stack> stack_;
    static inline bool ready_ = false;
};

// 1. Head rewriting towards the origin (docs/data-plane.md, "Head rewriting").
TEST_F(dataplane_process, proxy_rewrites_the_request_head)
{
    const auto r = get("proxy.example.com", "/echo?x=1",
                       {"-H", "X-Forwarded-For: 203.0.113.9", "-H", "Connection: keep-alive, X-Custom-Hop", "-H",
                        "X-Custom-Hop: 1", "-H", "Keep-Alive: 5", "-H", "TE: trailers", "-H", "X-End-To-End: yes"});
    ASSERT_EQ(r.exit, 0) << r.err;
    ASSERT_EQ(r.status, 200u) << r.head << r.body;
    const auto echo = json::parse(r.body);
    EXPECT_EQ(echo.at("target"), "/echo?x=1");
    EXPECT_THAT(echoed(echo, "Host"), ::testing::ElementsAre("app.new.example"));
    EXPECT_THAT(echoed(echo, "X-Forwarded-For"), ::testing::ElementsAre("203.0.113.9, 127.0.0.1"));
    EXPECT_THAT(echoed(echo, "X-Forwarded-Proto"), ::testing::ElementsAre("http"));
    EXPECT_THAT(echoed(echo, "X-Forwarded-Host"), ::testing::ElementsAre("proxy.example.com"));
    EXPECT_THAT(echoed(echo, "Via"), ::testing::ElementsAre("1.1 dp-test"));
    EXPECT_THAT(echoed(echo, "X-End-To-End"), ::testing::ElementsAre("yes"));
    EXPECT_THAT(echoed(echo, "X-Custom-Hop"), ::testing::IsEmpty());
    EXPECT_THAT(echoed(echo, "Keep-Alive"), ::testing::IsEmpty());
    EXPECT_THAT(echoed(echo, "TE"), ::testing::IsEmpty());
    for (const auto& c : echoed(echo, "Connection")) {
        EXPECT_THAT(lower(c), Not(HasSubstr("x-custom-hop")));
        EXPECT_THAT(lower(c), Not(HasSubstr("keep-alive")));
    }
    EXPECT_EQ(r.header("X-Connection-Id").empty(), false) << r.head;

    // preserve_host: the requested Host goes on.
    const auto kept = get("keep.example.com", "/echo");
    ASSERT_EQ(kept.status, 200u) << kept.head << kept.body;
    EXPECT_THAT(echoed(json::parse(kept.body), "Host"), ::testing::ElementsAre("keep.example.com"));
    EXPECT_THAT(echoed(json::parse(kept.body), "X-Forwarded-For"), ::testing::ElementsAre("127.0.0.1"));
}

TEST_F(dataplane_process, proxy_drops_hop_by_hop_response_fields)
{
    canned_upstream up{"HTTP/1.1 200 OK\r\n"
                       "Content-Length: 2\r\n"
                       "Connection: X-Resp-Hop\r\n"
                       "X-Resp-Hop: 1\r\n"
                       "Keep-Alive: timeout=5\r\n"
                       "Proxy-Connection: keep-alive\r\n"
                       "Upgrade: h2c\r\n"
                       "X-End-To-End: yes\r\n"
                       "\r\n"
                       "ok"};
    ASSERT_TRUE(up.ok());
    ASSERT_TRUE(stack_->put_rule("canned.example.com", proxy_rule("canned.new.example", up.port(), false)));
    const auto r = get("canned.example.com", "/");
    ASSERT_EQ(r.status, 200u) << r.err << r.head;
    EXPECT_EQ(r.body, "ok");
    EXPECT_EQ(r.header("X-End-To-End"), "yes");
    EXPECT_FALSE(r.has("X-Resp-Hop")) << r.head;
    EXPECT_FALSE(r.has("Keep-Alive")) << r.head;
    EXPECT_FALSE(r.has("Proxy-Connection")) << r.head;
    EXPECT_FALSE(r.has("Upgrade")) << r.head;
    EXPECT_THAT(lower(r.header("Connection")), Not(HasSubstr("x-resp-hop"))) << r.head;
}

// 2.
TEST_F(dataplane_process, redirect_rules_answer_with_their_code_and_location)
{
    const auto r = get("redirect.example.com", "/some/path?q=1&b=2");
    ASSERT_EQ(r.exit, 0) << r.err;
    EXPECT_EQ(r.status, 308u) << r.head;
    EXPECT_EQ(r.header("Location"), "https://app.new.example/some/path?q=1&b=2") << r.head;
    const auto moved = get("MOVED.example.com.", "/");
    EXPECT_EQ(moved.status, 301u) << moved.head;
    EXPECT_EQ(moved.header("Location"), "https://moved.new.example/") << moved.head;
}

// 3.
TEST_F(dataplane_process, a_host_without_a_rule_goes_to_the_fallback_with_its_host)
{
    const auto r = get("unknown.example.org", "/echo");
    ASSERT_EQ(r.status, 200u) << r.err << r.head << r.body;
    EXPECT_THAT(echoed(json::parse(r.body), "Host"), ::testing::ElementsAre("unknown.example.org"));
}

TEST(dataplane_no_fallback_process, a_host_without_a_rule_gets_404)
{
    stack_options o;
    o.fallback = false;
    storkd_stack s{0, o};
    ASSERT_NE(s.http(), 0) << s.err();
    const auto r = curl({"-H", "Host: unknown.example.org", url(s.http(), "/")});
    EXPECT_EQ(r.status, 404u) << r.err << r.head;
    EXPECT_FALSE(r.body.empty());
    EXPECT_LT(r.body.size(), 200u) << r.body;
    EXPECT_THAT(r.header("Content-Type"), StartsWith("text/plain"));
    const auto stopped = s.stop();
    ASSERT_TRUE(stopped);
    EXPECT_EQ(stopped->code, 0) << s.err();
}

// 4.
TEST_F(dataplane_process, an_expired_rule_answers_503_with_the_dns_to_change)
{
    const auto r = get("expired.example.com", "/any");
    EXPECT_EQ(r.status, 503u) << r.head;
    EXPECT_EQ(r.header("Cache-Control"), "no-store") << r.head;
    EXPECT_THAT(r.body, HasSubstr("gone.new.example"));
    EXPECT_THAT(r.body, HasSubstr("expired.example.com"));
}

// 5. Certificate challenges go to the new region whatever the mode. A redirect rule
// cannot have an "upstream" (routing/rule.cpp refuses it), so its challenges go to the
// resolved target on port 80: fake_dns resolves it to 127.0.0.1, a canned upstream
// listens on 127.0.0.1:80.
TEST_F(dataplane_process, acme_challenges_of_a_redirect_host_reach_the_target)
{
    canned_upstream up{"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nchallenge", 80};
    if (!up.ok()) {
        GTEST_SKIP() << "cannot bind 127.0.0.1:80 (not root, or taken)";
    }
    ASSERT_TRUE(stack_->put_rule("acme.example.com", R"({"target":"acme.new.example","mode":"redirect","upstream_tls":false})"));
    const auto r = get("acme.example.com", "/.well-known/acme-challenge/x");
    EXPECT_EQ(r.status, 200u) << r.head << r.body << stack_->err();
    EXPECT_EQ(r.body, "challenge");
    ASSERT_EQ(up.requests().size(), 1u);
    EXPECT_THAT(up.requests()[0], StartsWith("GET /.well-known/acme-challenge/x HTTP/1.1\r\n"));
    // Anything else of that host is still redirected.
    EXPECT_EQ(get("acme.example.com", "/x").status, 308u);
}

TEST_F(dataplane_process, acme_challenges_of_an_expired_host_reach_the_upstream)
{
    const auto r = get("expired.example.com", "/.well-known/acme-challenge/token1");
    EXPECT_EQ(r.status, 200u) << r.head << r.body;
    EXPECT_EQ(r.body, "hello");
    EXPECT_EQ(r.header("X-Origin"), "stork-test");
}

// 6. Ambiguous framing and malformed heads: 400 (431), Connection: close, closed, and the
// origin sees nothing.
TEST_F(dataplane_process, smuggling_shapes_are_refused_and_never_reach_the_origin)
{
    const std::string head = "POST /echo HTTP/1.1\r\nHost: proxy.example.com\r\n";
    const std::vector<std::pair<std::string, std::string>> cases{
        {"CL+TE", head + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
        {"TE+CL", head + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"},
        {"two equal Content-Length", head + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"},
        {"Content-Length list", head + "Content-Length: 5, 5\r\n\r\nhello"},
        {"TE gzip", head + "Transfer-Encoding: gzip\r\n\r\nhello"},
        {"TE chunked, identity", head + "Transfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
        {"TE in HTTP/1.0", "POST /echo HTTP/1.0\r\nHost: proxy.example.com\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
        {"bad chunk size", head + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"},
        {"chunk data without CRLF", head + "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n"},
        {"obs-fold", head + "X-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n"},
        {"NUL in a value", head + "X-Nul: a" + std::string(1, '\0') + "b\r\n\r\n"},
        {"bare LF", "GET /echo HTTP/1.1\nHost: proxy.example.com\n\n"},
        {"bare LF after the request line", "GET /echo HTTP/1.1\r\nHost: proxy.example.com\nX: y\r\n\r\n"},
        {"space before colon", head + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"},
    };
    const auto before = origin_->stats().requests;
    for (const auto& [name, bytes] : cases) {
        SCOPED_TRACE(name);
        const auto t0 = steady::now();
        const std::string got = test::raw_exchange(port(), bytes);
        EXPECT_THAT(got, StartsWith("HTTP/1.1 400 ")) << got;
        EXPECT_THAT(got, HasSubstr("\r\nConnection: close\r\n")) << got;
        EXPECT_EQ(count_of(got, "HTTP/1.1 "), 1u) << got;
        EXPECT_LT(ms_since(t0), 5000) << "the connection was not closed";
    }
    {
        SCOPED_TRACE("head over 64 KiB");
        const auto t0 = steady::now();
        const std::string got =
            test::raw_exchange(port(), "GET /echo HTTP/1.1\r\nHost: proxy.example.com\r\nX-Big: " + std::string(70000, 'a') + "\r\n\r\n");
        EXPECT_THAT(got, StartsWith("HTTP/1.1 431 ")) << got.substr(0, 300);
        EXPECT_THAT(got, HasSubstr("\r\nConnection: close\r\n"));
        EXPECT_LT(ms_since(t0), 5000) << "the connection was not closed";
    }
    {
        SCOPED_TRACE("more than 256 fields");
        std::string many = "GET /echo HTTP/1.1\r\nHost: proxy.example.com\r\n";
        for (int i = 0; i < 300; ++i) {
            many += "X-F" + std::to_string(i) + ": v\r\n";
        }
        const std::string got = test::raw_exchange(port(), many + "\r\n");
        EXPECT_THAT(got, StartsWith("HTTP/1.1 431 ")) << got.substr(0, 300);
    }
    EXPECT_EQ(origin_->stats().requests, before) << "a refused request reached the origin";
}

// A chunk error after part of the body went upstream: the upstream connection is
// aborted, so the origin never completes that message.
TEST_F(dataplane_process, a_late_chunk_error_never_completes_a_message_upstream)
{
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket s{io};
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port()});
    const auto before = origin_->stats().requests;
    boost::asio::write(s, boost::asio::buffer(std::string{"POST /echo HTTP/1.1\r\nHost: proxy.example.com\r\n"
                                                          "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"}));
    // The head and the first chunk are upstream once the origin counted the request.
    ASSERT_TRUE(origin_->wait_for_stats([&](const test::origin_stats& st) { return st.requests > before; }, 5s));
    boost::asio::write(s, boost::asio::buffer(std::string{"zz\r\n0\r\n\r\n"}));
    std::string got;
    boost::system::error_code ec;
    char buf[4096];
    for (;;) {
        const auto n = s.read_some(boost::asio::buffer(buf), ec);
        got.append(buf, n);
        if (ec) {
            break;
        }
    }
    EXPECT_THAT(got, StartsWith("HTTP/1.1 400 ")) << got;
    EXPECT_THAT(got, Not(HasSubstr("body_sha256"))) << "the origin answered a completed message";
}

// 7.
TEST_F(dataplane_process, pipelined_requests_are_answered_in_order_on_one_connection)
{
    const std::string got = test::raw_exchange(port(), "GET /echo HTTP/1.1\r\nHost: proxy.example.com\r\n\r\n"
                                                       "GET /status/201 HTTP/1.1\r\nHost: proxy.example.com\r\n\r\n"
                                                       "GET /redirected HTTP/1.1\r\nHost: redirect.example.com\r\n"
                                                       "Connection: close\r\n\r\n");
    const auto first = got.find("HTTP/1.1 200 ");
    const auto second = got.find("HTTP/1.1 201 ");
    const auto third = got.find("HTTP/1.1 308 ");
    ASSERT_NE(first, std::string::npos) << got;
    ASSERT_NE(second, std::string::npos) << got;
    ASSERT_NE(third, std::string::npos) << got;
    EXPECT_EQ(first, 0u);
    EXPECT_LT(first, second);
    EXPECT_LT(second, third);
    EXPECT_EQ(count_of(got, "HTTP/1.1 "), 3u) << got;
    EXPECT_THAT(got, HasSubstr("\"target\": \"/echo\""));
}

// HEAD: the response has a length but no body, and the next request follows at once.
TEST_F(dataplane_process, a_head_response_has_no_body_and_keeps_the_connection)
{
    const std::string got = test::raw_exchange(port(), "HEAD /bytes/1000 HTTP/1.1\r\nHost: proxy.example.com\r\n\r\n"
                                                       "GET /status/204 HTTP/1.1\r\nHost: proxy.example.com\r\n"
                                                       "Connection: close\r\n\r\n");
    ASSERT_THAT(got, StartsWith("HTTP/1.1 200 ")) << got;
    EXPECT_THAT(got, HasSubstr("\r\nContent-Length: 1000\r\n")) << got;
    const auto end = got.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos);
    EXPECT_THAT(got.substr(end + 4), StartsWith("HTTP/1.1 204 ")) << got;
}

// HTTP/1.0 without keep-alive: the answer, then the connection ends.
TEST_F(dataplane_process, an_http_1_0_request_is_answered_and_closed)
{
    const auto t0 = steady::now();
    const std::string got = test::raw_exchange(port(), "GET /echo HTTP/1.0\r\nHost: proxy.example.com\r\n\r\n");
    EXPECT_THAT(got, StartsWith("HTTP/1.1 200 ")) << got;
    EXPECT_THAT(got, HasSubstr("\"version\": \"HTTP/1.0\"")) << got;
    EXPECT_LT(ms_since(t0), 5000) << "the connection was not closed";
}

// 8. Slowloris: 408 after timeouts.header_read (1 s here, checked by a 250 ms sweep).
TEST_F(dataplane_process, a_slow_head_gets_408_after_the_header_timeout)
{
    const auto t0 = steady::now();
    const std::string got = test::raw_exchange(port(), "GET /echo HTTP/1.1\r\nHost: proxy.exa");
    const auto took = ms_since(t0);
    std::cout << "408 after " << took << " ms\n";
    EXPECT_THAT(got, StartsWith("HTTP/1.1 408 ")) << got;
    EXPECT_GE(took, 800);
    EXPECT_LT(took, 5000);
}

// 9. Bodies stream both ways, whole and unchanged.
TEST_F(dataplane_process, three_megabyte_bodies_both_ways)
{
    constexpr std::size_t size = 3 * 1024 * 1024;
    std::string data(size, '\0');
    std::mt19937 rng{42};
    for (auto& c : data) {
        c = static_cast<char>(rng());
    }
    const auto file = log_dir_->write("upload.bin", data);
    const std::string sha = sha256_of(file);

    for (const bool chunked : {false, true}) {
        SCOPED_TRACE(chunked ? "chunked upload" : "Content-Length upload");
        std::vector<std::string> more{"--data-binary", "@" + file.string(), "-H", "Content-Type: application/octet-stream"};
        if (chunked) {
            more.insert(more.end(), {"-H", "Transfer-Encoding: chunked"});
        }
        const auto r = get("proxy.example.com", "/upload", more);
        ASSERT_EQ(r.status, 200u) << r.err << r.head << r.body;
        const auto reply = json::parse(r.body);
        EXPECT_EQ(reply.at("body_bytes"), size);
        EXPECT_EQ(std::string{reply.at("body_sha256").as_string()}, sha);
    }

    const auto expected = log_dir_->write("expected.bin", pattern_bytes(size));
    const std::string expected_sha = sha256_of(expected);
    for (const std::string query : {"", "?chunked=1", "?close=1"}) {
        SCOPED_TRACE("download " + query);
        const auto out = log_dir_->path() / "download.bin";
        std::filesystem::remove(out);
        const auto r = test::run({curl_path, "-sS", "--http1.1", "-o", out.string(), "-w", "%{http_code}", "-H",
                                  "Host: proxy.example.com", url(port(), "/bytes/" + std::to_string(size) + query)});
        EXPECT_EQ(r.status.code, 0) << r.err;
        EXPECT_EQ(r.out, "200");
        EXPECT_EQ(std::filesystem::file_size(out), size);
        EXPECT_EQ(sha256_of(out), expected_sha);
    }
}

TEST_F(dataplane_process, a_200_megabyte_download_keeps_memory_bounded)
{
    constexpr std::uint64_t size = 200ull * 1024 * 1024;
    const pid_t pid = stack_->d().process().pid();
    const long before = vm_hwm_kib(pid);
    const auto t0 = steady::now();
    const auto r = test::run({curl_path, "-sS", "--http1.1", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "-H",
                              "Host: proxy.example.com", url(port(), "/bytes/" + std::to_string(size))},
                             120s);
    const long after = vm_hwm_kib(pid);
    const auto took = ms_since(t0);
    EXPECT_EQ(r.status.code, 0) << r.err;
    EXPECT_EQ(r.out, "200 " + std::to_string(size));
    std::cout << "storkd VmHWM before " << before << " KiB, after " << after << " KiB, grew " << (after - before)
              << " KiB over a 200 MiB download (" << took << " ms)\n";
    RecordProperty("vm_hwm_growth_kib", static_cast<int>(after - before));
    ASSERT_GT(before, 0);
    EXPECT_LT(after - before, 16 * 1024);
}

// 10.
TEST_F(dataplane_process, expect_100_continue_uploads_and_417)
{
    const auto file = log_dir_->write("expect.bin", std::string(200000, 'e'));
    const std::string sha = sha256_of(file);
    const auto r = get("proxy.example.com", "/upload",
                       {"--data-binary", "@" + file.string(), "-H", "Expect: 100-continue", "--expect100-timeout", "10"});
    ASSERT_EQ(r.status, 200u) << r.err << r.head << r.body;
    const auto reply = json::parse(r.body);
    EXPECT_EQ(reply.at("body_bytes"), 200000);
    EXPECT_EQ(std::string{reply.at("body_sha256").as_string()}, sha);

    const auto t0 = steady::now();
    const auto rejected = get("proxy.example.com", "/upload?reject=1",
                              {"--data-binary", "@" + file.string(), "-H", "Expect: 100-continue", "--expect100-timeout", "10"});
    EXPECT_EQ(rejected.status, 417u) << rejected.err << rejected.head << rejected.body;
    EXPECT_LT(ms_since(t0), 5000) << "curl waited for its expect timeout: the 417 came late";
}

// 11.
TEST_F(dataplane_process, websocket_upgrade_is_tunnelled)
{
    const auto r = test::run({test::python3(), test::support_script("ws_client.py").string(),
                              "ws://127.0.0.1:" + std::to_string(port()) + "/chat", "ping-stork", "--count", "3", "--host",
                              "ws.example.com", "--timeout", "5"},
                             20s);
    EXPECT_EQ(r.status.code, 0) << r.out << r.err;
    EXPECT_EQ(r.out, "ping-stork\nping-stork\nping-stork\n");
}

// 12. One curl, 20 requests on one client connection: one upstream connection, reused.
TEST_F(dataplane_process, upstream_connections_are_pooled)
{
    test::origin_instance fresh;
    ASSERT_NE(fresh.http_port(), 0);
    ASSERT_TRUE(stack_->put_rule("pool.example.com", proxy_rule("pool.new.example", fresh.http_port(), false)));
    const double reused_before = stack_->metric("stork_upstream_connections_reused_total");
    std::vector<std::string> args{curl_path, "-sS", "--http1.1", "-o", "/dev/null", "-w", "%{http_code}\n", "-H",
                                  "Host: pool.example.com"};
    for (int i = 0; i < 20; ++i) {
        args.push_back(url(port(), "/echo?n=" + std::to_string(i)));
    }
    const auto r = test::run(args);
    EXPECT_EQ(r.status.code, 0) << r.err;
    EXPECT_EQ(count_of(r.out, "200\n"), 20u) << r.out;
    const auto st = fresh.stats();
    EXPECT_EQ(st.requests, 20u);
    EXPECT_EQ(st.connections_accepted, 1u);
    const double reused = stack_->metric("stork_upstream_connections_reused_total") - reused_before;
    EXPECT_GE(reused, 19) << stack_->metrics();
}

// 13. Failures towards the upstream.
TEST_F(dataplane_process, a_refused_connect_is_502_with_a_short_body)
{
    const auto r = get("closed.example.com", "/");
    EXPECT_EQ(r.status, 502u) << r.head;
    EXPECT_FALSE(r.body.empty());
    EXPECT_LT(r.body.size(), 300u) << r.body;
}

// docs/data-plane.md: "connect refused or timed out → 502 with a short body and the next
// request carries on".
TEST_F(dataplane_process, after_a_refused_connect_the_client_connection_carries_on)
{
    const std::string got = test::raw_exchange(port(), "GET /a HTTP/1.1\r\nHost: closed.example.com\r\n\r\n"
                                                       "GET /echo HTTP/1.1\r\nHost: proxy.example.com\r\n"
                                                       "Connection: close\r\n\r\n");
    EXPECT_THAT(got, StartsWith("HTTP/1.1 502 ")) << got;
    EXPECT_EQ(count_of(got, "HTTP/1.1 "), 2u) << got;
    EXPECT_THAT(got, HasSubstr("HTTP/1.1 200 ")) << got;
}

// A 502 answered before the body went upstream must not leave the body in the buffer to
// be parsed as the next request: here the body is itself a request for another host.
TEST_F(dataplane_process, a_502_before_forwarding_never_parses_the_body_as_a_request)
{
    ASSERT_TRUE(stack_->put_rule("tls.example.com", R"({"target":"tls.new.example","upstream":"127.0.0.1:)" +
                                                        std::to_string(origin_->http_port()) + R"(","upstream_tls":true})"));
    ASSERT_TRUE(stack_->put_rule("last.example.com", R"({"target":"last.new.example","mode":"redirect"})"));
    const std::string inner = "GET /echo?smuggled=1 HTTP/1.1\r\nHost: proxy.example.com\r\nConnection: close\r\n\r\n";
    const auto before = origin_->stats().requests;
    for (const std::string host : {"tls.example.com", "closed.example.com"}) {
        SCOPED_TRACE(host);
        // The connection stays up after the 502 (the body was read in full), so a last
        // request answered locally closes it: 502, then 308, and nothing in between.
        const std::string last = "GET / HTTP/1.1\r\nHost: last.example.com\r\nConnection: close\r\n\r\n";
        const std::string got = test::raw_exchange(port(), "POST /x HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: " +
                                                               std::to_string(inner.size()) + "\r\n\r\n" + inner + last);
        EXPECT_THAT(got, StartsWith("HTTP/1.1 502 ")) << got;
        EXPECT_EQ(count_of(got, "HTTP/1.1 "), 2u) << got;
        EXPECT_THAT(got, HasSubstr("HTTP/1.1 308 ")) << got;
        EXPECT_THAT(got, Not(HasSubstr("smuggled"))) << got;
    }
    EXPECT_EQ(origin_->stats().requests, before) << "the body of a refused request reached the origin as a request";
}

// Non-routable addresses are no good for a connect timeout here: the sandbox answers
// every outbound connection itself. A loopback listener whose accept queue is full drops
// the SYNs instead, so a connect to it hangs.
TEST_F(dataplane_process, a_connect_timeout_is_502_within_the_timeout)
{
    stalled_listener stalled;
    ASSERT_TRUE(stalled.ok()) << "could not fill a listener's accept queue";
    ASSERT_TRUE(stack_->put_rule("stalled.example.com", proxy_rule("stalled.new.example", stalled.port(), false)));
    const auto t0 = steady::now();
    const auto r = get("stalled.example.com", "/");
    const auto took = ms_since(t0);
    std::cout << "stalled upstream: " << r.status << " after " << took << " ms: " << r.body;
    EXPECT_EQ(r.status, 502u) << r.head << r.body;
    EXPECT_THAT(r.body, HasSubstr("timed out"));
    EXPECT_GE(took, 450);
    EXPECT_LT(took, 3000);
}

TEST_F(dataplane_process, an_upstream_reset_before_the_head_is_502)
{
    const auto r = get("proxy.example.com", "/reset-before-head");
    EXPECT_EQ(r.status, 502u) << r.err << r.head << r.body;
}

TEST_F(dataplane_process, an_upstream_reset_after_the_head_cuts_the_client_connection)
{
    const auto r = get("proxy.example.com", "/reset-after-head");
    EXPECT_EQ(r.status, 200u) << r.head;
    EXPECT_TRUE(r.exit == 18 || r.exit == 56) << "curl exit " << r.exit << ": " << r.err;
    EXPECT_EQ(r.body, "0123456789");
}

// 14.
TEST_F(dataplane_process, the_access_log_has_one_json_line_per_request)
{
    const std::string marker = "log-" + std::to_string(::getpid());
    const auto r = get("proxy.example.com", "/echo?m=" + marker, {"--data-binary", "abcdef"});
    ASSERT_EQ(r.status, 200u);
    const auto path = log_dir_->path() / "access.log";
    std::string line;
    const auto t0 = steady::now();
    while (line.empty() && steady::now() - t0 < 5s) {
        std::ifstream in{path};
        std::string l;
        while (std::getline(in, l)) {
            if (l.find(marker) != std::string::npos) {
                line = l;
            }
        }
        if (line.empty()) {
            std::this_thread::sleep_for(50ms);
        }
    }
    ASSERT_FALSE(line.empty()) << "no access log line in 5 s; file:\n" << test::read_file(path);
    std::cout << line << "\n";
    const auto v = json::parse(line).as_object();
    for (const char* key : {"time", "worker", "client", "host", "method", "path", "status", "bytes_in", "bytes_out",
                            "upstream", "rule", "mode", "duration_us"}) {
        EXPECT_TRUE(v.contains(key)) << key << " missing: " << line;
    }
    if (::testing::Test::HasFailure()) {
        return;
    }
    EXPECT_EQ(v.at("host"), "proxy.example.com");
    EXPECT_EQ(v.at("method"), "POST");
    EXPECT_EQ(std::string{v.at("path").as_string()}, "/echo?m=" + marker);
    EXPECT_EQ(v.at("status"), 200);
    EXPECT_EQ(std::string{v.at("upstream").as_string()}, "127.0.0.1:" + std::to_string(origin_->http_port()));
    EXPECT_EQ(v.at("rule"), "proxy.example.com");
    EXPECT_EQ(v.at("mode"), "proxy");
    EXPECT_THAT(std::string{v.at("client").as_string()}, HasSubstr("127.0.0.1"));
    EXPECT_GT(v.at("bytes_in").to_number<double>(), 6.0);
    EXPECT_GT(v.at("bytes_out").to_number<double>(), static_cast<double>(r.body.size()));
    EXPECT_GE(v.at("duration_us").to_number<double>(), 0.0);
    EXPECT_GE(v.at("worker").to_number<double>(), 0.0);
}

// 15.
TEST_F(dataplane_process, metrics_count_requests_by_mode_and_class)
{
    ASSERT_EQ(get("proxy.example.com", "/").status, 200u);
    ASSERT_EQ(get("redirect.example.com", "/").status, 308u);
    ASSERT_EQ(get("expired.example.com", "/").status, 503u);
    ASSERT_EQ(get("unknown.example.org", "/").status, 200u);
    const std::string m = stack_->metrics();
    EXPECT_GE(stack_->metric(R"(stork_http_requests_total{mode="proxy",status="2xx"})"), 1) << m;
    EXPECT_GE(stack_->metric(R"(stork_http_requests_total{mode="redirect",status="3xx"})"), 1) << m;
    EXPECT_GE(stack_->metric(R"(stork_http_requests_total{mode="expired",status="5xx"})"), 1) << m;
    EXPECT_GE(stack_->metric(R"(stork_http_requests_total{mode="fallback",status="2xx"})"), 1) << m;
    EXPECT_GE(stack_->metric("stork_http_connections_active"), 0) << m;
    EXPECT_GE(stack_->metric("stork_http_connections_accepted_total"), 4) << m;
    EXPECT_GE(stack_->metric("stork_upstream_connections_opened_total"), 1) << m;
}

// 16. SIGTERM: the request in flight finishes, new connections are refused, exit 0.
TEST(dataplane_drain_process, sigterm_finishes_the_request_in_flight)
{
    test::origin_instance origin;
    ASSERT_NE(origin.http_port(), 0);
    storkd_stack s{origin.http_port(), {}};
    ASSERT_NE(s.http(), 0) << s.err();
    ASSERT_TRUE(s.put_rule("slow.example.com", proxy_rule("slow.new.example", origin.http_port(), false)));
    const auto http = s.http();

    test::child_process slow{{curl_path, "-sS", "--http1.1", "-o", "-", "-w", " %{http_code}", "--max-time", "20", "-H",
                              "Host: slow.example.com", url(http, "/slow?ms=1500")}};
    ASSERT_TRUE(origin.wait_for_stats([](const test::origin_stats& st) { return st.requests >= 1; }, 5s));
    const auto t0 = steady::now();
    s.d().process().send_signal(SIGTERM);
    ASSERT_TRUE(s.d().notifications().wait_for("STOPPING", "1", 10s));
    // The acceptors close on the workers' loops, just after STOPPING: allow them 500 ms.
    bool refused = false;
    for (const auto t1 = steady::now(); !refused && steady::now() - t1 < 500ms;) {
        refused = connection_refused(http);
    }
    EXPECT_TRUE(refused) << "new connections still accepted while draining";

    const auto done = slow.wait(15s);
    ASSERT_TRUE(done);
    EXPECT_EQ(done->code, 0) << slow.err();
    EXPECT_EQ(slow.out(), "slow 200");
    const auto stopped = s.d().process().wait(10s);
    ASSERT_TRUE(stopped) << "storkd did not exit after its last request";
    EXPECT_EQ(stopped->code, 0) << s.err();
    std::cout << "exit " << ms_since(t0) << " ms after SIGTERM\n";
    EXPECT_LT(ms_since(t0), 5000);
}

// 17. SIGHUP under load drops nothing.
TEST(dataplane_reload_process, sighup_under_load_drops_no_request)
{
    test::origin_instance origin;
    ASSERT_NE(origin.http_port(), 0);
    storkd_stack s{origin.http_port(), {}};
    ASSERT_NE(s.http(), 0) << s.err();
    ASSERT_TRUE(s.put_rule("load.example.com", proxy_rule("load.new.example", origin.http_port(), false)));

    test::child_process wrk{{"/usr/bin/wrk", "-t1", "-c20", "-d4s", "-H", "Host: load.example.com", url(s.http(), "/")}};
    std::this_thread::sleep_for(300ms); // let the load start: this is about reloading under it
    for (int i = 0; i < 5; ++i) {
        s.d().process().send_signal(SIGHUP);
        const auto reloaded = s.d().notifications().wait_for("STORK_RELOAD", std::nullopt, 10s);
        ASSERT_TRUE(reloaded) << "reload " << i << " not reported";
        EXPECT_EQ(reloaded->at("STORK_RELOAD"), "ok") << s.err();
        std::this_thread::sleep_for(400ms);
    }
    const auto done = wrk.wait(20s);
    ASSERT_TRUE(done);
    EXPECT_EQ(done->code, 0) << wrk.err();
    const std::string out = wrk.out();
    std::cout << out;
    EXPECT_THAT(out, Not(HasSubstr("Socket errors"))) << out;
    EXPECT_THAT(out, Not(HasSubstr("Non-2xx"))) << out;
    const auto at = out.find(" requests in ");
    ASSERT_NE(at, std::string::npos) << out;
    const auto start = out.rfind('\n', at) + 1;
    EXPECT_GT(std::atol(out.c_str() + start), 0) << out;
    const auto stopped = s.stop();
    ASSERT_TRUE(stopped);
    EXPECT_EQ(stopped->code, 0) << s.err();
}

TEST(dataplane_limits_process, a_listen_address_in_use_is_a_clear_start_up_error)
{
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor taken{io, {boost::asio::ip::make_address("127.0.0.1"), 0}}; // no SO_REUSEPORT
    const auto port = taken.local_endpoint().port();
    test::temp_dir dir;
    dir.write("admin.token", "0123456789abcdef0123456789abcdef\n");
    const auto config = dir.write("storkd.yaml", "listen:\n  http: [\"127.0.0.1:" + std::to_string(port) +
                                                     "\"]\nadmin:\n  listen: \"127.0.0.1:0\"\n  token_file: admin.token\n"
                                                     "rules:\n  path: rules\naccess_log: \"off\"\n");
    const auto r = test::run({test::binary("storkd").string(), "--config", config.string()}, std::chrono::seconds{30});
    EXPECT_EQ(r.status.code, 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr("cannot listen on 127.0.0.1:" + std::to_string(port))) << r.err;
}

} // namespace
} // namespace stork

namespace stork {
namespace {

// --- keep-alive idle timeout and the per-worker connection limit ---------------------------

namespace asio = boost::asio;

// A blocking client connection; `wait_readable` polls without reading.
struct raw_client {
    asio::io_context io;
    asio::ip::tcp::socket socket{io};

    explicit raw_client(std::uint16_t port) { socket.connect({asio::ip::make_address("127.0.0.1"), port}); }

    void send(std::string_view bytes) { asio::write(socket, asio::buffer(bytes)); }

    bool wait_readable(std::chrono::milliseconds timeout)
    {
        pollfd p{socket.native_handle(), POLLIN, 0};
        return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
    }

    // Reads what is there (after wait_readable): "" at end of stream.
    std::string read_some()
    {
        std::array<char, 4096> buf{};
        boost::system::error_code ec;
        const auto n = socket.read_some(asio::buffer(buf), ec);
        return std::string{buf.data(), n};
    }
};

const std::string local_request = "GET / HTTP/1.1\r\nHost: nobody.example.org\r\n\r\n"; // 404, no upstream

TEST(dataplane_limits_process, an_idle_keep_alive_connection_is_closed_after_the_keepalive_timeout)
{
    stack_options o;
    o.fallback = false;
    o.workers = 1;
    o.keepalive = "1s";
    storkd_stack s{0, o};
    ASSERT_NE(s.http(), 0) << s.err();

    raw_client c{s.http()};
    c.send(local_request);
    ASSERT_TRUE(c.wait_readable(std::chrono::seconds{5}));
    EXPECT_THAT(c.read_some(), StartsWith("HTTP/1.1 404 "));
    const auto t0 = steady::now();
    ASSERT_TRUE(c.wait_readable(std::chrono::seconds{10})) << "still open after 10 s";
    EXPECT_EQ(c.read_some(), "") << "expected the end of the stream";
    const auto took = ms_since(t0);
    std::cout << "idle connection closed after " << took << " ms\n";
    EXPECT_GE(took, 700);
    EXPECT_LT(took, 5000);
}

TEST(dataplane_limits_process, a_worker_at_its_connection_limit_waits_for_a_free_slot)
{
    stack_options o;
    o.fallback = false;
    o.workers = 1;
    o.extra = "limits:\n  connections_per_worker: 2\n";
    storkd_stack s{0, o};
    ASSERT_NE(s.http(), 0) << s.err();

    // Two connections served once each and kept open: the worker is full.
    std::vector<std::unique_ptr<raw_client>> held;
    for (int i = 0; i < 2; ++i) {
        held.push_back(std::make_unique<raw_client>(s.http()));
        held.back()->send(local_request);
        ASSERT_TRUE(held.back()->wait_readable(std::chrono::seconds{5}));
        ASSERT_THAT(held.back()->read_some(), StartsWith("HTTP/1.1 404 "));
    }
    // A third one is queued by the kernel but not accepted...
    raw_client third{s.http()};
    third.send(local_request);
    EXPECT_FALSE(third.wait_readable(std::chrono::milliseconds{600})) << "served beyond the limit";
    // ... until a slot frees.
    held.front().reset();
    ASSERT_TRUE(third.wait_readable(std::chrono::seconds{5})) << "not served after a slot freed";
    EXPECT_THAT(third.read_some(), StartsWith("HTTP/1.1 404 "));
}

} // namespace
} // namespace stork
