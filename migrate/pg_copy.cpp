#include "migrate/pg_copy.hpp"

#include "migrate/subprocess.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <system_error>

namespace stork::migrate {
namespace {

using namespace std::chrono_literals;

using env_list = std::vector<std::pair<std::string, std::string>>;

// Debian's versioned client programs, used when PATH has none.
constexpr const char* pg_fallback_dir = "/usr/lib/postgresql/15/bin";
// A server that does not answer must not hold a copy for the whole timeout.
constexpr const char* connect_timeout_seconds = "10";

std::filesystem::path find_program(const std::string& name)
{
    if (const char* path = std::getenv("PATH")) {
        std::string_view rest{path};
        while (true) {
            const auto colon = rest.find(':');
            const std::string_view dir = rest.substr(0, colon);
            if (!dir.empty()) {
                const auto candidate = std::filesystem::path{dir} / name;
                if (access(candidate.c_str(), X_OK) == 0 && std::filesystem::is_regular_file(candidate)) {
                    return candidate;
                }
            }
            if (colon == std::string_view::npos) {
                break;
            }
            rest.remove_prefix(colon + 1);
        }
    }
    const auto fallback = std::filesystem::path{pg_fallback_dir} / name;
    if (access(fallback.c_str(), X_OK) == 0) {
        return fallback;
    }
    throw pg_error{name + " not found on PATH nor in " + pg_fallback_dir
                   + " (install the Debian package postgresql-client-15)"};
}

// A connection URL split for a child process: the URL without its password (for the
// command line, which other users can read in /proc) and the password (for PGPASSWORD).
struct connection {
    std::string url;
    std::optional<std::string> password;
    std::string shown;   // redacted, for messages
};

std::optional<boost::urls::url> parse_pg_url(std::string_view text)
{
    auto parsed = boost::urls::parse_uri(text);
    if (!parsed) {
        return std::nullopt;
    }
    boost::urls::url u{*parsed};
    if (u.scheme() != "postgresql" && u.scheme() != "postgres") {
        return std::nullopt;
    }
    return u;
}

connection split(const std::string& text)
{
    auto u = parse_pg_url(text);
    if (!u) {
        throw std::invalid_argument{"not a postgresql:// URL: " + redact_url(text)};
    }
    connection c;
    c.shown = redact_url(text);
    if (u->has_password()) {
        c.password = u->password();
        u->remove_password();
    }
    c.url = std::string{u->buffer()};
    return c;
}

env_list child_env(const connection& c)
{
    env_list env{{"PGCONNECT_TIMEOUT", connect_timeout_seconds}, {"PGAPPNAME", "stork-migrate"}};
    if (c.password) {
        env.emplace_back("PGPASSWORD", *c.password);
    }
    return env;
}

// Defence in depth: the programs never see the password in their arguments, but a
// message must not carry it even if one echoed it from elsewhere.
std::string scrub(std::string text, const connection& c)
{
    if (c.password && !c.password->empty()) {
        for (auto at = text.find(*c.password); at != std::string::npos; at = text.find(*c.password, at + 3)) {
            text.replace(at, c.password->size(), "***");
        }
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    return text;
}

std::string failure(const std::string& what, const connection& c, const subprocess_result& r)
{
    return what + " " + c.shown + " failed (" + r.describe() + "): " + scrub(r.err.empty() ? r.out : r.err, c);
}

std::chrono::milliseconds left_until(std::chrono::steady_clock::time_point deadline)
{
    return std::max(1ms, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
}

// Runs `sql` (one statement) and returns its rows, each a vector of fields. psql prints
// fields and records separated by NUL bytes (-z -0): no name can break the parsing.
std::vector<std::vector<std::string>> query(const connection& c, const std::string& sql, std::size_t columns,
                                            std::chrono::milliseconds timeout)
{
    const auto r = run_subprocess({find_program("psql").string(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-A", "-t",
                                   "-z", "-0", "-d", c.url, "-c", sql},
                                  child_env(c), timeout);
    if (!r.ok()) {
        throw pg_error{failure("psql on", c, r)};
    }
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (std::size_t at = r.out.find('\0'); at != std::string::npos; at = r.out.find('\0', start)) {
        fields.push_back(r.out.substr(start, at - start));
        start = at + 1;
    }
    if (start < r.out.size() && r.out.substr(start) != "\n") {
        fields.push_back(r.out.substr(start));
    }
    std::vector<std::vector<std::string>> rows;
    for (std::size_t i = 0; i + columns <= fields.size(); i += columns) {
        rows.emplace_back(fields.begin() + static_cast<std::ptrdiff_t>(i),
                          fields.begin() + static_cast<std::ptrdiff_t>(i + columns));
    }
    return rows;
}

std::string quote_identifier(std::string_view name)
{
    std::string q = "\"";
    for (char ch : name) {
        q += ch;
        if (ch == '"') {
            q += '"';
        }
    }
    return q + "\"";
}

std::string quote_literal(std::string_view text)
{
    std::string q = "'";
    for (char ch : text) {
        q += ch;
        if (ch == '\'') {
            q += '\'';
        }
    }
    return q + "'";
}

// Every user table (ordinary and partitioned) with its row count, in one statement and
// therefore one snapshot: query_to_xml runs each count inside it.
const char* const count_rows_sql =
    "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname),"
    "       (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname),"
    "                                            false, true, '')))[1]::text"
    "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind IN ('r', 'p')"
    "   AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'"
    " ORDER BY 1";

std::map<std::string, std::int64_t> count_rows(const connection& c, std::chrono::milliseconds timeout)
{
    std::map<std::string, std::int64_t> counts;
    for (const auto& row : query(c, count_rows_sql, 2, timeout)) {
        try {
            counts[row[0]] = std::stoll(row[1]);
        } catch (const std::exception&) {
            throw pg_error{"unexpected row count for " + row[0] + " on " + c.shown + ": " + row[1]};
        }
    }
    return counts;
}

// A dump file of this call's own in work_dir, removed when the call ends.
class dump_file {
public:
    explicit dump_file(const std::filesystem::path& dir)
    {
        std::filesystem::create_directories(dir);
        std::string pattern = (dir / "pg_dump-XXXXXX.dump").string();
        const int fd = mkstemps(pattern.data(), 5);
        if (fd < 0) {
            throw pg_error{"cannot create a dump file in " + dir.string()};
        }
        close(fd);
        path_ = pattern;
    }
    ~dump_file()
    {
        std::error_code ec;
        std::filesystem::remove(path_, ec);
    }
    dump_file(const dump_file&) = delete;
    dump_file& operator=(const dump_file&) = delete;
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

} // namespace

std::string redact_url(std::string_view url)
{
    auto u = parse_pg_url(url);
    if (!u) {
        return "(invalid URL)";
    }
    if (u->has_password()) {
        u->set_encoded_password("***");
    }
    // libpq also accepts the password as a query parameter.
    auto params = u->params();
    for (auto it = params.begin(); it != params.end(); ++it) {
        if ((*it).key == "password") {
            it = params.replace(it, boost::urls::param_view{"password", "***"});
        }
    }
    return std::string{u->buffer()};
}

bool valid_database_name(std::string_view name)
{
    if (name.empty() || name.size() > 63) {
        return false;
    }
    const auto letter = [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_'; };
    if (!letter(name.front())) {
        return false;
    }
    return std::all_of(name.begin(), name.end(),
                       [&](char ch) { return letter(ch) || (ch >= '0' && ch <= '9') || ch == '-'; });
}

std::string provision_database(const std::string& server_url, const std::string& db_name,
                               std::chrono::milliseconds timeout)
{
    if (!valid_database_name(db_name)) {
        throw std::invalid_argument{"invalid database name \"" + db_name
                                    + "\": 1 to 63 of [A-Za-z0-9_-], starting with a letter or _"};
    }
    const connection server = split(server_url);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const std::string exists_sql = "SELECT 1 FROM pg_database WHERE datname = " + quote_literal(db_name);
    if (query(server, exists_sql, 1, left_until(deadline)).empty()) {
        try {
            query(server, "CREATE DATABASE " + quote_identifier(db_name), 1, left_until(deadline));
        } catch (const pg_error&) {
            // Another caller may have created it between our check and our CREATE: adopt
            // it then; any other failure stands.
            if (query(server, exists_sql, 1, left_until(deadline)).empty()) {
                throw;
            }
        }
    }
    auto u = *parse_pg_url(server_url);
    u.set_path("/" + db_name);
    return std::string{u.buffer()};
}

std::vector<table_rows> compare_table_rows(const std::map<std::string, std::int64_t>& source,
                                           const std::map<std::string, std::int64_t>& target,
                                           std::string& differences)
{
    std::map<std::string, table_rows> merged;
    for (const auto& [name, n] : source) {
        merged[name].source = n;
    }
    for (const auto& [name, n] : target) {
        merged[name].target = n;
    }
    std::vector<table_rows> tables;
    for (auto& [name, rows] : merged) {
        rows.table = name;
        if (rows.source != rows.target) {
            differences += differences.empty() ? "" : ", ";
            differences += name + " (source " + (rows.source < 0 ? "absent" : std::to_string(rows.source))
                           + ", target " + (rows.target < 0 ? "absent" : std::to_string(rows.target)) + ")";
        }
        tables.push_back(rows);
    }
    return tables;
}

std::map<std::string, std::int64_t> count_table_rows(const std::string& url, std::chrono::milliseconds timeout)
{
    return count_rows(split(url), timeout);
}

std::map<std::string, std::int64_t> dump_database(const std::string& source_url, const std::filesystem::path& file,
                                                  std::chrono::milliseconds timeout)
{
    const connection source = split(source_url);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const auto dumped = run_subprocess({find_program("pg_dump").string(), "-Fc", "--no-owner", "--no-privileges",
                                        "-f", file.string(), source.url},
                                       child_env(source), left_until(deadline));
    if (!dumped.ok()) {
        throw pg_error{failure("pg_dump of", source, dumped)};
    }
    return count_rows(source, left_until(deadline));
}

void restore_database(const std::filesystem::path& file, const std::string& target_url,
                      std::chrono::milliseconds timeout)
{
    const connection target = split(target_url);
    const auto restored = run_subprocess({find_program("pg_restore").string(), "--clean", "--if-exists", "--no-owner",
                                          "--no-privileges", "--single-transaction", "-d", target.url, file.string()},
                                         child_env(target), timeout);
    if (!restored.ok()) {
        throw pg_error{failure("pg_restore into", target, restored)};
    }
}

void drop_database(const std::string& server_url, const std::string& db_name, std::chrono::milliseconds timeout)
{
    if (!valid_database_name(db_name)) {
        throw std::invalid_argument{"invalid database name \"" + db_name + "\""};
    }
    const connection server = split(server_url);
    // FORCE (PostgreSQL 13+) ends the sessions still connected: an app being deleted
    // does not get to keep its database alive.
    query(server, "DROP DATABASE IF EXISTS " + quote_identifier(db_name) + " WITH (FORCE)", 1, timeout);
}

copy_result copy_database(const std::string& source_url, const std::string& target_url,
                          const std::filesystem::path& work_dir, std::chrono::milliseconds timeout)
{
    copy_result result;
    try {
        const connection source = split(source_url);
        const connection target = split(target_url);
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        const dump_file file{work_dir};

        const auto source_counts = dump_database(source_url, file.path(), left_until(deadline));
        restore_database(file.path(), target_url, left_until(deadline));
        const auto target_counts = count_rows(target, left_until(deadline));
        std::string differences;
        result.tables = compare_table_rows(source_counts, target_counts, differences);
        if (!differences.empty()) {
            result.error = "row counts differ between " + source.shown + " and " + target.shown + ": " + differences;
        }
    } catch (const std::exception& e) {
        result.error = e.what();
    }
    return result;
}

} // namespace stork::migrate
