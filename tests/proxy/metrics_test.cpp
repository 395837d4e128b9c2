#include "proxy/metrics.hpp"

#include <gtest/gtest.h>

namespace stork::proxy {
namespace {

TEST(prometheus_text, families_samples_and_escaping)
{
    prometheus_text m;
    m.family("stork_x_total", "counter", "Things with a \\ and\na newline.");
    m.sample("stork_x_total", {{"node", "a\"b\\c\nd"}, {"mode", "proxy"}}, 3);
    m.sample("stork_x_total", 0.5);
    EXPECT_EQ(m.text(), "# HELP stork_x_total Things with a \\\\ and\\na newline.\n"
                        "# TYPE stork_x_total counter\n"
                        "stork_x_total{node=\"a\\\"b\\\\c\\nd\",mode=\"proxy\"} 3\n"
                        "stork_x_total 0.5\n");
}

TEST(prometheus_text, special_values)
{
    prometheus_text m;
    m.sample("a", std::numeric_limits<double>::infinity());
    m.sample("b", -std::numeric_limits<double>::infinity());
    m.sample("c", std::numeric_limits<double>::quiet_NaN());
    m.sample("d", 1e21);
    EXPECT_EQ(m.text(), "a +Inf\nb -Inf\nc NaN\nd 1e+21\n");
}

} // namespace
} // namespace stork::proxy
