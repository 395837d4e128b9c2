#include "migrate/app_json.hpp"

#include "config/printable.hpp"

#include <boost/json.hpp>

#include <cmath>
#include <limits>
#include <optional>
#include <utility>

namespace stork::migrate {
namespace {

namespace json = boost::json;

[[noreturn]] void fail(std::string message)
{
    throw app_json_error{std::move(message)};
}

// A key or name taken from the input, for a message: escaped and cut short, because a
// stored document can hold anything, megabytes included.
std::string shown(std::string_view text)
{
    return "\"" + config::printable(text, 40) + "\"";
}

json::value parse_text(std::string_view text)
{
    boost::system::error_code ec;
    json::value parsed = json::parse(json::string_view{text.data(), text.size()}, ec);
    if (ec) {
        // The parser's own message ("syntax error", ...): it never quotes the input.
        fail("not JSON (" + ec.message() + ")");
    }
    return parsed;
}

// One JSON object of a stored text, and how messages name it: `path` is empty for the
// top level ("no \"settings\""), else the member or item ("\"scm\"", "formation[2]").
class object_reader {
public:
    object_reader(const json::value& v, std::string path, std::string_view top_name = "the document")
        : path_{std::move(path)}
    {
        if (!v.is_object()) {
            fail((path_.empty() ? std::string{top_name} : path_) + " is not an object");
        }
        object_ = &v.get_object();
    }

    const json::object& object() const { return *object_; }

    const json::value& member(std::string_view key) const
    {
        const auto* v = object_->if_contains(key);
        if (!v) {
            fail(path_.empty() ? "no \"" + std::string{key} + "\""
                               : path_ + " has no \"" + std::string{key} + "\"");
        }
        return *v;
    }

    // The member `key`, which must be an object.
    object_reader nested(std::string_view key) const { return object_reader{member(key), name(key)}; }

    const json::array& array(std::string_view key) const
    {
        const auto& v = member(key);
        if (!v.is_array()) {
            wrong(key, "an array");
        }
        return v.get_array();
    }

    std::string string(std::string_view key) const
    {
        const auto& v = member(key);
        if (!v.is_string()) {
            wrong(key, "a string");
        }
        return std::string{v.get_string()};
    }

    std::optional<std::string> optional_string(std::string_view key) const
    {
        if (member(key).is_null()) {
            return std::nullopt;
        }
        return string(key);
    }

    bool boolean(std::string_view key) const
    {
        const auto& v = member(key);
        if (!v.is_bool()) {
            wrong(key, "a boolean");
        }
        return v.get_bool();
    }

    double number(std::string_view key) const
    {
        const auto& v = member(key);
        if (!v.is_number()) {
            wrong(key, "a number");
        }
        // 1e999 parses as infinity, which the writer could not write back (Boost.JSON
        // 1.81 writes "Infinity", which is not JSON): refused here like any bad value.
        const double d = v.to_number<double>();
        if (!std::isfinite(d)) {
            fail(name(key) + " is out of range (not a finite number)");
        }
        return d;
    }

    // An `int` member (formation amounts, autoscaler bounds): the writer only ever wrote
    // ints, so anything outside their range is a damaged record, not a value to wrap.
    int integer(std::string_view key) const
    {
        const auto& v = member(key);
        if (!v.is_int64()) {
            wrong(key, "an integer");
        }
        const std::int64_t i = v.get_int64();
        if (i < std::numeric_limits<int>::min() || i > std::numeric_limits<int>::max()) {
            fail(prefix() + "\"" + std::string{key} + "\" is out of range (" + std::to_string(i) + " is not within "
                 + std::to_string(std::numeric_limits<int>::min()) + ".."
                 + std::to_string(std::numeric_limits<int>::max()) + ")");
        }
        return static_cast<int>(i);
    }

    std::vector<std::string> strings(std::string_view key) const
    {
        std::vector<std::string> items;
        const auto& a = array(key);
        for (std::size_t i = 0; i < a.size(); ++i) {
            if (!a[i].is_string()) {
                fail(prefix() + "\"" + std::string{key} + "\"[" + std::to_string(i) + "] is not a string");
            }
            items.emplace_back(a[i].get_string());
        }
        return items;
    }

    // How messages name the member `key` of this object.
    std::string name(std::string_view key) const { return prefix() + "\"" + std::string{key} + "\""; }

    // How messages name the item `i` of the array member `key` ("formation[2]").
    std::string item(std::string_view key, std::size_t i) const
    {
        return (path_.empty() ? "" : path_ + ".") + std::string{key} + "[" + std::to_string(i) + "]";
    }

private:
    std::string prefix() const { return path_.empty() ? "" : path_ + ": "; }

    [[noreturn]] void wrong(std::string_view key, std::string_view expected) const
    {
        fail(name(key) + " is not " + std::string{expected});
    }

    std::string path_;
    const json::object* object_ = nullptr;
};

// A double as JSON. JSON has no infinity or NaN, and Boost.JSON 1.81 writes them as
// "Infinity" and "NaN", which no parser reads back: one such value (an inventory's
// `.inf`) would make the whole stored document unreadable, so it is refused instead.
// `array`[`i`].`key` names the value in the message.
json::value finite(double d, std::string_view array, std::size_t i, std::string_view key)
{
    if (!std::isfinite(d)) {
        fail(std::string{array} + "[" + std::to_string(i) + "]: \"" + std::string{key} + "\" is "
             + (std::isnan(d) ? "NaN" : "infinite") + ", which JSON cannot hold");
    }
    return d;
}

json::array string_array(const std::vector<std::string>& items)
{
    json::array a;
    for (const auto& item : items) {
        a.emplace_back(item);
    }
    return a;
}

// --- the formation: one codec for the app document's member and the snapshot ------------

json::array formation_value(const std::vector<formation_type>& formation)
{
    json::array out;
    for (const auto& f : formation) {
        out.emplace_back(json::object{{"name", f.name}, {"amount", f.amount}, {"size", f.size}});
    }
    return out;
}

// `array` is the formation; `item_name(i)` names its entries in messages.
template <class ItemName>
std::vector<formation_type> formation_of(const json::array& array, ItemName item_name)
{
    std::vector<formation_type> out;
    for (std::size_t i = 0; i < array.size(); ++i) {
        const object_reader o{array[i], item_name(i)};
        out.push_back(formation_type{.name = o.string("name"), .amount = o.integer("amount"), .size = o.string("size")});
    }
    return out;
}

// --- the app document -----------------------------------------------------------------------

// The member order is the one the local driver has always written.
json::value document_value(const app& a)
{
    json::object doc;
    doc["settings"] = json::object{{"force_https", a.settings.force_https},
                                   {"sticky_session", a.settings.sticky_session},
                                   {"router_logs", a.settings.router_logs}};
    doc["last_deployment"] = a.last_deployment
                                 ? json::value(json::object{{"id", a.last_deployment->id},
                                                            {"status", a.last_deployment->status},
                                                            {"image", a.last_deployment->image}})
                                 : json::value(nullptr);
    json::object env;
    for (const auto& [name, value] : a.env) {
        env[name] = value;
    }
    doc["env"] = std::move(env);
    doc["scm"] = a.scm ? json::value(json::object{
                             {"type", a.scm->type}, {"repo", a.scm->repo}, {"auto_deploy", a.scm->auto_deploy}})
                       : json::value(nullptr);
    json::array collaborators;
    for (const auto& c : a.collaborators) {
        collaborators.emplace_back(json::object{{"email", c.email}, {"status", c.status}});
    }
    doc["collaborators"] = std::move(collaborators);
    json::array domains;
    for (const auto& d : a.domains) {
        domains.emplace_back(json::object{
            {"name", d.name},
            {"certificate_not_after",
             d.certificate_not_after ? json::value(*d.certificate_not_after) : json::value(nullptr)}});
    }
    doc["domains"] = std::move(domains);
    doc["formation"] = formation_value(a.formation);
    json::array notifiers;
    for (const auto& n : a.notifiers) {
        notifiers.emplace_back(json::object{{"name", n.name},
                                            {"platform", n.platform},
                                            {"active", n.active},
                                            {"events", string_array(n.events)}});
    }
    doc["notifiers"] = std::move(notifiers);
    json::array alerts;
    for (const auto& al : a.alerts) {
        const auto limit = finite(al.limit, "alerts", alerts.size(), "limit");
        alerts.emplace_back(json::object{{"container_type", al.container_type},
                                         {"metric", al.metric},
                                         {"limit", limit},
                                         {"send_when_below", al.send_when_below},
                                         {"notifiers", string_array(al.notifiers)}});
    }
    doc["alerts"] = std::move(alerts);
    json::array autoscalers;
    for (const auto& s : a.autoscalers) {
        const auto target = finite(s.target, "autoscalers", autoscalers.size(), "target");
        autoscalers.emplace_back(json::object{{"container_type", s.container_type},
                                              {"min", s.min},
                                              {"max", s.max},
                                              {"metric", s.metric},
                                              {"target", target},
                                              {"disabled", s.disabled}});
    }
    doc["autoscalers"] = std::move(autoscalers);
    doc["log_drains"] = string_array(a.log_drains);
    return doc;
}

// Calls `f(reader)` for every item of the array member `key`, each of which must be an object.
template <class F>
void for_each_object(const object_reader& doc, std::string_view key, F f)
{
    const auto& items = doc.array(key);
    for (std::size_t i = 0; i < items.size(); ++i) {
        f(object_reader{items[i], doc.item(key, i)});
    }
}

} // namespace

std::string app_document_to_json(const app& a)
{
    return json::serialize(document_value(a));
}

void app_document_from_json(std::string_view text, app& a)
{
    const json::value parsed = parse_text(text);
    const object_reader doc{parsed, ""};

    // Read into a copy and assign at the end: a failure leaves `a` as it was.
    app read;
    const auto settings = doc.nested("settings");
    read.settings = app_settings{.force_https = settings.boolean("force_https"),
                                 .sticky_session = settings.boolean("sticky_session"),
                                 .router_logs = settings.boolean("router_logs")};
    if (!doc.member("last_deployment").is_null()) {
        const auto d = doc.nested("last_deployment");
        read.last_deployment = deployment{.id = d.string("id"), .status = d.string("status"), .image = d.string("image")};
    }
    for (const auto& [name, value] : doc.nested("env").object()) {
        if (!value.is_string()) {
            fail("the variable " + shown(name) + " is not a string");
        }
        read.env[std::string{name}] = std::string{value.get_string()};
    }
    if (!doc.member("scm").is_null()) {
        const auto s = doc.nested("scm");
        read.scm = scm_link{.type = s.string("type"), .repo = s.string("repo"), .auto_deploy = s.boolean("auto_deploy")};
    }
    for_each_object(doc, "collaborators", [&](const object_reader& o) {
        read.collaborators.push_back(collaborator{.email = o.string("email"), .status = o.string("status")});
    });
    for_each_object(doc, "domains", [&](const object_reader& o) {
        read.domains.push_back(
            domain{.name = o.string("name"), .certificate_not_after = o.optional_string("certificate_not_after")});
    });
    read.formation = formation_of(doc.array("formation"), [&](std::size_t i) { return doc.item("formation", i); });
    for_each_object(doc, "notifiers", [&](const object_reader& o) {
        read.notifiers.push_back(notifier{.name = o.string("name"),
                                          .platform = o.string("platform"),
                                          .active = o.boolean("active"),
                                          .events = o.strings("events")});
    });
    for_each_object(doc, "alerts", [&](const object_reader& o) {
        read.alerts.push_back(alert{.container_type = o.string("container_type"),
                                    .metric = o.string("metric"),
                                    .limit = o.number("limit"),
                                    .send_when_below = o.boolean("send_when_below"),
                                    .notifiers = o.strings("notifiers")});
    });
    for_each_object(doc, "autoscalers", [&](const object_reader& o) {
        read.autoscalers.push_back(autoscaler{.container_type = o.string("container_type"),
                                              .min = o.integer("min"),
                                              .max = o.integer("max"),
                                              .metric = o.string("metric"),
                                              .target = o.number("target"),
                                              .disabled = o.boolean("disabled")});
    });
    read.log_drains = doc.strings("log_drains");

    a.settings = std::move(read.settings);
    a.last_deployment = std::move(read.last_deployment);
    a.env = std::move(read.env);
    a.scm = std::move(read.scm);
    a.collaborators = std::move(read.collaborators);
    a.domains = std::move(read.domains);
    a.formation = std::move(read.formation);
    a.notifiers = std::move(read.notifiers);
    a.alerts = std::move(read.alerts);
    a.autoscalers = std::move(read.autoscalers);
    a.log_drains = std::move(read.log_drains);
}

std::string formation_to_json(const std::vector<formation_type>& formation)
{
    return json::serialize(formation_value(formation));
}

std::vector<formation_type> formation_from_json(std::string_view text)
{
    const json::value parsed = parse_text(text);
    if (!parsed.is_array()) {
        fail("the formation is not an array");
    }
    return formation_of(parsed.get_array(), [](std::size_t i) { return "formation[" + std::to_string(i) + "]"; });
}

std::string table_counts_to_json(const std::map<std::string, std::int64_t>& tables)
{
    json::object o;
    for (const auto& [name, rows] : tables) {
        o[name] = rows;
    }
    return json::serialize(o);
}

std::map<std::string, std::int64_t> table_counts_from_json(std::string_view text)
{
    const json::value parsed = parse_text(text);
    if (!parsed.is_object()) {
        fail("the table counts are not an object");
    }
    std::map<std::string, std::int64_t> tables;
    for (const auto& [name, rows] : parsed.get_object()) {
        if (!rows.is_int64()) {
            fail("the row count of " + shown(name) + " is not an integer");
        }
        tables[std::string{name}] = rows.get_int64();
    }
    return tables;
}

} // namespace stork::migrate
