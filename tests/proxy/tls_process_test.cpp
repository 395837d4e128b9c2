// TLS termination, HTTP/2, upstream TLS and SNI passthrough of a real storkd, black-box
// (issue 5 §6). design.md §2 (listen.https, tls.certificates, tls.default, upstream.ca_file,
// fallback.https, rule fields) and §3 are the contract; docs/tls-design.md the plan.
//
// Everything is real and on loopback: certificates made by the openssl CLI for each run
// (tests/support/test_certs), the Python origin with its TLS listener recording the SNI it
// received (origin.py, X-Origin-Sni), curl --http1.1 / --http2, openssl s_client, h2load, a raw
// HTTP/2 client for malformed frames (h2_bad_client.py) and a PROXY v2 origin (pp2_origin.py).
//
// Most cases share one storkd (tls_process, set up once); the ones that reload, need no
// fallback.https or another origin start their own. storkd reports its bound listen.https
// address in the READY notification as STORK_HTTPS (storkd_instance::https_port()).
#include "tests/support/http_client.hpp"
#include "tests/support/origin_instance.hpp"
#include "tests/support/process.hpp"
#include "tests/support/storkd_instance.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_certs.hpp"
#include "tests/support/tls_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <thread>

namespace stork {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
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

bool contains_any(const std::string& text, const std::vector<std::string>& needles)
{
    for (const auto& n : needles) {
        if (text.find(n) != std::string::npos) {
            return true;
        }
    }
    return false;
}

// --- curl over TLS --------------------------------------------------------------------------

struct tls_reply {
    int exit = -1;
    unsigned status = 0;
    std::multimap<std::string, std::string> headers; // lower-case names, the final head's
    std::string body;
    std::string http_version; // curl's %{http_version}: "1.1", "2"
    std::string local_port;   // curl's %{local_port}: the client's source port
    std::string err;

    std::string header(const std::string& name) const
    {
        const auto it = headers.find(lower(name));
        return it == headers.end() ? std::string{} : it->second;
    }
    bool has(const std::string& name) const { return headers.contains(lower(name)); }
    std::string describe() const
    {
        return "curl exit " + std::to_string(exit) + ", status " + std::to_string(status) + ", HTTP/" + http_version +
               "\nstderr: " + err + "\nbody: " + body.substr(0, 2000);
    }
};

// One request with curl to https://HOST:PORT/TARGET, HOST resolved to 127.0.0.1 (--resolve),
// so that SNI and Host are HOST; the certificate verified against `ca`. `version` is "1.1"
// or "2" (--http1.1 / --http2: ALPN). `more` are more curl options, e.g. -H.
tls_reply curl_https(const std::string& version, std::uint16_t port, const std::string& host, const std::string& target,
                     const fs::path& ca, std::vector<std::string> more = {})
{
    test::temp_dir out;
    const fs::path head_file = out.path() / "head";
    const fs::path body_file = out.path() / "body";
    const std::string p = std::to_string(port);
    std::vector<std::string> argv{curl_path, "-sS", version == "2" ? "--http2" : "--http1.1", "--max-time", "20",
                                  "--cacert", ca.string(), "--resolve", host + ":" + p + ":127.0.0.1",
                                  "-D", head_file.string(), "-o", body_file.string(),
                                  "-w", "%{http_version} %{local_port}"};
    argv.insert(argv.end(), more.begin(), more.end());
    argv.push_back("https://" + host + ":" + p + target);
    const auto r = test::run(argv, 30s);

    tls_reply reply;
    reply.exit = r.status.code;
    reply.err = r.err;
    const auto sp = r.out.find(' ');
    reply.http_version = r.out.substr(0, sp);
    reply.local_port = sp == std::string::npos ? "" : r.out.substr(sp + 1);
    reply.body = test::read_file(body_file);
    // The last head in the file (1xx heads come first).
    const std::string heads = test::read_file(head_file);
    const auto last = heads.rfind("HTTP/");
    if (last == std::string::npos) {
        return reply;
    }
    const std::string head = heads.substr(last);
    reply.status = static_cast<unsigned>(std::atoi(head.c_str() + head.find(' ') + 1));
    std::size_t at = head.find("\r\n") + 2;
    while (at < head.size()) {
        auto eol = head.find("\r\n", at);
        if (eol == std::string::npos) {
            eol = head.size();
        }
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
    return reply;
}

// The values of header `name` in the origin's /echo JSON.
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

std::optional<json::value> parse_json(const std::string& text)
{
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec) {
        return std::nullopt;
    }
    return v;
}

// --- the raw HTTP/2 client and h2load -----------------------------------------------------

struct h2_outcome {
    int exit = -1;
    json::value report;
    std::string raw;

    bool has_goaway() const { return report.is_object() && !report.at("goaway").is_null(); }
    std::string goaway_error() const
    {
        return has_goaway() ? std::string{report.at("goaway").at("error").as_string()} : std::string{};
    }
    std::int64_t rst_count() const { return report.is_object() ? report.at("rst_stream_count").as_int64() : 0; }
    bool closed() const { return report.is_object() && report.at("closed").as_bool(); }
    bool probe_acked() const { return report.is_object() && report.at("probe_acked").as_bool(); }
    unsigned status() const
    {
        return report.is_object() && report.at("status").is_int64() ? static_cast<unsigned>(report.at("status").as_int64())
                                                                      : 0;
    }
};

// tests/support/h2_bad_client.py --scenario NAME against 127.0.0.1:port.
h2_outcome h2_client(std::uint16_t port, const std::string& scenario, const std::string& servername,
                     const fs::path& ca, const std::string& authority = {})
{
    std::vector<std::string> argv{test::python3(), test::support_script("h2_bad_client.py").string(),
                                  "--port", std::to_string(port), "--servername", servername,
                                  "--cafile", ca.string(), "--scenario", scenario, "--timeout", "10"};
    if (!authority.empty()) {
        argv.insert(argv.end(), {"--authority", authority});
    }
    const auto r = test::run(argv, 60s);
    h2_outcome o;
    o.exit = r.status.code;
    o.raw = r.out + r.err;
    if (auto v = parse_json(r.out)) {
        o.report = *v;
    }
    return o;
}

// --- helpers for processes that print a READY line ----------------------------------------

// Polls the child's stdout for "<prefix><number>" on a complete line; 0 after 10 s.
std::uint16_t wait_for_ready_port(test::child_process& child, const std::string& prefix)
{
    const auto deadline = steady::now() + 10s;
    while (steady::now() < deadline) {
        const std::string out = child.out();
        const auto at = out.find(prefix);
        if (at != std::string::npos && out.find('\n', at) != std::string::npos) {
            return static_cast<std::uint16_t>(std::atoi(out.c_str() + at + prefix.size()));
        }
        if (child.wait(0ms)) {
            return 0;
        }
        std::this_thread::sleep_for(10ms);
    }
    return 0;
}

// --- storkd with TLS ------------------------------------------------------------------------

struct tls_stack_options {
    std::optional<std::uint16_t> fallback_http{};
    std::optional<std::uint16_t> fallback_https{};
    std::string default_name = "front";
    std::string extra{}; // more YAML
};

// A storkd with listen.http and listen.https on port 0, tls.certificates = certs_dir,
// upstream.ca_file = ca_file, and its own folder.
class tls_stack {
public:
    tls_stack(const fs::path& certs_dir, const fs::path& ca_file, const tls_stack_options& o) : certs_{certs_dir}
    {
        dir_.write("admin.token", token + "\n");
        std::string yaml = "node: tls-test\n"
                           "workers: 2\n"
                           "listen:\n"
                           "  http: [\"127.0.0.1:0\"]\n"
                           "  https: [\"127.0.0.1:0\"]\n"
                           "admin:\n"
                           "  listen: \"127.0.0.1:0\"\n"
                           "  token_file: admin.token\n"
                           "tls:\n"
                           "  certificates: \"" + certs_dir.string() + "\"\n"
                           "  default: " + o.default_name + "\n"
                           "upstream:\n"
                           "  ca_file: \"" + ca_file.string() + "\"\n"
                           "  connect_timeout: 2s\n"
                           "rules:\n"
                           "  path: rules\n"
                           "timeouts:\n"
                           "  header_read: 5s\n"
                           "  keepalive: 75s\n"
                           "  drain: 10s\n"
                           "access_log: \"off\"\n" + o.extra;
        if (o.fallback_http || o.fallback_https) {
            yaml += "fallback:\n";
            if (o.fallback_http) {
                yaml += "  http: \"127.0.0.1:" + std::to_string(*o.fallback_http) + "\"\n";
            }
            if (o.fallback_https) {
                yaml += "  https: \"127.0.0.1:" + std::to_string(*o.fallback_https) + "\"\n";
            }
        }
        config_ = dir_.write("storkd.yaml", yaml);
        storkd_.emplace(config_);
    }

    test::storkd_instance& d() { return *storkd_; }
    std::uint16_t http() const { return storkd_->http_port(); }
    std::uint16_t https() const { return storkd_->https_port(); }
    std::uint16_t admin() const { return storkd_->admin_port(); }
    const fs::path& certs() const { return certs_; }
    std::string err() { return storkd_->process().err(); }
    bool running() { return !storkd_->process().wait(0ms).has_value(); }

    // Why this stack cannot be used, or "" when it is up with both listeners.
    std::string not_up()
    {
        if (admin() == 0) {
            return "storkd did not become ready; stderr:\n" + err();
        }
        if (https() == 0) {
            return "storkd is ready but reported no listen.https address: expected STORK_HTTPS=<address> in its "
                   "READY notification, like STORK_HTTP; stderr:\n" + err();
        }
        return {};
    }

    double metric(const std::string& sample)
    {
        const std::string text = "\n" + test::http_request(admin(), "GET", "/metrics").body;
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
            return ::testing::AssertionFailure() << "PUT /v1/rules/" << host << " " << body << " answered " << r.status
                                                 << " " << r.body;
        }
        const auto started = steady::now();
        for (;;) {
            const double wanted = metric("stork_rules_generation");
            if (metric("stork_rules_table_generation") >= wanted && wanted >= 0) {
                return ::testing::AssertionSuccess();
            }
            if (steady::now() - started > 10s) {
                return ::testing::AssertionFailure() << "the table with " << host << " never reached the workers";
            }
            std::this_thread::sleep_for(5ms);
        }
    }

    // How much storkd has logged so far: wait_for_log(..., log_mark()) looks only at what
    // comes after, so that start-up lines listing the certificates do not count.
    std::size_t log_mark() { return err().size(); }

    // Waits until storkd's log (stderr) after `from` has one of `needles`; false after 5 s.
    bool wait_for_log(const std::vector<std::string>& needles, std::size_t from = 0)
    {
        const auto deadline = steady::now() + 5s;
        while (!contains_any(err().substr(std::min(from, err().size())), needles)) {
            if (steady::now() >= deadline) {
                return false;
            }
            std::this_thread::sleep_for(20ms);
        }
        return true;
    }

    // SIGHUP, then the reload's outcome from the notification: "ok", "failed", or "" when
    // none came in 10 s.
    std::string sighup()
    {
        storkd_->process().send_signal(SIGHUP);
        const auto reloaded = storkd_->notifications().wait_for("STORK_RELOAD", std::nullopt, 10s);
        return reloaded ? reloaded->at("STORK_RELOAD") : std::string{};
    }

    std::optional<test::exit_status> stop()
    {
        storkd_->process().send_signal(SIGTERM);
        return storkd_->process().wait(30s);
    }

private:
    test::temp_dir dir_;
    fs::path certs_;
    fs::path config_;
    std::optional<test::storkd_instance> storkd_;
};

// Rule bodies (design.md §2).
std::string tls_proxy_rule(const std::string& target, std::uint16_t port, bool preserve_host)
{
    return R"({"target":")" + target + R"(","upstream":"127.0.0.1:)" + std::to_string(port) +
           R"(","upstream_tls":true,"preserve_host":)" + (preserve_host ? "true" : "false") + "}";
}

std::string plain_proxy_rule(const std::string& target, std::uint16_t port)
{
    return R"({"target":")" + target + R"(","upstream":"127.0.0.1:)" + std::to_string(port) +
           R"(","upstream_tls":false,"preserve_host":true})";
}

std::string passthrough_rule(const std::string& target, std::uint16_t port, std::optional<bool> proxy_protocol = {})
{
    std::string body = R"({"target":")" + target + R"(","mode":"passthrough","upstream":"127.0.0.1:)" +
                       std::to_string(port) + "\"";
    if (proxy_protocol) {
        body += std::string{R"(,"proxy_protocol":)"} + (*proxy_protocol ? "true" : "false");
    }
    return body + "}";
}

// The names storkd's certificates carry in the shared suite. "apps" holds several names so
// that HTTP/2 coalescing has a covered and an uncovered case.
const std::vector<std::string> apps_names{"app.example.com",   "target.example.com",   "plain.example.com",
                                          "badca.example.com", "mismatch.example.com"};

// --- the shared storkd ------------------------------------------------------------------------
//
//   client ──TLS──▶ storkd :https ──TLS (SNI = Host sent)──▶ origin_ :https   app, target, other, mismatch
//                                 ──TCP──▶ origin_ :http                       plain (upstream_tls false)
//                                 ──TLS──▶ stranger_ :https (another CA)       badca
//                                 ──splice──▶ origin_ :https                   pass (passthrough)
//                                 ──splice──▶ fallback_ :https                 SNI no certificate covers
class tls_process : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        try {
            set_up();
        } catch (const std::exception& e) {
            ADD_FAILURE() << "setting up the shared storkd: " << e.what();
            ready_ = false;
        }
    }

    static void set_up()
    {
        ca_ = std::make_unique<test::test_ca>();
        certs_ = std::make_unique<test::temp_dir>();
        origin_certs_ = std::make_unique<test::temp_dir>();
        const fs::path c = certs_->path();
        const fs::path oc = origin_certs_->path();

        // storkd's certificates.
        serials_["front"] = ca_->issue(c, "front", {.sans = {"front.example.com"}}).serial;
        serials_["apps"] = ca_->issue(c, "apps", {.sans = apps_names}).serial;
        serials_["other"] = ca_->issue(c, "other", {.sans = {"other.example.com"}}).serial;
        serials_["wild"] = ca_->issue(c, "wild", {.sans = {"*.wild.example.com"}}).serial;
        serials_["dual-ec"] = ca_->issue(c, "dual-ec", {.sans = {"dual.example.com"}}).serial;
        serials_["dual-rsa"] =
            ca_->issue(c, "dual-rsa", {.sans = {"dual.example.com"}, .key = test::key_kind::rsa_2048}).serial;

        // The origins' certificates: in a folder of their own, never storkd's.
        const auto o_app = ca_->issue(oc, "o-app", {.sans = {"app.example.com", "other.example.com"}});
        const auto o_target = ca_->issue(oc, "o-target", {.sans = {"app.new.example"}});
        const auto o_pass = ca_->issue(oc, "o-pass", {.sans = {"pass.example.com"}});
        const auto o_fallback = ca_->issue(oc, "o-fallback", {.sans = {"unknown.example.org"}});
        serials_["o-pass"] = o_pass.serial;
        serials_["o-fallback"] = o_fallback.serial;
        stranger_ca_ = std::make_unique<test::test_ca>("stork test CA"); // same name, another key
        const auto o_stranger = stranger_ca_->issue(oc, "o-stranger", {.sans = {"badca.example.com"}});

        // The first certificate is the origin's default: the one a mismatched SNI gets.
        origin_ = std::make_unique<test::origin_instance>(test::origin_options{.tls = {
            {"app.example.com", o_app.crt, o_app.key},
            {"app.new.example", o_target.crt, o_target.key},
            {"pass.example.com", o_pass.crt, o_pass.key},
        }});
        stranger_ = std::make_unique<test::origin_instance>(
            test::origin_options{.tls = {{"badca.example.com", o_stranger.crt, o_stranger.key}}});
        fallback_ = std::make_unique<test::origin_instance>(
            test::origin_options{.tls = {{"unknown.example.org", o_fallback.crt, o_fallback.key}}});
        if (origin_->https_port() == 0 || stranger_->https_port() == 0 || fallback_->https_port() == 0) {
            return;
        }

        stack_ = std::make_unique<tls_stack>(c, ca_->certificate(),
                                             tls_stack_options{.fallback_http = fallback_->http_port(),
                                                               .fallback_https = fallback_->https_port()});
        if (const auto why = stack_->not_up(); !why.empty()) {
            ADD_FAILURE() << why;
            return;
        }
        const auto oh = origin_->https_port();
        bool ok = true;
        const auto add = [&](const std::string& host, const std::string& body) {
            const auto r = stack_->put_rule(host, body);
            if (!r) {
                ADD_FAILURE() << r.message();
                ok = false;
            }
        };
        add("app.example.com", tls_proxy_rule("app.new.example", oh, true));
        add("target.example.com", tls_proxy_rule("app.new.example", oh, false));
        add("other.example.com", tls_proxy_rule("other.new.example", oh, true));
        add("plain.example.com", plain_proxy_rule("plain.new.example", origin_->http_port()));
        add("badca.example.com", tls_proxy_rule("badca.new.example", stranger_->https_port(), true));
        add("mismatch.example.com", tls_proxy_rule("wrong.new.example", oh, false));
        add("pass.example.com", passthrough_rule("pass.new.example", oh));
        ready_ = ok;
    }

    static void TearDownTestSuite()
    {
        stack_.reset();
        origin_.reset();
        stranger_.reset();
        fallback_.reset();
        certs_.reset();
        origin_certs_.reset();
        stranger_ca_.reset();
        ca_.reset();
    }

    void SetUp() override
    {
        ASSERT_TRUE(ready_) << "the shared TLS storkd is not up; stderr:\n" << (stack_ ? stack_->err() : "");
    }

    void TearDown() override
    {
        if (HasFailure() && stack_ && origin_) {
            std::cerr << "--- storkd stderr ---\n" << stack_->err() << "--- origin stderr ---\n"
                      << origin_->process().err();
        }
    }

    static std::uint16_t port() { return stack_->https(); }
    static const fs::path& ca() { return ca_->certificate(); }
    static tls_reply get(const std::string& version, const std::string& host, const std::string& target,
                         std::vector<std::string> more = {})
    {
        return curl_https(version, port(), host, target, ca(), std::move(more));
    }
    // The response must still be the right one after the case: storkd alive, serving h2.
    static void expect_still_serving(const std::string& after)
    {
        ASSERT_TRUE(stack_->running()) << "storkd ended after " << after << "; stderr:\n" << stack_->err();
        const auto r = get("2", "app.example.com", "/");
        EXPECT_EQ(r.status, 200U) << "after " << after << ": " << r.describe();
    }

    static inline std::unique_ptr<test::test_ca> ca_;
    static inline std::unique_ptr<test::test_ca> stranger_ca_;
    static inline std::unique_ptr<test::temp_dir> certs_;
    static inline std::unique_ptr<test::temp_dir> origin_certs_;
    static inline std::map<std::string, std::string> serials_;
    static inline std::unique_ptr<test::origin_instance> origin_;
    static inline std::unique_ptr<test::origin_instance> stranger_;
    static inline std::unique_ptr<test::origin_instance> fallback_;
    static inline std::unique_ptr<tls_stack> stack_;
    static inline bool ready_ = false;
};

// 1. HTTP/1.1 over TLS, proxied over TLS: the origin receives the requested host as SNI
// and as Host (preserve_host, the default).
TEST_F(tls_process, http1_through_storkd_reaches_the_tls_origin_with_the_requested_host_as_sni)
{
    const auto r = get("1.1", "app.example.com", "/echo");
    ASSERT_EQ(r.status, 200U) << r.describe();
    EXPECT_EQ(r.http_version, "1.1");
    EXPECT_EQ(r.header("X-Origin-Sni"), "app.example.com") << "the SNI storkd sent upstream";
    const auto echo = parse_json(r.body);
    ASSERT_TRUE(echo) << r.body;
    EXPECT_EQ(echo->at("sni").as_string(), "app.example.com");
    const auto host = echoed(*echo, "Host");
    ASSERT_EQ(host.size(), 1U) << r.body;
    EXPECT_THAT(host[0], AnyOf("app.example.com", "app.example.com:" + std::to_string(port())));
    EXPECT_THAT(echoed(*echo, "X-Forwarded-Proto"), ::testing::ElementsAre("https")) << r.body;
}

// 2. The same over HTTP/2 (ALPN h2): each stream becomes an HTTP/1.1 exchange upstream.
TEST_F(tls_process, http2_through_storkd_reaches_the_tls_origin_with_the_requested_host_as_sni)
{
    const auto r = get("2", "app.example.com", "/echo");
    ASSERT_EQ(r.status, 200U) << r.describe();
    EXPECT_EQ(r.http_version, "2") << "storkd did not select h2 by ALPN";
    EXPECT_EQ(r.header("X-Origin-Sni"), "app.example.com");
    const auto echo = parse_json(r.body);
    ASSERT_TRUE(echo) << r.body;
    EXPECT_EQ(echo->at("version").as_string(), "HTTP/1.1") << "upstream exchanges are HTTP/1.1";
    const auto host = echoed(*echo, "Host");
    ASSERT_EQ(host.size(), 1U) << r.body;
    EXPECT_THAT(host[0], AnyOf("app.example.com", "app.example.com:" + std::to_string(port())));
}

// 3. preserve_host false: Host and SNI towards the upstream both become the target.
TEST_F(tls_process, preserve_host_false_sends_the_target_as_host_and_sni)
{
    for (const std::string version : {"1.1", "2"}) {
        const auto r = get(version, "target.example.com", "/echo");
        ASSERT_EQ(r.status, 200U) << "HTTP/" << version << ": " << r.describe();
        EXPECT_EQ(r.header("X-Origin-Sni"), "app.new.example") << "HTTP/" << version;
        const auto echo = parse_json(r.body);
        ASSERT_TRUE(echo) << r.body;
        EXPECT_THAT(echoed(*echo, "Host"), ::testing::ElementsAre("app.new.example")) << r.body;
        EXPECT_THAT(echoed(*echo, "X-Forwarded-Host"), ::testing::Contains(HasSubstr("target.example.com")))
            << r.body;
    }
}

// 4. Certificate selection by SNI: exact names, then a wildcard covering one label.
TEST_F(tls_process, certificates_are_chosen_by_exact_name_then_wildcard)
{
    const auto apps = test::fetch_served_certificate(port(), "target.example.com");
    ASSERT_TRUE(apps.ok) << apps.output;
    EXPECT_EQ(apps.facts.serial, serials_["apps"]);
    const auto other = test::fetch_served_certificate(port(), "other.example.com");
    ASSERT_TRUE(other.ok) << other.output;
    EXPECT_EQ(other.facts.serial, serials_["other"]);
    const auto wild = test::fetch_served_certificate(port(), "x.wild.example.com");
    ASSERT_TRUE(wild.ok) << wild.output;
    EXPECT_EQ(wild.facts.serial, serials_["wild"]);
    EXPECT_THAT(wild.facts.sans, ::testing::ElementsAre("*.wild.example.com"));
    // SNI is case-insensitive (RFC 6066 §3).
    const auto upper = test::fetch_served_certificate(port(), "APP.Example.COM");
    ASSERT_TRUE(upper.ok) << upper.output;
    EXPECT_EQ(upper.facts.serial, serials_["apps"]);
    // curl verifies the chain (NAME.crt carries the CA) and the name.
    const auto r = get("1.1", "y.wild.example.com", "/");
    EXPECT_EQ(r.exit, 0) << "the wildcard certificate did not verify: " << r.describe();
}

// 5. An ECDSA and an RSA certificate for the same name: the client's signature algorithms
// pick one (OpenSSL chooses within the identity's SSL_CTX).
TEST_F(tls_process, ecdsa_and_rsa_certificates_for_one_name_follow_the_client_sigalgs)
{
    const auto ec = test::fetch_served_certificate(port(), "dual.example.com", {"-sigalgs", "ecdsa_secp256r1_sha256"});
    ASSERT_TRUE(ec.ok) << "an ECDSA-only client got no certificate:\n" << ec.output;
    EXPECT_EQ(ec.facts.serial, serials_["dual-ec"]);
    EXPECT_EQ(ec.facts.public_key, "id-ecPublicKey");
    const auto rsa = test::fetch_served_certificate(port(), "dual.example.com", {"-sigalgs", "rsa_pss_rsae_sha256"});
    ASSERT_TRUE(rsa.ok) << "an RSA-only client got no certificate:\n" << rsa.output;
    EXPECT_EQ(rsa.facts.serial, serials_["dual-rsa"]);
    EXPECT_EQ(rsa.facts.public_key, "rsaEncryption");
    // TLS 1.2 with an RSA-only cipher choice too.
    const auto rsa12 = test::fetch_served_certificate(
        port(), "dual.example.com", {"-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"});
    ASSERT_TRUE(rsa12.ok) << rsa12.output;
    EXPECT_EQ(rsa12.facts.serial, serials_["dual-rsa"]);
}

// 6. passthrough: the client talks TLS with the origin itself. It sees the origin's
// certificate, the origin sees the client's SNI, and storkd adds nothing (it never decrypts).
TEST_F(tls_process, passthrough_shows_the_origin_certificate_and_never_decrypts)
{
    const auto served = test::fetch_served_certificate(port(), "pass.example.com");
    ASSERT_TRUE(served.ok) << served.output;
    EXPECT_EQ(served.facts.serial, serials_["o-pass"]) << "not the origin's certificate: storkd terminated TLS";

    const auto before = origin_->stats();
    const auto r = get("1.1", "pass.example.com", "/echo");
    ASSERT_EQ(r.status, 200U) << r.describe();
    EXPECT_EQ(r.header("X-Origin-Sni"), "pass.example.com");
    const auto echo = parse_json(r.body);
    ASSERT_TRUE(echo) << r.body;
    // Only a proxy that decrypted could have added these.
    EXPECT_TRUE(echoed(*echo, "X-Forwarded-For").empty()) << r.body;
    EXPECT_TRUE(echoed(*echo, "Via").empty()) << r.body;
    EXPECT_THAT(echoed(*echo, "Host"), ::testing::ElementsAre("pass.example.com:" + std::to_string(port())));
    const auto after = origin_->stats();
    EXPECT_GT(after.tls_connections_accepted, before.tls_connections_accepted);

    // HTTP/2 as negotiated with the origin: the origin offers http/1.1 only, so even a client
    // asking for h2 ends up with HTTP/1.1 (storkd's own ALPN list is not involved).
    const auto h2 = get("2", "pass.example.com", "/");
    ASSERT_EQ(h2.status, 200U) << h2.describe();
    EXPECT_EQ(h2.http_version, "1.1") << "ALPN was answered by storkd, not by the origin";
}

// 7. An SNI that no certificate covers goes, untouched, to fallback.https.
TEST_F(tls_process, an_sni_no_certificate_covers_is_spliced_to_fallback_https)
{
    const auto served = test::fetch_served_certificate(port(), "unknown.example.org");
    ASSERT_TRUE(served.ok) << served.output;
    EXPECT_EQ(served.facts.serial, serials_["o-fallback"]) << "not the fallback's certificate";
    const auto r = get("1.1", "unknown.example.org", "/");
    ASSERT_EQ(r.status, 200U) << r.describe();
    EXPECT_EQ(r.header("X-Origin-Sni"), "unknown.example.org");
    const auto stats = fallback_->stats();
    EXPECT_THAT(stats.sni, ::testing::Contains("unknown.example.org"));
    // Two labels under a one-label wildcard are not covered either (RFC 6125 §6.4.3).
    const auto deep = test::fetch_served_certificate(port(), "a.b.wild.example.com");
    ASSERT_TRUE(deep.ok) << deep.output;
    EXPECT_EQ(deep.facts.serial, serials_["o-fallback"]);
}

// 8. 421 only on HTTP/2, only when the served certificate does not cover :authority
// (connection coalescing, RFC 9110 §15.5.20, RFC 9113 §9.1.1). HTTP/1.1 routes by Host.
TEST_F(tls_process, http2_answers_421_when_the_served_certificate_does_not_cover_the_authority)
{
    // The connection's certificate is "apps" (SNI app.example.com); other.example.com has a
    // rule and a certificate of its own, but not this one.
    const auto misdirected = h2_client(port(), "valid", "app.example.com", ca(), "other.example.com");
    ASSERT_EQ(misdirected.exit, 0) << misdirected.raw;
    EXPECT_EQ(misdirected.status(), 421U) << misdirected.raw;

    // Covered by the same certificate: coalescing is legitimate, the request is routed.
    const auto covered = h2_client(port(), "valid", "app.example.com", ca(), "target.example.com");
    ASSERT_EQ(covered.exit, 0) << covered.raw;
    EXPECT_EQ(covered.status(), 200U) << covered.raw;
    const auto own = h2_client(port(), "valid", "app.example.com", ca(), "app.example.com");
    EXPECT_EQ(own.status(), 200U) << own.raw;

    // curl --http2 with another Host: curl sends it as :authority.
    const auto curl421 = get("2", "app.example.com", "/", {"-H", "Host: other.example.com"});
    EXPECT_EQ(curl421.http_version, "2");
    EXPECT_EQ(curl421.status, 421U) << curl421.describe();

    // HTTP/1.1 clients do not coalesce: the same request is routed by Host.
    const auto h1 = get("1.1", "app.example.com", "/", {"-H", "Host: other.example.com"});
    ASSERT_EQ(h1.status, 200U) << h1.describe();
    EXPECT_EQ(h1.header("X-Origin-Sni"), "other.example.com");
}

// 9. upstream_tls false on the TLS listener: plaintext towards the origin.
TEST_F(tls_process, upstream_tls_false_reaches_a_plaintext_origin)
{
    for (const std::string version : {"1.1", "2"}) {
        const auto r = get(version, "plain.example.com", "/echo");
        ASSERT_EQ(r.status, 200U) << "HTTP/" << version << ": " << r.describe();
        EXPECT_FALSE(r.has("X-Origin-Sni")) << "the request reached the origin's TLS listener";
        const auto echo = parse_json(r.body);
        ASSERT_TRUE(echo) << r.body;
        EXPECT_FALSE(echo->at("tls").as_bool());
        EXPECT_THAT(echoed(*echo, "X-Forwarded-Proto"), ::testing::ElementsAre("https")) << r.body;
    }
}

// Bodies both ways over HTTP/1.1 and HTTP/2 (streams to an HTTP/1.1 upstream): a 3 MB
// upload (HTTP/2: DATA within the client's window, acknowledged only once written
// upstream) and 3 MB downloads with a length and chunked (HTTP/2: de-chunked into DATA,
// paced by the client's window).
TEST_F(tls_process, large_bodies_cross_both_ways_over_http1_and_http2)
{
    test::temp_dir dir;
    std::string data(3'000'000, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<char>(i * 7 % 251);
    }
    dir.write("upload.bin", data);
    const auto file = dir.path() / "upload.bin";
    const auto sum = test::run({"/usr/bin/sha256sum", file.string()});
    const std::string sha = sum.out.substr(0, 64);
    ASSERT_EQ(sha.size(), 64U) << sum.out << sum.err;

    std::string expected(3'000'000, '\0');
    for (std::size_t i = 0; i < expected.size(); ++i) {
        expected[i] = static_cast<char>(i % 251);
    }
    for (const std::string version : {"1.1", "2"}) {
        const auto up = get(version, "plain.example.com", "/upload", {"--data-binary", "@" + file.string()});
        ASSERT_EQ(up.status, 200U) << "HTTP/" << version << ": " << up.describe();
        EXPECT_EQ(up.http_version, version);
        const auto echo = parse_json(up.body);
        ASSERT_TRUE(echo) << up.body;
        EXPECT_EQ(echo->at("body_bytes").to_number<std::uint64_t>(), 3'000'000U) << "HTTP/" << version;
        EXPECT_EQ(std::string{echo->at("body_sha256").as_string()}, sha) << "HTTP/" << version;

        for (const std::string target : {"/bytes/3000000", "/bytes/3000000?chunked=1"}) {
            const auto down = get(version, "plain.example.com", target);
            ASSERT_EQ(down.status, 200U) << "HTTP/" << version << " " << target << ": " << down.describe();
            EXPECT_EQ(down.body.size(), expected.size()) << "HTTP/" << version << " " << target;
            EXPECT_TRUE(down.body == expected) << "HTTP/" << version << " " << target << ": the bytes differ";
        }
    }
}

// 10. Upstream certificate verification: from a CA upstream.ca_file does not hold → 502 and
// a log line with the reason (X509_verify_cert_error_string).
TEST_F(tls_process, an_upstream_certificate_from_another_ca_is_502_with_the_reason_logged)
{
    const auto sni_before = stranger_->stats().sni.size();
    const auto mark = stack_->log_mark();
    const auto r = get("1.1", "badca.example.com", "/");
    EXPECT_EQ(r.status, 502U) << r.describe();
    const auto stats = stranger_->stats();
    EXPECT_GT(stats.sni.size(), sni_before) << "storkd never reached the upstream";
    EXPECT_EQ(stats.requests, 0U) << "a request reached an upstream whose certificate did not verify";
    EXPECT_TRUE(stack_->wait_for_log({"self-signed certificate in certificate chain",
                                      "unable to get local issuer certificate", "certificate verify failed"},
                                     mark))
        << "no log line with the verification failure's reason; stderr:\n" << stack_->err();
    const auto h2 = get("2", "badca.example.com", "/");
    EXPECT_EQ(h2.status, 502U) << h2.describe();
}

// 11. ... and a certificate that does not carry the name sent as SNI (hostname verification).
TEST_F(tls_process, an_upstream_certificate_for_another_name_is_502_with_the_reason_logged)
{
    const auto mark = stack_->log_mark();
    const auto r = get("1.1", "mismatch.example.com", "/");
    EXPECT_EQ(r.status, 502U) << r.describe();
    EXPECT_THAT(origin_->stats().sni, ::testing::Contains("wrong.new.example"))
        << "storkd did not send the target as SNI (preserve_host false)";
    EXPECT_TRUE(stack_->wait_for_log({"hostname mismatch", "Hostname mismatch"}, mark))
        << "no log line with the verification failure's reason; stderr:\n" << stack_->err();
}

// 12. Many concurrent streams: h2load, 2000 requests on 4 connections, 32 streams each.
TEST_F(tls_process, h2load_2000_requests_with_32_streams_per_connection_has_no_errors)
{
    const std::string p = std::to_string(port());
    const auto r = test::run({"/usr/bin/h2load", "-n", "2000", "-c", "4", "-m", "32", "--connect-to=127.0.0.1:" + p,
                              "https://app.example.com:" + p + "/"},
                             120s);
    std::cout << r.out;
    ASSERT_EQ(r.status.code, 0) << r.out << r.err;
    EXPECT_THAT(r.out, HasSubstr("Application protocol: h2")) << r.out;
    EXPECT_THAT(r.out, HasSubstr("2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout")) << r.out;
    EXPECT_THAT(r.out, HasSubstr("status codes: 2000 2xx")) << r.out;
    expect_still_serving("h2load");
}

// 13. Malformed HTTP/2 from a raw client: GOAWAY (or RST_STREAM for a stream error), never a
// crash, and storkd serves the next client.
TEST_F(tls_process, malformed_http2_frames_get_goaway_and_storkd_keeps_serving)
{
    // The error RFC 9113 requires for each connection error.
    const std::map<std::string, std::string> connection_errors{
        {"data_on_stream_0", "PROTOCOL_ERROR"},          // §6.1
        {"headers_on_even_stream", "PROTOCOL_ERROR"},    // §5.1.1
        {"oversized_frame", "FRAME_SIZE_ERROR"},         // §4.2
        {"window_update_zero", "PROTOCOL_ERROR"},        // §6.9
        {"rst_on_idle_stream", "PROTOCOL_ERROR"},        // §6.4
        {"settings_invalid_value", "PROTOCOL_ERROR"},    // §6.5.2
        {"settings_window_too_large", "FLOW_CONTROL_ERROR"}, // §6.5.2
        {"hpack_garbage", "COMPRESSION_ERROR"},          // §4.3
        {"continuation_without_headers", "PROTOCOL_ERROR"}, // §6.10
    };
    for (const auto& [scenario, error] : connection_errors) {
        const auto o = h2_client(port(), scenario, "app.example.com", ca());
        ASSERT_EQ(o.exit, 0) << scenario << ": " << o.raw;
        EXPECT_TRUE(o.has_goaway()) << scenario << ": no GOAWAY: " << o.raw;
        EXPECT_EQ(o.goaway_error(), error) << scenario << ": " << o.raw;
        expect_still_serving(scenario);
    }

    // A bad preface: GOAWAY or a plain close, nothing else (RFC 9113 §3.4).
    const auto preface = h2_client(port(), "bad_preface", "app.example.com", ca());
    ASSERT_EQ(preface.exit, 0) << preface.raw;
    EXPECT_TRUE(preface.closed() || preface.has_goaway()) << preface.raw;
    EXPECT_FALSE(preface.probe_acked());
    expect_still_serving("bad_preface");

    // A stream error: RST_STREAM PROTOCOL_ERROR (or a GOAWAY), §8.2.1.
    const auto upper = h2_client(port(), "uppercase_header_name", "app.example.com", ca());
    ASSERT_EQ(upper.exit, 0) << upper.raw;
    EXPECT_TRUE(upper.rst_count() > 0 || upper.has_goaway()) << "uppercase field name accepted: " << upper.raw;
    EXPECT_NE(upper.status(), 200U) << upper.raw;
    expect_still_serving("uppercase_header_name");

    // Floods: storkd may answer them all or give up with GOAWAY (ENHANCE_YOUR_CALM), but it
    // must do one of the two, and survive.
    for (const std::string scenario : {"rst_flood", "ping_flood"}) {
        const auto o = h2_client(port(), scenario, "app.example.com", ca());
        ASSERT_EQ(o.exit, 0) << scenario << ": " << o.raw;
        EXPECT_TRUE(o.probe_acked() || o.has_goaway() || o.closed())
            << scenario << ": neither answered nor refused within 10 s: " << o.raw;
        expect_still_serving(scenario);
    }
    const auto h1 = get("1.1", "app.example.com", "/");
    EXPECT_EQ(h1.status, 200U) << h1.describe();
}

// --- storkd without fallback.https: the default certificate -------------------------------

TEST(tls_default_process, the_default_certificate_is_served_without_sni_and_for_names_nothing_covers)
{
    test::test_ca ca;
    test::temp_dir certs;
    const auto front = ca.issue(certs.path(), "front", {.sans = {"front.example.com"}});
    const auto wild = ca.issue(certs.path(), "wild", {.sans = {"*.wild.example.com"}});
    tls_stack s{certs.path(), ca.certificate(), {}};
    ASSERT_TRUE(s.not_up().empty()) << s.not_up();

    const auto none = test::fetch_served_certificate(s.https(), "");
    ASSERT_TRUE(none.ok) << "no certificate without SNI:\n" << none.output;
    EXPECT_EQ(none.facts.serial, front.serial);
    const auto unknown = test::fetch_served_certificate(s.https(), "nobody.example.org");
    ASSERT_TRUE(unknown.ok) << unknown.output;
    EXPECT_EQ(unknown.facts.serial, front.serial);
    const auto deep = test::fetch_served_certificate(s.https(), "a.b.wild.example.com");
    ASSERT_TRUE(deep.ok) << deep.output;
    EXPECT_EQ(deep.facts.serial, front.serial) << "a one-label wildcard covered two labels";
    const auto covered = test::fetch_served_certificate(s.https(), "a.wild.example.com");
    ASSERT_TRUE(covered.ok) << covered.output;
    EXPECT_EQ(covered.facts.serial, wild.serial);

    // A client without SNI is still routed by Host (here: no rule, no fallback → 404).
    // (curl sends no SNI for an address; -k: the default certificate does not name it.)
    const auto r = test::run({curl_path, "-sS", "-k", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                              "Host: nothing.example.com", "https://127.0.0.1:" + std::to_string(s.https()) + "/"});
    EXPECT_EQ(r.out, "404") << r.err;
    const auto stopped = s.stop();
    ASSERT_TRUE(stopped);
    EXPECT_EQ(stopped->code, 0) << s.err();
}

// SIGTERM with an HTTP/2 stream in flight: GOAWAY for new streams, the stream in flight
// finishes, storkd exits 0.
TEST(tls_drain_process, sigterm_lets_the_http2_stream_in_flight_finish)
{
    test::test_ca ca{"stork drain test CA"};
    test::temp_dir certs;
    ca.issue(certs.path(), "front", {.sans = {"slow.example.com"}});
    test::origin_instance origin;
    ASSERT_NE(origin.http_port(), 0);
    tls_stack s{certs.path(), ca.certificate(), {}};
    ASSERT_TRUE(s.not_up().empty()) << s.not_up();
    ASSERT_TRUE(s.put_rule("slow.example.com", plain_proxy_rule("slow.new.example", origin.http_port())));
    const std::string p = std::to_string(s.https());
    test::child_process slow{{curl_path, "-sS", "--http2", "--cacert", ca.certificate().string(), "--resolve",
                              "slow.example.com:" + p + ":127.0.0.1", "-o", "-", "-w", " %{http_code} %{http_version}",
                              "--max-time", "20", "https://slow.example.com:" + p + "/slow?ms=1500"}};
    ASSERT_TRUE(origin.wait_for_stats([](const test::origin_stats& st) { return st.requests >= 1; }, 5s));
    s.d().process().send_signal(SIGTERM);
    const auto done = slow.wait(15s);
    ASSERT_TRUE(done);
    EXPECT_EQ(done->code, 0) << slow.err();
    EXPECT_EQ(slow.out(), "slow 200 2");
    const auto stopped = s.d().process().wait(10s);
    ASSERT_TRUE(stopped) << "storkd did not exit after its last stream";
    EXPECT_EQ(stopped->code, 0) << s.err();
}

// --- reloads --------------------------------------------------------------------------------

// A storkd with "front" and "apps" (app.example.com) and an origin for app.example.com.
class tls_reload_process : public ::testing::Test {
protected:
    void SetUp() override
    {
        const auto apps = ca_.issue(certs_.path(), "apps", {.sans = {"app.example.com"}});
        old_serial_ = apps.serial;
        ca_.issue(certs_.path(), "front", {.sans = {"front.example.com"}});
        const auto o = ca_.issue(origin_certs_.path(), "o-app", {.sans = {"app.example.com"}});
        origin_.emplace(test::origin_options{.tls = {{"app.example.com", o.crt, o.key}}});
        ASSERT_NE(origin_->https_port(), 0);
        stack_.emplace(certs_.path(), ca_.certificate(), tls_stack_options{});
        ASSERT_TRUE(stack_->not_up().empty()) << stack_->not_up();
        ASSERT_TRUE(stack_->put_rule("app.example.com", tls_proxy_rule("app.new.example", origin_->https_port(), true)));
    }

    void TearDown() override
    {
        if (HasFailure() && stack_) {
            std::cerr << "--- storkd stderr ---\n" << stack_->err();
        }
    }

    // The serial storkd serves for app.example.com on a new connection.
    std::string served_serial()
    {
        const auto s = test::fetch_served_certificate(stack_->https(), "app.example.com");
        return s.ok ? s.facts.serial : "(no certificate: " + s.output + ")";
    }

    test::test_ca ca_;
    test::temp_dir certs_;
    test::temp_dir origin_certs_;
    std::string old_serial_;
    std::optional<test::origin_instance> origin_;
    std::optional<tls_stack> stack_;
};

TEST_F(tls_reload_process, sighup_refuses_a_key_that_does_not_match_and_keeps_serving_the_old_certificate)
{
    test::tls_keepalive open{stack_->https(), "app.example.com", ca_.certificate()};
    ASSERT_TRUE(open.ok()) << open.error();
    ASSERT_EQ(open.get("app.example.com", "/").first, 200U) << open.error();

    test::write_mismatched_pair(ca_, certs_.path(), "apps", {"app.example.com"});
    const auto mark = stack_->log_mark();
    EXPECT_EQ(stack_->sighup(), "failed") << "a reload with a key that does not match its certificate was accepted";
    EXPECT_TRUE(stack_->wait_for_log({"apps.key", "apps.crt"}, mark))
        << "the refusal does not name the file; stderr:\n" << stack_->err();
    EXPECT_EQ(served_serial(), old_serial_) << "the previous set must keep serving";
    EXPECT_EQ(open.get("app.example.com", "/").first, 200U) << "the open connection: " << open.error();
    const auto fresh = curl_https("1.1", stack_->https(), "app.example.com", "/", ca_.certificate());
    EXPECT_EQ(fresh.status, 200U) << fresh.describe();

    // A good pair again: the reload is accepted and new connections get the new certificate,
    // while the connection opened before both reloads carries on.
    const auto renewed = ca_.issue(certs_.path(), "apps", {.sans = {"app.example.com"}});
    EXPECT_EQ(stack_->sighup(), "ok") << stack_->err();
    EXPECT_EQ(served_serial(), renewed.serial);
    EXPECT_EQ(open.get("app.example.com", "/").first, 200U) << "the open connection: " << open.error();
    EXPECT_EQ(open.peer_serial(), old_serial_);
    ASSERT_TRUE(stack_->running());
}

// One TLS 1.3 connection by openssl s_client carrying one request (Connection: close, so
// s_client reads until the end and the ticket sent after the handshake is in): whether
// the session was resumed, and the session saved for the next one.
std::string s_client_session(int port, const std::filesystem::path& ca, const std::filesystem::path& sess_in,
                             const std::filesystem::path& sess_out)
{
    std::string cmd = "printf 'GET / HTTP/1.1\\r\\nHost: app.example.com\\r\\nConnection: close\\r\\n\\r\\n' | "
                      "openssl s_client -ign_eof -connect 127.0.0.1:" + std::to_string(port) +
                      " -servername app.example.com -CAfile " + ca.string() + " -sess_out " + sess_out.string();
    if (!sess_in.empty()) {
        cmd += " -sess_in " + sess_in.string();
    }
    const auto r = test::run({"/bin/sh", "-c", cmd + " 2>&1"}, 20s);
    if (r.out.find("\nReused, TLSv1.3") != std::string::npos) {
        return "reused";
    }
    if (r.out.find("\nNew, TLSv1.3") != std::string::npos) {
        return "new";
    }
    return "failed: " + r.out;
}

TEST_F(tls_reload_process, session_tickets_resume_and_survive_a_certificate_reload)
{
    test::temp_dir sessions;
    const auto first = sessions.path() / "first.pem";
    const auto second = sessions.path() / "second.pem";
    const auto third = sessions.path() / "third.pem";
    ASSERT_EQ(s_client_session(stack_->https(), ca_.certificate(), {}, first), "new");
    // A resumed connection gets a fresh ticket: a client uses each TLS 1.3 ticket once, so
    // without it every other connection would be a full handshake.
    ASSERT_EQ(s_client_session(stack_->https(), ca_.certificate(), first, second), "reused");
    // The ticket keys are shared by every certificate set: a reload keeps them.
    ca_.issue(certs_.path(), "apps", {.sans = {"app.example.com"}});
    ASSERT_EQ(stack_->sighup(), "ok") << stack_->err();
    EXPECT_EQ(s_client_session(stack_->https(), ca_.certificate(), second, third), "reused");
    EXPECT_EQ(stack_->metric("stork_tls_handshakes_total{result=\"resumed\"}"), 2.0);
}

TEST_F(tls_reload_process, post_certificates_reload_refuses_garbage_naming_the_file_then_accepts_a_good_set)
{
    test::tls_keepalive open{stack_->https(), "app.example.com", ca_.certificate()};
    ASSERT_TRUE(open.ok()) << open.error();
    ASSERT_EQ(open.get("app.example.com", "/").first, 200U) << open.error();

    const auto anonymous = test::http_request(stack_->admin(), "POST", "/v1/certificates/reload");
    EXPECT_EQ(anonymous.status, 401U) << anonymous.body;

    test::write_garbage_pair(certs_.path(), "apps");
    const auto refused = test::http_request(stack_->admin(), "POST", "/v1/certificates/reload", auth);
    EXPECT_THAT(refused.status, AnyOf(400U, 422U)) << refused.body;
    const auto error = parse_json(refused.body);
    ASSERT_TRUE(error && error->is_object() && error->as_object().contains("error"))
        << "expected {\"error\": \"...\"}, got: " << refused.body;
    EXPECT_THAT(std::string{error->at("error").as_string()}, AnyOf(HasSubstr("apps.crt"), HasSubstr("apps.key")))
        << "the error does not name the file";
    EXPECT_EQ(served_serial(), old_serial_) << "the previous set must keep serving";
    EXPECT_EQ(open.get("app.example.com", "/").first, 200U) << "the open connection: " << open.error();

    const auto renewed = ca_.issue(certs_.path(), "apps", {.sans = {"app.example.com"}});
    const auto accepted = test::http_request(stack_->admin(), "POST", "/v1/certificates/reload", auth);
    EXPECT_EQ(accepted.status, 200U) << accepted.body;
    EXPECT_TRUE(parse_json(accepted.body)) << "the loaded set is described as JSON: " << accepted.body;
    EXPECT_THAT(accepted.body, AnyOf(HasSubstr("app.example.com"), HasSubstr("apps"))) << accepted.body;
    EXPECT_EQ(served_serial(), renewed.serial);
    EXPECT_EQ(open.get("app.example.com", "/").first, 200U) << "the open connection: " << open.error();
    ASSERT_TRUE(stack_->running());
}

// --- PROXY protocol v2 on a passthrough rule ----------------------------------------------

TEST(tls_proxy_protocol_process, passthrough_with_proxy_protocol_tells_the_origin_the_client_address)
{
    test::test_ca ca;
    test::temp_dir certs;
    test::temp_dir origin_certs;
    ca.issue(certs.path(), "front", {.sans = {"front.example.com"}});
    const auto o = ca.issue(origin_certs.path(), "pp", {.sans = {"pp.example.com", "pp-plain.example.com"}});
    test::child_process pp2{{test::python3(), test::support_script("pp2_origin.py").string(), "--cert",
                             o.crt.string(), "--key", o.key.string()}};
    const auto pp2_port = wait_for_ready_port(pp2, "READY port=");
    ASSERT_NE(pp2_port, 0) << pp2.out() << pp2.err();

    tls_stack s{certs.path(), ca.certificate(), {}};
    ASSERT_TRUE(s.not_up().empty()) << s.not_up();
    ASSERT_TRUE(s.put_rule("pp.example.com", passthrough_rule("pp.new.example", pp2_port, true)));
    ASSERT_TRUE(s.put_rule("pp-plain.example.com", passthrough_rule("pp.new.example", pp2_port, false)));

    const auto r = curl_https("1.1", s.https(), "pp.example.com", "/", ca.certificate());
    ASSERT_EQ(r.status, 200U) << r.describe() << "\norigin: " << pp2.out() << pp2.err();
    const auto seen = parse_json(r.body);
    ASSERT_TRUE(seen) << r.body;
    ASSERT_FALSE(seen->at("proxy").is_null()) << "no PROXY v2 header reached the origin: " << r.body;
    EXPECT_EQ(seen->at("proxy").at("command").as_string(), "PROXY");
    EXPECT_EQ(seen->at("proxy").at("family").as_string(), "TCP4");
    EXPECT_EQ(seen->at("proxy").at("source").as_string(), "127.0.0.1:" + r.local_port)
        << "not the client's address (curl's local port " << r.local_port << ")";
    EXPECT_EQ(seen->at("proxy").at("destination").as_string(), "127.0.0.1:" + std::to_string(s.https()));
    EXPECT_EQ(seen->at("sni").as_string(), "pp.example.com");

    // Without "proxy_protocol" the origin gets the client's bytes and nothing before them.
    const auto plain = curl_https("1.1", s.https(), "pp-plain.example.com", "/", ca.certificate());
    ASSERT_EQ(plain.status, 200U) << plain.describe();
    const auto plain_seen = parse_json(plain.body);
    ASSERT_TRUE(plain_seen) << plain.body;
    EXPECT_TRUE(plain_seen->at("proxy").is_null()) << plain.body;
    pp2.send_signal(SIGTERM);
}

} // namespace
} // namespace stork
