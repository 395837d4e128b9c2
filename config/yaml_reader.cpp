#include "config/yaml_reader.hpp"

#include "config/printable.hpp"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <sstream>
#include <tuple>

namespace stork::config {

namespace {

// Optimal string alignment distance, for "did you mean" hints on unknown keys.
std::size_t edit_distance(std::string_view a, std::string_view b)
{
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        prev[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

const char* kind_of(const YAML::Node& node)
{
    switch (node.Type()) {
    case YAML::NodeType::Map:
        return "a mapping";
    case YAML::NodeType::Sequence:
        return "a list";
    case YAML::NodeType::Null:
        return "empty";
    case YAML::NodeType::Scalar:
        return "a single value";
    case YAML::NodeType::Undefined:
        break;
    }
    return "undefined";
}

} // namespace

namespace {

// Counts the documents of a stream and where each starts, building nothing.
struct document_counter : YAML::EventHandler {
    std::vector<YAML::Mark> starts;

    void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
};

} // namespace

std::optional<YAML::Node> yaml_reader::load(std::string_view text)
{
    const std::string input{text};
    try {
        YAML::Node first = YAML::Load(input);
        // A second document would be ignored by Load: find it. Not with YAML::LoadAll,
        // which on some inputs (a lone ",") yields empty documents forever until memory
        // runs out (found by the fuzz target): ask for two documents, no more.
        std::istringstream stream{input};
        YAML::Parser parser{stream};
        document_counter counter;
        for (int i = 0; i < 2 && parser.HandleNextDocument(counter); ++i) {
        }
        if (counter.starts.size() > 1) {
            error(counter.starts[1], "", "a second YAML document starts here; the configuration is one document");
            return std::nullopt;
        }
        return first;
    } catch (const YAML::Exception& e) {
        // yaml-cpp's own message, without its "yaml-cpp: error at line..." prefix: our
        // diagnostic already says where.
        error(e.mark, "", "YAML syntax: " + e.msg);
        return std::nullopt;
    }
}

void yaml_reader::error(const YAML::Mark& mark, std::string_view key_path, std::string message)
{
    diagnostic d{file_, 0, 0, std::string{key_path}, std::move(message)};
    if (!mark.is_null()) {
        d.line = mark.line + 1;
        d.column = mark.column + 1;
    }
    diagnostics_.push_back(std::move(d));
}

YAML::Node yaml_reader::load_mapping(std::string_view text, std::string_view empty_message)
{
    const auto root = load(text);
    if (!root) {
        throw_if_failed();
    }
    if (root->IsNull()) {
        error(YAML::Mark{}, "", std::string{empty_message});
        throw_if_failed();
    }
    if (!root->IsMap()) {
        // Every key would then be reported missing: say the one thing that is wrong.
        const yaml_map not_a_map{*this, *root, "", {}};
        throw_if_failed();
    }
    return *root;
}

void yaml_reader::throw_if_failed()
{
    if (failed()) {
        std::stable_sort(diagnostics_.begin(), diagnostics_.end(), [](const diagnostic& a, const diagnostic& b) {
            return std::tie(a.line, a.column) < std::tie(b.line, b.column);
        });
        throw config_error{std::move(diagnostics_)};
    }
}

yaml_map::yaml_map(yaml_reader& reader, const YAML::Node& node, std::string path,
                   std::initializer_list<std::string_view> known_keys)
    : reader_{&reader}, path_{std::move(path)}, mark_{node.Mark()}
{
    if (node.IsNull()) {
        return;
    }
    if (!node.IsMap()) {
        reader.error(mark_, path_, std::string{"must be a mapping of keys, not "} + kind_of(node));
        return;
    }
    for (const auto& pair : node) {
        const YAML::Node& key_node = pair.first;
        if (!key_node.IsScalar()) {
            reader.error(key_node.Mark(), path_, "a key must be a plain name");
            continue;
        }
        const std::string& key = key_node.Scalar();
        const std::string key_path = path_of(printable(key));
        if (std::find(known_keys.begin(), known_keys.end(), key) == known_keys.end()) {
            std::string message = "unknown key";
            const auto nearest = std::min_element(known_keys.begin(), known_keys.end(),
                [&](std::string_view a, std::string_view b) { return edit_distance(key, a) < edit_distance(key, b); });
            if (nearest != known_keys.end() && edit_distance(key, *nearest) <= 2) {
                message += "; did you mean " + quoted(*nearest) + "?";
            } else {
                message += "; known keys here:";
                for (std::string_view k : known_keys) {
                    message += " ";
                    message += k;
                }
            }
            reader.error(key_node.Mark(), key_path, std::move(message));
            continue;
        }
        if (find(key)) {
            reader.error(key_node.Mark(), key_path, "duplicate key");
            continue;
        }
        entries_.push_back({key, key_node.Mark(), pair.second});
    }
}

std::optional<YAML::Node> yaml_map::find(std::string_view key) const
{
    for (const entry& e : entries_) {
        if (e.key == key) {
            return e.value;
        }
    }
    return std::nullopt;
}

YAML::Mark yaml_map::mark_of(std::string_view key) const
{
    for (const entry& e : entries_) {
        if (e.key == key) {
            return e.value.IsNull() ? e.key_mark : e.value.Mark();
        }
    }
    return mark_;
}

std::string yaml_map::path_of(std::string_view key) const
{
    return path_.empty() ? std::string{key} : path_ + "." + std::string{key};
}

void yaml_map::missing(std::string_view key) const
{
    reader_->error(mark_, path_of(key), "is required");
}

std::optional<std::string> yaml_map::scalar(std::string_view key) const
{
    const auto node = find(key);
    if (!node) {
        return std::nullopt;
    }
    return scalar_of(*node, path_of(key), mark_of(key));
}

std::optional<std::string> yaml_map::scalar_of(const YAML::Node& node, const std::string& path,
                                               std::optional<YAML::Mark> mark) const
{
    if (!node.IsScalar()) {
        reader_->error(mark.value_or(node.Mark()), path, std::string{"must be a single value, not "} + kind_of(node));
        return std::nullopt;
    }
    return node.Scalar();
}

std::optional<std::vector<YAML::Node>> yaml_map::sequence(std::string_view key) const
{
    const auto node = find(key);
    if (!node) {
        return std::nullopt;
    }
    if (!node->IsSequence()) {
        reader_->error(mark_of(key), path_of(key), std::string{"must be a list, not "} + kind_of(*node));
        return std::nullopt;
    }
    return std::vector<YAML::Node>(node->begin(), node->end());
}

std::optional<std::vector<yaml_entry>> yaml_entries(yaml_reader& reader, const YAML::Node& node,
                                                    const std::string& path, const YAML::Mark& mark)
{
    std::vector<yaml_entry> entries;
    if (node.IsNull()) {
        return entries;
    }
    if (!node.IsMap()) {
        reader.error(mark, path, std::string{"must be a mapping of keys, not "} + kind_of(node));
        return std::nullopt;
    }
    for (const auto& pair : node) {
        const YAML::Node& key_node = pair.first;
        if (!key_node.IsScalar()) {
            reader.error(key_node.Mark(), path, "a key must be a plain name");
            continue;
        }
        const std::string& key = key_node.Scalar();
        const bool seen = std::any_of(entries.begin(), entries.end(), [&](const yaml_entry& e) { return e.key == key; });
        if (seen) {
            reader.error(key_node.Mark(), (path.empty() ? "" : path + ".") + printable(key), "duplicate key");
            continue;
        }
        entries.push_back({key, key_node.Mark(), pair.second});
    }
    return entries;
}

} // namespace stork::config
