// new_uuid_v4(): the text form, the version and variant bits, no repeats.
#include "migrate/uuid.hpp"

#include <gtest/gtest.h>

#include <set>

namespace stork::migrate {
namespace {

TEST(uuid, has_the_v4_text_form)
{
    const std::string id = new_uuid_v4();
    ASSERT_EQ(id.size(), 36U);
    for (std::size_t i = 0; i < id.size(); ++i) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            EXPECT_EQ(id[i], '-') << id;
        } else {
            EXPECT_TRUE((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')) << id;
        }
    }
    EXPECT_EQ(id[14], '4') << id;                                // version 4
    EXPECT_NE(std::string_view{"89ab"}.find(id[19]), std::string_view::npos) << id;   // variant 10
}

TEST(uuid, does_not_repeat)
{
    std::set<std::string> seen;
    for (int i = 0; i < 10000; ++i) {
        EXPECT_TRUE(seen.insert(new_uuid_v4()).second);
    }
}

} // namespace
} // namespace stork::migrate
