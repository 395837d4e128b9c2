#include "proxy/options.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace stork::proxy {
namespace {

command_line parse(std::vector<std::string_view> args)
{
    return parse_command_line(args);
}

TEST(storkd_options, defaults_to_the_system_configuration)
{
    const auto r = std::get<run_options>(parse({}));
    EXPECT_EQ(r.config, default_config_path);
    EXPECT_FALSE(r.check_only);
}

TEST(storkd_options, config_and_check)
{
    for (const auto& args : {std::vector<std::string_view>{"--config", "a.yaml", "--check"},
                             std::vector<std::string_view>{"--check", "--config=a.yaml"}}) {
        const auto r = std::get<run_options>(parse(args));
        EXPECT_EQ(r.config, "a.yaml");
        EXPECT_TRUE(r.check_only);
    }
}

TEST(storkd_options, help_and_version_win)
{
    EXPECT_TRUE(std::holds_alternative<show_help>(parse({"--config", "x", "--help"})));
    EXPECT_TRUE(std::holds_alternative<show_help>(parse({"-h"})));
    EXPECT_TRUE(std::holds_alternative<show_version>(parse({"--version"})));
    EXPECT_NE(version_text().find("storkd "), std::string::npos);
    EXPECT_NE(help_text().find("--check"), std::string::npos);
}

TEST(storkd_options, usage_errors_name_the_problem)
{
    const struct {
        std::vector<std::string_view> args;
        const char* message;
    } cases[] = {
        {{"--config"}, "--config needs a file"},
        {{"--config="}, "--config needs a file"},
        {{"--config", "a", "--config", "b"}, "--config is given twice"},
        {{"--chek"}, "unknown argument \"--chek\""},
        {{"storkd.yaml"}, "unknown argument \"storkd.yaml\""},
    };
    for (const auto& c : cases) {
        const auto r = parse(c.args);
        ASSERT_TRUE(std::holds_alternative<usage_error>(r)) << c.message;
        EXPECT_EQ(std::get<usage_error>(r).message, c.message);
    }
}

} // namespace
} // namespace stork::proxy
