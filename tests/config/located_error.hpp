#pragma once

// The shared check of the loaders' error tables (storkd.yaml, control.yaml, inventory):
// one bad input gives exactly one diagnostic, located at file:line:col, with its key path
// and a message that says what is wrong.

#include "config/diagnostic.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace stork::test {

struct error_case {
    const char* name;
    std::string yaml;
    int line;
    int column;
    const char* key_path;
    const char* message;
};

inline void expect_one_error_at(const std::vector<config::diagnostic>& errors, const std::filesystem::path& file,
                                const error_case& c)
{
    std::string all;
    for (const auto& e : errors) {
        all += e.to_string() + "\n";
    }
    EXPECT_EQ(errors.size(), 1u) << all;
    if (errors.size() != 1) {
        return;
    }
    const config::diagnostic& d = errors.front();
    EXPECT_EQ(d.file, file.string());
    EXPECT_EQ(d.line, c.line) << d.to_string();
    EXPECT_EQ(d.column, c.column) << d.to_string();
    EXPECT_EQ(d.key_path, c.key_path) << d.to_string();
    EXPECT_THAT(d.message, ::testing::HasSubstr(c.message)) << d.to_string();
}

} // namespace stork::test
