// The stored JSON shapes (migrate/app_json.hpp): round trips, the exact on-disk forms that
// existing databases hold, and a clear app_json_error for every malformed shape.
#include "migrate/app_json.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <string>

namespace stork::migrate {
namespace {

namespace json = boost::json;

app full_app()
{
    app a;
    a.settings = app_settings{.force_https = true, .sticky_session = false, .router_logs = true};
    a.last_deployment = deployment{.id = "dep-1", .status = "success", .image = "registry/my-app:42"};
    a.env = {{"DATABASE_URL", "postgres://u:p@db:5432/app"}, {"EMPTY", ""}, {"UNICODE", "\xc3\xa9t\xc3\xa9"}};
    a.scm = scm_link{.type = "github", .repo = "acme/my-app", .auto_deploy = true};
    a.collaborators = {collaborator{.email = "a@example.com", .status = "accepted"},
                       collaborator{.email = "b@example.com", .status = "pending"}};
    a.domains = {domain{.name = "www.example.com", .certificate_not_after = "2027-01-01T00:00:00Z"},
                 domain{.name = "example.com", .certificate_not_after = std::nullopt}};
    a.formation = {formation_type{.name = "web", .amount = 2, .size = "M"},
                   formation_type{.name = "worker", .amount = 0, .size = "L"},
                   formation_type{.name = "clock", .amount = 2147483647, .size = "S"}};
    a.notifiers = {notifier{.name = "ops", .platform = "slack", .active = false, .events = {"deploy", "crash"}},
                   notifier{.name = "mail", .platform = "email", .active = true, .events = {}}};
    a.alerts = {alert{.container_type = "web",
                      .metric = "cpu",
                      .limit = 0.1,
                      .send_when_below = true,
                      .notifiers = {"ops", "mail"}},
                alert{.container_type = "web", .metric = "rpm", .limit = 1e300, .send_when_below = false, .notifiers = {}}};
    a.autoscalers = {autoscaler{.container_type = "web",
                                .min = -2147483647 - 1,
                                .max = 10,
                                .metric = "p95_response_time",
                                .target = 123.456,
                                .disabled = true}};
    a.log_drains = {"syslog://logs.example.com:514", "https://drain.example.com/in"};
    return a;
}

// What the document holds of an app: the members outside it (columns, addons, running)
// cleared, so that a round trip can compare whole values.
app document_part(app a)
{
    a.id.clear();
    a.name.clear();
    a.region.clear();
    a.migration.reset();
    a.frozen = false;
    a.running = false;
    a.addons.clear();
    return a;
}

TEST(app_json, a_full_app_round_trips)
{
    const app a = full_app();
    app back;
    app_document_from_json(app_document_to_json(a), back);
    EXPECT_EQ(back, a);
}

TEST(app_json, an_empty_app_round_trips)
{
    const app a;
    app back = full_app();
    app_document_from_json(app_document_to_json(a), back);
    EXPECT_EQ(document_part(back), a);
}

TEST(app_json, the_members_outside_the_document_are_neither_written_nor_replaced)
{
    app a = full_app();
    a.id = "app-1";
    a.name = "the-app";
    a.region = "osc-fr1";
    a.migration = "mig-1";
    a.frozen = true;
    a.running = true;
    a.addons = {addon{.id = "ad-1", .provider = "postgresql", .plan = "s", .version = "15", .url = "postgres://x"}};
    const std::string text = app_document_to_json(a);
    for (const char* absent : {"app-1", "the-app", "osc-fr1", "mig-1", "ad-1", "\"frozen\"", "\"running\"", "addons"}) {
        EXPECT_EQ(text.find(absent), std::string::npos) << absent << " in " << text;
    }
    app back = a;
    back.env.clear();
    app_document_from_json(text, back);
    EXPECT_EQ(back, a);
}

// The exact text the local driver has always stored: existing databases hold it.
TEST(app_json, the_document_keeps_its_on_disk_form)
{
    app a;
    a.settings.force_https = true;
    a.env = {{"A", "1"}};
    a.domains = {domain{.name = "example.com", .certificate_not_after = std::nullopt}};
    a.formation = {formation_type{.name = "web", .amount = 2, .size = "M"}};
    a.alerts = {alert{.container_type = "web", .metric = "cpu", .limit = 80, .send_when_below = false, .notifiers = {"ops"}}};
    a.autoscalers = {autoscaler{.container_type = "web", .min = 1, .max = 3, .metric = "cpu", .target = 0.5, .disabled = false}};
    const std::string expected =
        R"({"settings":{"force_https":true,"sticky_session":false,"router_logs":false},"last_deployment":null,)"
        R"("env":{"A":"1"},"scm":null,"collaborators":[],"domains":[{"name":"example.com","certificate_not_after":null}],)"
        R"("formation":[{"name":"web","amount":2,"size":"M"}],"notifiers":[],)"
        R"("alerts":[{"container_type":"web","metric":"cpu","limit":8E1,"send_when_below":false,"notifiers":["ops"]}],)"
        R"("autoscalers":[{"container_type":"web","min":1,"max":3,"metric":"cpu","target":5E-1,"disabled":false}],)"
        R"("log_drains":[]})";
    EXPECT_EQ(app_document_to_json(a), expected);
    app back;
    app_document_from_json(expected, back);
    EXPECT_EQ(back, a);
}

TEST(app_json, the_formation_snapshot_keeps_its_on_disk_form)
{
    const std::vector<formation_type> f{formation_type{.name = "web", .amount = 2, .size = "M"},
                                        formation_type{.name = "worker", .amount = 0, .size = "XL"}};
    const std::string expected = R"([{"name":"web","amount":2,"size":"M"},{"name":"worker","amount":0,"size":"XL"}])";
    EXPECT_EQ(formation_to_json(f), expected);
    EXPECT_EQ(formation_from_json(expected), f);
    EXPECT_EQ(formation_from_json("[]"), std::vector<formation_type>{});
    // Members written by nobody (a newer stork) are ignored, as before.
    EXPECT_EQ(formation_from_json(R"([{"size":"M","amount":2,"name":"web","extra":1}])"),
              (std::vector<formation_type>{f[0]}));
}

TEST(app_json, the_document_and_the_snapshot_share_the_formation_codec)
{
    const app a = full_app();
    EXPECT_NE(app_document_to_json(a).find("\"formation\":" + formation_to_json(a.formation)), std::string::npos);
}

TEST(app_json, table_counts_keep_their_on_disk_form)
{
    const std::map<std::string, std::int64_t> t{
        {"public.users", 3}, {"public.empty", 0}, {"x.big", 9223372036854775807}, {"x.neg", -1}};
    const std::string expected = R"({"public.empty":0,"public.users":3,"x.big":9223372036854775807,"x.neg":-1})";
    EXPECT_EQ(table_counts_to_json(t), expected);
    EXPECT_EQ(table_counts_from_json(expected), t);
    EXPECT_EQ(table_counts_from_json("{}"), (std::map<std::string, std::int64_t>{}));
}

// A valid document with one change made to it.
std::string changed_document(const std::function<void(json::object&)>& change)
{
    json::value doc = json::parse(app_document_to_json(full_app()));
    change(doc.as_object());
    return json::serialize(doc);
}

void expect_error(const std::function<void()>& parse, const std::string& input, const std::string& message)
{
    try {
        parse();
        ADD_FAILURE() << input << ": no error";
    } catch (const app_json_error& e) {
        EXPECT_EQ(std::string{e.what()}, message) << input;
    }
}

TEST(app_json, every_malformed_document_is_a_clear_error)
{
    struct row {
        std::string text;
        std::string message;
    };
    const auto set = [](std::string_view path, json::value v) {
        return changed_document([path, v](json::object& doc) {
            json::value* at = &doc[path.substr(0, path.find('/'))];
            for (auto rest = path; rest.find('/') != std::string_view::npos;) {
                rest = rest.substr(rest.find('/') + 1);
                const auto key = rest.substr(0, rest.find('/'));
                at = at->is_array() ? &at->as_array().at(std::stoul(std::string{key})) : &at->as_object()[key];
            }
            *at = v;
        });
    };
    const auto erase = [](std::string_view key, std::string_view member = {}) {
        return changed_document([key, member](json::object& doc) {
            if (member.empty()) {
                doc.erase(key);
            } else {
                json::value& v = doc[key];
                (v.is_array() ? v.as_array().at(0).as_object() : v.as_object()).erase(member);
            }
        });
    };
    const std::vector<row> rows{
        {"", "not JSON (incomplete JSON)"},
        {"{not json", "not JSON (syntax error)"},
        {R"({"settings":)", "not JSON (incomplete JSON)"},
        {"[]", "the document is not an object"},
        {"null", "the document is not an object"},
        {"{}", "no \"settings\""},
        {erase("log_drains"), "no \"log_drains\""},
        {erase("formation"), "no \"formation\""},
        {set("settings", 3), "\"settings\" is not an object"},
        {erase("settings", "router_logs"), "\"settings\" has no \"router_logs\""},
        {set("settings/force_https", "yes"), "\"settings\": \"force_https\" is not a boolean"},
        {set("last_deployment", json::array{}), "\"last_deployment\" is not an object"},
        {set("last_deployment/image", 1), "\"last_deployment\": \"image\" is not a string"},
        {set("env", json::array{}), "\"env\" is not an object"},
        {set("env/PORT", 80), "the variable \"PORT\" is not a string"},
        {set("env/" + std::string(1000, 'X'), nullptr),
         "the variable \"" + std::string(40, 'X') + "...\" is not a string"},
        {set("env/a\nb", true), "the variable \"a\\nb\" is not a string"},
        {set("scm", "github"), "\"scm\" is not an object"},
        {set("scm/auto_deploy", nullptr), "\"scm\": \"auto_deploy\" is not a boolean"},
        {set("collaborators", json::object{}), "\"collaborators\" is not an array"},
        {set("collaborators/1", "b@example.com"), "collaborators[1] is not an object"},
        {erase("collaborators", "status"), "collaborators[0] has no \"status\""},
        {set("domains/1/certificate_not_after", 0), "domains[1]: \"certificate_not_after\" is not a string"},
        {erase("domains", "certificate_not_after"), "domains[0] has no \"certificate_not_after\""},
        {set("formation", json::object{}), "\"formation\" is not an array"},
        {set("formation/2", json::array{}), "formation[2] is not an object"},
        {erase("formation", "amount"), "formation[0] has no \"amount\""},
        {set("formation/0/amount", "2"), "formation[0]: \"amount\" is not an integer"},
        {set("formation/0/amount", 2.0), "formation[0]: \"amount\" is not an integer"},
        {set("formation/0/amount", 2147483648LL),
         "formation[0]: \"amount\" is out of range (2147483648 is not within -2147483648..2147483647)"},
        {set("formation/0/amount", -2147483649LL),
         "formation[0]: \"amount\" is out of range (-2147483649 is not within -2147483648..2147483647)"},
        {set("formation/0/amount", 18446744073709551615ULL), "formation[0]: \"amount\" is not an integer"},
        {set("formation/1/size", nullptr), "formation[1]: \"size\" is not a string"},
        {set("notifiers/0/events", "deploy"), "notifiers[0]: \"events\" is not an array"},
        {set("notifiers/0/events/1", 7), "notifiers[0]: \"events\"[1] is not a string"},
        {set("alerts/0/limit", "0.1"), "alerts[0]: \"limit\" is not a number"},
        {set("alerts/1/notifiers", nullptr), "alerts[1]: \"notifiers\" is not an array"},
        {set("autoscalers/0/max", 1e10), "autoscalers[0]: \"max\" is not an integer"},
        {set("autoscalers/0/min", 4294967296LL),
         "autoscalers[0]: \"min\" is out of range (4294967296 is not within -2147483648..2147483647)"},
        {erase("autoscalers", "disabled"), "autoscalers[0] has no \"disabled\""},
        {set("log_drains/0", json::object{}), "\"log_drains\"[0] is not a string"},
    };
    for (const auto& r : rows) {
        app a = full_app();
        a.id = "app-1";
        const app before = a;
        expect_error([&] { app_document_from_json(r.text, a); }, r.text, r.message);
        EXPECT_EQ(a, before) << r.text << ": a failed read changes nothing";
    }
}

// Found by app_json_fuzz: 1e999 parses as infinity, which Boost.JSON 1.81 writes as
// "Infinity" (not JSON), so one put_* would have made the document unreadable.
TEST(app_json, numbers_beyond_double_are_refused_both_ways)
{
    std::string text = app_document_to_json(full_app());
    text.replace(text.find("1E300"), 5, "1E999");
    app a;
    expect_error([&] { app_document_from_json(text, a); }, text,
                 "alerts[1]: \"limit\" is out of range (not a finite number)");
    text = app_document_to_json(full_app());
    text.replace(text.find("1.23456E2"), 9, "-1.2E400");
    expect_error([&] { app_document_from_json(text, a); }, text,
                 "autoscalers[0]: \"target\" is out of range (not a finite number)");

    app infinite = full_app();
    infinite.alerts[1].limit = std::numeric_limits<double>::infinity();
    expect_error([&] { app_document_to_json(infinite); }, "an infinite limit",
                 "alerts[1]: \"limit\" is infinite, which JSON cannot hold");
    infinite = full_app();
    infinite.autoscalers[0].target = std::numeric_limits<double>::quiet_NaN();
    expect_error([&] { app_document_to_json(infinite); }, "a NaN target",
                 "autoscalers[0]: \"target\" is NaN, which JSON cannot hold");
}

TEST(app_json, every_malformed_formation_is_a_clear_error)
{
    const std::vector<std::pair<std::string, std::string>> rows{
        {"", "not JSON (incomplete JSON)"},
        {"[{\"name\":\"web\"", "not JSON (incomplete JSON)"},
        {"{}", "the formation is not an array"},
        {"null", "the formation is not an array"},
        {"[1]", "formation[0] is not an object"},
        {R"([{"name":"web","amount":1,"size":"M"},{"amount":1,"size":"M"}])", "formation[1] has no \"name\""},
        {R"([{"name":"web","size":"M"}])", "formation[0] has no \"amount\""},
        {R"([{"name":"web","amount":1}])", "formation[0] has no \"size\""},
        {R"([{"name":1,"amount":1,"size":"M"}])", "formation[0]: \"name\" is not a string"},
        {R"([{"name":"web","amount":true,"size":"M"}])", "formation[0]: \"amount\" is not an integer"},
        {R"([{"name":"web","amount":1.5,"size":"M"}])", "formation[0]: \"amount\" is not an integer"},
        {R"([{"name":"web","amount":9223372036854775807,"size":"M"}])",
         "formation[0]: \"amount\" is out of range (9223372036854775807 is not within -2147483648..2147483647)"},
        {R"([{"name":"web","amount":99999999999999999999,"size":"M"}])", "formation[0]: \"amount\" is not an integer"},
        {R"([{"name":"web","amount":1,"size":["M"]}])", "formation[0]: \"size\" is not a string"},
    };
    for (const auto& [text, message] : rows) {
        expect_error([&] { formation_from_json(text); }, text, message);
    }
}

TEST(app_json, every_malformed_table_count_is_a_clear_error)
{
    const std::vector<std::pair<std::string, std::string>> rows{
        {"", "not JSON (incomplete JSON)"},
        {"{\"a\":", "not JSON (incomplete JSON)"},
        {"[]", "the table counts are not an object"},
        {"3", "the table counts are not an object"},
        {R"({"public.users":"3"})", "the row count of \"public.users\" is not an integer"},
        {R"({"public.users":3.0})", "the row count of \"public.users\" is not an integer"},
        {R"({"public.users":null})", "the row count of \"public.users\" is not an integer"},
        {R"({"public.users":18446744073709551615})", "the row count of \"public.users\" is not an integer"},
    };
    for (const auto& [text, message] : rows) {
        expect_error([&] { table_counts_from_json(text); }, text, message);
    }
}

TEST(app_json, a_huge_input_is_never_echoed)
{
    const std::string name(1 << 20, 'n');
    try {
        table_counts_from_json(R"({")" + name + R"(":"x"})");
        ADD_FAILURE() << "no error";
    } catch (const app_json_error& e) {
        EXPECT_LT(std::string{e.what()}.size(), 120U) << e.what();
    }
    try {
        app a;
        app_document_from_json(std::string(1 << 20, '['), a);
        ADD_FAILURE() << "no error";
    } catch (const app_json_error& e) {
        EXPECT_LT(std::string{e.what()}.size(), 120U) << e.what();
    }
}

TEST(app_json, the_error_is_a_platform_error)
{
    EXPECT_THROW(formation_from_json("x"), platform_error);
}

} // namespace
} // namespace stork::migrate
