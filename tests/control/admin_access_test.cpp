#include "control/admin_access.hpp"

#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace stork::control {
namespace {

// An environment of the test's own, instead of setenv on the test process.
env_lookup environment(std::map<std::string, std::string> vars)
{
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        const auto it = vars.find(std::string{name});
        if (it == vars.end()) {
            return std::nullopt;
        }
        return it->second;
    };
}

// ---- URLs ----------------------------------------------------------------------------

struct good_url {
    std::string text;
    std::string host;
    std::uint16_t port;
    bool is_ip;
    std::string authority;
};

TEST(admin_url, accepts_plain_http_base_urls)
{
    const std::vector<good_url> cases = {
        {"http://127.0.0.1:9180", "127.0.0.1", 9180, true, "127.0.0.1:9180"},
        {"http://127.0.0.1:9180/", "127.0.0.1", 9180, true, "127.0.0.1:9180"},
        {"HTTP://127.0.0.1:9180", "127.0.0.1", 9180, true, "127.0.0.1:9180"},
        {"http://[::1]:9180", "::1", 9180, true, "[::1]:9180"},
        {"http://[::1]", "::1", 80, true, "[::1]:80"},
        {"http://admin.internal", "admin.internal", 80, false, "admin.internal:80"},
        {"http://localhost:1", "localhost", 1, false, "localhost:1"},
    };
    for (const good_url& c : cases) {
        SCOPED_TRACE(c.text);
        const auto url = parse_admin_url(c.text);
        ASSERT_TRUE(url) << url.error();
        EXPECT_EQ(url->text, c.text);
        EXPECT_EQ(url->host, c.host);
        EXPECT_EQ(url->port, c.port);
        EXPECT_EQ(url->host_is_ip, c.is_ip);
        EXPECT_EQ(url->authority(), c.authority);
    }
}

struct bad_url {
    std::string text;
    std::string says;  // the message contains this
};

TEST(admin_url, refuses_what_is_not_a_plain_http_base_url)
{
    const std::vector<bad_url> cases = {
        {"https://127.0.0.1:9180", "only http:// URLs"},
        {"ftp://127.0.0.1", "only http:// URLs"},
        {"127.0.0.1:9180", "is not a URL"},
        {"http://", "no host"},
        {"http://user:secret@127.0.0.1:9180", "--token-file or STORK_TOKEN"},
        {"http://127.0.0.1:9180/admin", "has a path"},
        {"http://127.0.0.1:9180?x=1", "has a path, a query"},
        {"http://127.0.0.1:9180#top", "fragment"},
        {"http://::1:9180", "between brackets"},
        {"http://127.0.0.1:99999", "99999"},
        {"http://127.0.0.1:0", "port 0"},
        {"http://bad_host:9180", "bad_host"},
        {"http://a b:9180", "space"},
    };
    for (const bad_url& c : cases) {
        SCOPED_TRACE(c.text);
        const auto url = parse_admin_url(c.text);
        ASSERT_FALSE(url);
        EXPECT_NE(url.error().find(c.says), std::string::npos) << url.error();
        EXPECT_EQ(url.error().find('\n'), std::string::npos) << url.error();
    }
}

// ---- where the admin API is ----------------------------------------------------------

TEST(admin_access, url_comes_from_the_flag_then_the_environment_then_the_default)
{
    const auto token = environment({{"STORK_TOKEN", "t"}});
    const auto both = environment({{"STORK_TOKEN", "t"}, {"STORK_ADMIN", "http://10.0.0.2:9180"}});

    auto a = resolve_admin_access(admin_options{.url = "http://10.0.0.1:1"}, both);
    ASSERT_TRUE(a) << a.error();
    EXPECT_EQ(a->url.text, "http://10.0.0.1:1");

    a = resolve_admin_access(admin_options{}, both);
    ASSERT_TRUE(a) << a.error();
    EXPECT_EQ(a->url.text, "http://10.0.0.2:9180");

    a = resolve_admin_access(admin_options{}, token);
    ASSERT_TRUE(a) << a.error();
    EXPECT_EQ(a->url.text, "http://127.0.0.1:9180");
    EXPECT_EQ(a->url.port, 9180);

    // An empty variable is an unset one.
    a = resolve_admin_access(admin_options{}, environment({{"STORK_TOKEN", "t"}, {"STORK_ADMIN", ""}}));
    ASSERT_TRUE(a) << a.error();
    EXPECT_EQ(a->url.text, "http://127.0.0.1:9180");
}

TEST(admin_access, a_bad_url_names_where_it_came_from)
{
    auto a = resolve_admin_access(admin_options{.url = "https://x:1"}, environment({{"STORK_TOKEN", "t"}}));
    ASSERT_FALSE(a);
    EXPECT_TRUE(a.error().starts_with("--admin: ")) << a.error();

    a = resolve_admin_access(admin_options{}, environment({{"STORK_TOKEN", "t"}, {"STORK_ADMIN", "x:1"}}));
    ASSERT_FALSE(a);
    EXPECT_TRUE(a.error().starts_with("STORK_ADMIN: ")) << a.error();
}

// ---- the token -----------------------------------------------------------------------

TEST(admin_access, token_file_is_trimmed_and_wins_over_the_environment)
{
    const test::temp_dir dir;
    const auto file = dir.write("admin.token", "  s3cr3t-token\n\n");
    const auto a = resolve_admin_access(admin_options{.token_file = file.string()},
                                        environment({{"STORK_TOKEN", "from-env"}}));
    ASSERT_TRUE(a) << a.error();
    EXPECT_EQ(a->token, "s3cr3t-token");
}

TEST(admin_access, token_from_the_environment)
{
    const auto a = resolve_admin_access(admin_options{}, environment({{"STORK_TOKEN", "from-env\n"}}));
    ASSERT_TRUE(a) << a.error();
    EXPECT_EQ(a->token, "from-env");
}

TEST(admin_access, no_token_names_both_ways_to_give_one)
{
    for (const auto& env : {environment({}), environment({{"STORK_TOKEN", ""}})}) {
        const auto a = resolve_admin_access(admin_options{}, env);
        ASSERT_FALSE(a);
        EXPECT_NE(a.error().find("--token-file"), std::string::npos) << a.error();
        EXPECT_NE(a.error().find("STORK_TOKEN"), std::string::npos) << a.error();
    }
}

TEST(admin_access, bad_tokens_are_refused_with_a_reason)
{
    const test::temp_dir dir;
    struct bad_case {
        admin_options options;
        std::map<std::string, std::string> env;
        std::string says;
    };
    const std::vector<bad_case> cases = {
        {{.token_file = (dir.path() / "missing").string()}, {}, "cannot read it"},
        {{.token_file = dir.write("empty", " \n").string()}, {}, "is empty"},
        {{.token_file = dir.write("two-words", "abc def\n").string()}, {}, "has a space"},
        {{.token_file = dir.write("big", std::string(70 * 1024, 'a')).string()}, {}, "larger than 64 KiB"},
        {{.token_file = dir.path().string()}, {}, "--token-file"},
        {{}, {{"STORK_TOKEN", "a\x01" "b"}}, "STORK_TOKEN has a space, a control byte"},
        {{}, {{"STORK_TOKEN", "  "}}, "STORK_TOKEN holds only spaces"},
    };
    for (const bad_case& c : cases) {
        SCOPED_TRACE(c.says);
        const auto a = resolve_admin_access(c.options, environment(c.env));
        ASSERT_FALSE(a);
        EXPECT_NE(a.error().find(c.says), std::string::npos) << a.error();
        EXPECT_EQ(a.error().find('\n'), std::string::npos) << a.error();
    }
}

} // namespace
} // namespace stork::control
