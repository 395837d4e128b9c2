#include "config/host_name.hpp"

#include <gtest/gtest.h>

#include <string>

namespace stork::config {
namespace {

TEST(host_name, accepts_ldh_names)
{
    const std::string label63(63, 'a');
    const std::string longest = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b'); // 253
    for (const std::string& name : {std::string{"localhost"}, std::string{"my-app.example.com"},
                                    std::string{"MY-APP.Example.COM"}, std::string{"xn--bcher-kva.example"},
                                    std::string{"a1.b2"}, std::string{"router.internal"}, label63, longest}) {
        EXPECT_TRUE(is_host_name(name)) << name << ": " << host_name_problem(name).value_or("");
    }
}

TEST(host_name, refuses_with_a_reason)
{
    const struct {
        std::string name;
        const char* why;
    } cases[] = {
        {"", "empty host name"},
        {"example.com.", "empty label"},
        {".example.com", "empty label"},
        {"a..b", "empty label"},
        {std::string(64, 'a') + ".com", "longer than 63"},
        {std::string(63, 'a') + "." + std::string(63, 'a') + "." + std::string(63, 'a') + "." + std::string(62, 'a'),
         "longer than 253"},
        {"-app.example.com", "starts or ends with '-'"},
        {"app-.example.com", "starts or ends with '-'"},
        {"my_app.example.com", "offset 2"},
        {"*.example.com", "offset 0"},
        {"app.example.com:80", "offset 15"},
        {"app example", "offset 3"},
        {std::string{"a\0b", 3}, "offset 1"},
        {"10.0.0.256", "all digits"},
        {"1234", "all digits"},
    };
    for (const auto& c : cases) {
        const auto problem = host_name_problem(c.name);
        ASSERT_TRUE(problem) << "\"" << c.name << "\" was accepted";
        EXPECT_NE(problem->find(c.why), std::string::npos) << c.name << " -> " << *problem;
    }
}

} // namespace
} // namespace stork::config
