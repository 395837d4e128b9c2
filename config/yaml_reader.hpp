#pragma once

// Internal to config/: walks a yaml-cpp tree against a schema and collects diagnostics.
// Public headers of config/ never include this file (no yaml-cpp type leaves config/).

#include "config/diagnostic.hpp"
#include "config/parsed.hpp"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stork::config {

class yaml_reader {
public:
    explicit yaml_reader(std::string file) : file_{std::move(file)} {}

    // The single document of `text`; a syntax error, or more than one document, becomes a
    // diagnostic and the result is empty.
    std::optional<YAML::Node> load(std::string_view text);

    // The top-level mapping of a whole file (storkd.yaml, control.yaml, an inventory):
    // load(), then "<empty_message>" for an empty document and the one "not a mapping"
    // error for anything else; each of those throws config_error at once.
    YAML::Node load_mapping(std::string_view text, std::string_view empty_message);

    void error(const YAML::Mark& mark, std::string_view key_path, std::string message);
    bool failed() const noexcept { return !diagnostics_.empty(); }
    const std::string& file() const noexcept { return file_; }

    // Throws config_error when anything was reported.
    void throw_if_failed();

private:
    std::string file_;
    std::vector<diagnostic> diagnostics_;
};

// A YAML mapping whose keys were checked against the known ones when it was opened:
// an unknown key (with the nearest known one as a hint), a duplicate key or a non-scalar
// key is reported once, there. A null node (a section written with nothing under it)
// is an empty mapping; any other non-mapping node is reported and treated as empty.
class yaml_map {
public:
    yaml_map(yaml_reader& reader, const YAML::Node& node, std::string path,
             std::initializer_list<std::string_view> known_keys);

    // The value under `key`, or nothing when the key is absent.
    std::optional<YAML::Node> find(std::string_view key) const;
    std::string path_of(std::string_view key) const;
    const YAML::Mark& mark() const noexcept { return mark_; }
    yaml_reader& reader() const noexcept { return *reader_; }

    // Reports `key` as missing (at the mapping's own position).
    void missing(std::string_view key) const;

    // The scalar text under `key` (reported when present but not a scalar).
    std::optional<std::string> scalar(std::string_view key) const;

    // The scalar under `key` turned into a T by `parse` (its error is reported with the
    // key's position and path).
    template <class T>
    std::optional<T> value(std::string_view key, const std::function<parsed<T>(std::string_view)>& parse) const
    {
        const auto node = find(key);
        if (!node) {
            return std::nullopt;
        }
        return parse_node<T>(*node, path_of(key), parse, mark_of(key));
    }

    // The sequence under `key`, element by element (reported when not a sequence).
    std::optional<std::vector<YAML::Node>> sequence(std::string_view key) const;

    // Where the value under `key` is; for an empty value (yaml-cpp places it on the next
    // line) where the key is. The mapping's own position when the key is absent.
    YAML::Mark mark_of(std::string_view key) const;

    // A scalar node turned into a T by `parse`; problems are reported at `mark` (the
    // node's own position when not given).
    template <class T>
    std::optional<T> parse_node(const YAML::Node& node, const std::string& path,
                                const std::function<parsed<T>(std::string_view)>& parse,
                                std::optional<YAML::Mark> mark = std::nullopt) const
    {
        auto text = scalar_of(node, path, mark);
        if (!text) {
            return std::nullopt;
        }
        auto result = parse(*text);
        if (!result) {
            reader_->error(mark.value_or(node.Mark()), path, result.error());
            return std::nullopt;
        }
        return *std::move(result);
    }

    std::optional<std::string> scalar_of(const YAML::Node& node, const std::string& path,
                                         std::optional<YAML::Mark> mark = std::nullopt) const;

private:
    struct entry {
        std::string key;
        YAML::Mark key_mark;
        YAML::Node value;
    };

    yaml_reader* reader_;
    std::string path_;
    YAML::Mark mark_;
    std::vector<entry> entries_;
};

// One key and its value of a mapping whose keys are names chosen by the user (regions,
// environment variables), not a fixed schema.
struct yaml_entry {
    std::string key;
    YAML::Mark key_mark;
    YAML::Node value;
};

// The entries of such a mapping, in file order. A non-scalar key or a duplicate key is
// reported and left out; a null node is an empty mapping; any other non-mapping node is
// reported and nothing is returned.
std::optional<std::vector<yaml_entry>> yaml_entries(yaml_reader& reader, const YAML::Node& node,
                                                    const std::string& path, const YAML::Mark& mark);

} // namespace stork::config
