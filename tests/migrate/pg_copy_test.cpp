#include "migrate/pg_copy.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace stork::migrate {
namespace {

TEST(pg_copy_redact, hides_passwords_and_keeps_the_rest)
{
    struct row {
        const char* url;
        const char* shown;
    };
    const row rows[] = {
        {"postgresql://stork:secret@127.0.0.1:5433/postgres", "postgresql://stork:***@127.0.0.1:5433/postgres"},
        {"postgres://u:p%40ss@db.example:5432/app", "postgres://u:***@db.example:5432/app"},
        {"postgresql://u@127.0.0.1:5432/app", "postgresql://u@127.0.0.1:5432/app"},
        {"postgresql://u@h/app?sslmode=require&password=hunter2", "postgresql://u@h/app?sslmode=require&password=***"},
        {"http://u:p@h/x", "(invalid URL)"},
        {"not a url", "(invalid URL)"},
    };
    for (const auto& r : rows) {
        EXPECT_EQ(redact_url(r.url), r.shown) << r.url;
    }
}

TEST(pg_copy_names, accepts_plain_names_and_refuses_the_rest)
{
    const std::vector<std::string> goods{"app", "my_app_1234", "_x", "App-Prod", std::string(63, 'a')};
    for (const auto& good : goods) {
        EXPECT_TRUE(valid_database_name(good)) << good;
    }
    const std::vector<std::string> bads{"", "1app", "-app", "a b", "a\"b", "a;DROP DATABASE x", "a'b", "a.b", "é",
                                        std::string(64, 'a')};
    for (const auto& bad : bads) {
        EXPECT_FALSE(valid_database_name(bad)) << bad;
    }
}

TEST(pg_copy_names, provision_refuses_a_bad_name_before_connecting)
{
    // Port 1 has no server: the refusal must come before any connection attempt.
    EXPECT_THROW(provision_database("postgresql://u:p@127.0.0.1:1/postgres", "x\"; DROP DATABASE y; --"),
                 std::invalid_argument);
}

TEST(pg_copy_urls, copy_reports_a_bad_url_without_its_password)
{
    const auto r = copy_database("mysql://u:topsecret@h/db", "postgresql://u@h/db", "/nonexistent");
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.error.find("topsecret"), std::string::npos) << r.error;
}

} // namespace
} // namespace stork::migrate
