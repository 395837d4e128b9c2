#include "control/migration_commands.hpp"

#include "config/diagnostic.hpp"
#include "config/inventory.hpp"
#include "config/timestamp.hpp"
#include "migrate/engine.hpp"
#include "migrate/runner_lock.hpp"
#include "migrate/steps.hpp"
#include "migrate/store.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace stork::control {

namespace {

using migrate::migration;
using migrate::migration_status;
using migrate::step_kind;
using migrate::step_status;

constexpr int exit_refused = 1;   // cli.hpp's exit_not_ready, read as "ran, the answer is no"

// ---- presentation --------------------------------------------------------------------

constexpr std::string_view green = "32";
constexpr std::string_view red = "31";
constexpr std::string_view yellow = "33";
constexpr std::string_view blue = "34";

std::string paint(bool colour, std::string_view code, std::string_view text)
{
    if (!colour) {
        return std::string{text};
    }
    return "\033[" + std::string{code} + "m" + std::string{text} + "\033[0m";
}

std::string rfc3339(std::chrono::system_clock::time_point t)
{
    return config::format_rfc3339(std::chrono::floor<std::chrono::seconds>(t));
}

// "stork [--config F] --region R --app A": the start of every command we suggest, so that
// it can be pasted as is (an explicit --config is repeated; STORK_CONFIG is inherited).
std::string command_prefix(const migration_scope& scope)
{
    std::string p = "stork";
    if (scope.config_file) {
        p += " --config " + *scope.config_file;
    }
    return p + " --region " + scope.region + " --app " + scope.app;
}

std::string run_flag(step_kind s)
{
    return "--" + std::string{to_string(s)};
}

std::string retry_create_command(const migration_scope& scope, const migration& m)
{
    std::string c = command_prefix(scope) + " migration-create --to " + m.destination_region;
    if (m.destination_app != m.source_app) {
        c += " --new-name " + m.destination_app;
    }
    return c;
}

// The commands that make sense next, for the text and for --json's "next".
std::vector<std::string> next_commands(const migration_scope& scope, const migration& m)
{
    const std::string p = command_prefix(scope);
    const std::string abort = p + " migration-abort " + m.id;
    const auto run = [&](step_kind s) { return p + " migration-run " + run_flag(s) + " " + m.id; };
    switch (m.status) {
    case migration_status::created:
    case migration_status::preflight_success: return {run(step_kind::prepare), abort};
    case migration_status::prepared: return {run(step_kind::data), run(step_kind::finalize), abort};
    case migration_status::data_migrated: return {run(step_kind::finalize), abort};
    case migration_status::error:
        if (m.failed_step == step_kind::abort) {
            return {abort};
        }
        return {run(m.failed_step.value_or(step_kind::prepare)), abort};
    case migration_status::running: return {p + " migration-follow " + m.id, abort};
    case migration_status::aborting: return {p + " migration-follow " + m.id};
    case migration_status::preflight_error:
    case migration_status::aborted: return {retry_create_command(scope, m)};
    case migration_status::done: return {};
    }
    return {};
}

// The hint of migration-flow.md §1.5, with its colour.
std::pair<std::string_view, std::string_view> status_hint(migration_status s)
{
    switch (s) {
    case migration_status::created:
        return {"The migration has been created. The preflight checks will begin shortly.", blue};
    case migration_status::preflight_success:
        return {"The preflight checks were successful. Waiting on the user to start the 'prepare' step.", green};
    case migration_status::preflight_error:
        return {"There was an error during the preflight checks. No update will be posted here.", red};
    case migration_status::running: return {"The migration is currently running.", yellow};
    case migration_status::prepared:
        return {"The migration has been prepared. Waiting on the user to start the 'data' or 'finalize' step.", blue};
    case migration_status::data_migrated:
        return {"The addon has been migrated. Waiting on the user to start the 'finalize' step.", blue};
    case migration_status::error:
        return {"There was an error while running the migration. Waiting on the user to retry the failed step or "
                "to 'abort' it.",
                red};
    case migration_status::aborting: return {"The migration is being aborted.", blue};
    case migration_status::aborted:
        return {"The migration has been aborted. No update will be posted here.", red};
    case migration_status::done: return {"The migration is done. No update will be posted here.", green};
    }
    return {"", blue};
}

void print_header(std::ostream& out, const migration& m)
{
    out << "Migration ID: " << m.id << "\n"
        << "Migrating app: " << m.source_app << "\n"
        << "Destination: " << m.destination_region << "\n"
        << "New app ID: " << m.new_app_id.value_or("N/A") << "\n"
        << "Status: " << to_string(m.status) << "\n\n";
}

void print_logs(std::ostream& out, const std::string& logs)
{
    std::size_t start = 0;
    while (start < logs.size()) {
        const auto end = std::min(logs.find('\n', start), logs.size());
        out << "       " << std::string_view{logs}.substr(start, end - start) << "\n";
        start = end + 1;
    }
}

// One finished sub-step: "✔ <name> Done!" or "✘ <name> FAILED!" and its logs.
void print_sub_step(std::ostream& out, bool colour, const migrate::sub_step& s)
{
    if (s.status == step_status::done) {
        out << paint(colour, green, "✔") << " " << s.name << " Done!\n";
    } else if (s.status == step_status::error) {
        out << paint(colour, red, "✘") << " " << s.name << " FAILED!\n";
        print_logs(out, s.logs);
    }
}

// The failed sub-steps of the migration's last step, newest first (§1.8).
std::vector<migrate::sub_step> last_failures(migrate::store& s, const migration& m)
{
    const auto steps = s.list_steps(m.id);
    std::vector<migrate::sub_step> failed;
    if (steps.empty()) {
        return failed;
    }
    for (const auto& ss : s.list_sub_steps(steps.back().id)) {
        if (ss.status == step_status::error) {
            failed.push_back(ss);
        }
    }
    std::reverse(failed.begin(), failed.end());
    return failed;
}

// What to do now, after a command or at the end of migration-follow (§1.8's texts, the
// quirks of §1.9 avoided: no abort hint after a preflight error or a failed abort, which
// get their own; retry is offered, Scalingo had none).
void print_next(std::ostream& out, const migration_scope& scope, const migration& m, migrate::store& s)
{
    const std::string p = command_prefix(scope);
    const std::string abort = p + " migration-abort " + m.id;
    switch (m.status) {
    case migration_status::created:
        out << "The preflight checks have not run yet. They run first with:\n"
            << p << " migration-run --prepare " << m.id << "\n- Abort the migration with:\n"
            << abort << "\n";
        break;
    case migration_status::preflight_success:
        out << "Your app can be migrated to the " << m.destination_region << " zone.\n\n"
            << "- Start the migration with:\n"
            << p << " migration-run --prepare " << m.id << "\n"
            << "- Abort the migration with:\n"
            << abort << "\n";
        break;
    case migration_status::prepared:
        out << "Application on region '" << m.destination_region << "' has been prepared, you can now:\n"
            << "- Let stork migrate your data to '" << m.destination_region << "' newly created databases with:\n"
            << p << " migration-run --data " << m.id << "\n"
            << "- Handle data migration manually, then finalize the migration with:\n"
            << p << " migration-run --finalize " << m.id << "\n";
        break;
    case migration_status::data_migrated:
        out << "Data has been migrated to the '" << m.destination_region << "' region\n"
            << "You can finalize the migration with:\n"
            << p << " migration-run --finalize " << m.id << "\n";
        break;
    case migration_status::preflight_error:
    case migration_status::error: {
        out << "The migration failed because of the following errors:\n";
        for (const auto& f : last_failures(s, m)) {
            out << "- Step " << f.name << " failed" << (f.logs.empty() ? "" : ": " + f.logs) << "\n";
        }
        if (m.status == migration_status::preflight_error) {
            // Terminal: nothing to abort (CLI #534). A new migration checks again.
            out << "Fix what the preflight checks reported, then create a new migration with:\n"
                << retry_create_command(scope, m) << "\n";
        } else if (m.failed_step == step_kind::abort) {
            out << "To retry the abort, run:\n" << abort << "\n";
        } else {
            const auto failed = m.failed_step.value_or(step_kind::prepare);
            out << "To retry the failed step, run:\n"
                << p << " migration-run " << run_flag(failed) << " " << m.id << "\n"
                << "To rollback your application to a working state, run:\n"
                << abort << "\n";
        }
        break;
    }
    case migration_status::running:
        out << "The " << to_string(m.current_step) << " step is running. Follow it with:\n"
            << p << " migration-follow " << m.id << "\n";
        break;
    case migration_status::aborting:
        out << "The migration is being aborted. Follow it with:\n" << p << " migration-follow " << m.id << "\n";
        break;
    case migration_status::aborted:
        out << "The migration '" << m.id << "' has been aborted\n"
            << "You can retry it with:\n"
            << retry_create_command(scope, m) << "\n";
        break;
    case migration_status::done: break;   // the caller prints the address and the DNS changes
    }
}

int exit_code_of(migration_status s)
{
    return s == migration_status::error || s == migration_status::preflight_error ? exit_refused : exit_ok;
}

// ---- JSON ------------------------------------------------------------------------------

// The fields of migration-flow.md §1.4 (Scalingo's wire names) and §5.1 (ours), plus the
// commands to run next. "steps" is Scalingo's flat list of sub-steps, in order, each with
// the step it belongs to.
boost::json::object migration_json(const migration_scope& scope, const migration& m, migrate::store& s)
{
    boost::json::object o;
    o["id"] = m.id;
    o["source"] = m.source_region;
    o["source_region"] = m.source_region;
    o["src_app_name"] = m.source_app;
    o["destination"] = m.destination_region;
    o["dst_app_name"] = m.destination_app;
    o["status"] = to_string(m.status);
    o["current_step"] = to_string(m.current_step);
    o["failed_step"] = m.failed_step ? boost::json::value(to_string(*m.failed_step)) : boost::json::value(nullptr);
    o["abort_requested"] = m.abort_requested;
    o["new_app_id"] = m.new_app_id.value_or("");
    o["started_at"] = rfc3339(m.started_at);
    o["finished_at"] = m.finished_at ? boost::json::value(rfc3339(*m.finished_at)) : boost::json::value(nullptr);
    boost::json::array steps;
    for (const auto& st : s.list_steps(m.id)) {
        for (const auto& ss : s.list_sub_steps(st.id)) {
            steps.push_back(boost::json::object{{"id", ss.id},
                                                {"name", ss.name},
                                                {"status", to_string(ss.status)},
                                                {"logs", ss.logs},
                                                {"step", to_string(st.kind)}});
        }
    }
    o["steps"] = std::move(steps);
    boost::json::array next;
    for (const auto& c : next_commands(scope, m)) {
        next.push_back(boost::json::value(c));
    }
    o["next"] = std::move(next);
    return o;
}

void print_json(std::ostream& out, const boost::json::value& v)
{
    out << boost::json::serialize(v) << "\n";
}

// ---- context: the configuration, the regions, the store ----------------------------------

struct context {
    config::control_config config{};
    const config::region_config* region = nullptr;   // --region
    std::unique_ptr<migrate::store> store{};
};

// Loads control.yaml, checks --region, opens the store. nullopt after printing why (exit 2).
std::optional<context> open_context(const migration_scope& scope, const migration_io& io)
{
    const auto path = control_config_path(scope.config_file, io.env);
    context c;
    try {
        c.config = config::load_control_config(path);
    } catch (const config::config_error& e) {
        for (const auto& d : e.diagnostics()) {
            io.err << "stork: " << d.to_string() << "\n";
        }
        return std::nullopt;
    }
    c.region = c.config.find_region(scope.region);
    if (c.region == nullptr) {
        std::string known;
        for (const auto& [name, _] : c.config.regions) {
            known += (known.empty() ? "" : ", ") + name;
        }
        io.err << "stork: --region " << scope.region << " is not a region of " << c.config.source.string()
               << " (it has: " << known << ")\n";
        return std::nullopt;
    }
    std::error_code ec;
    std::filesystem::create_directories(c.config.state.parent_path(), ec);
    if (ec) {
        io.err << "stork: cannot create the folder of the state database " << c.config.state.string() << ": "
               << ec.message() << "\n";
        return std::nullopt;
    }
    c.store = std::make_unique<migrate::store>(c.config.state, io.now);
    return c;
}

// The migration ID, checked against --region and --app: a command about another app's
// migration is almost certainly a pasted ID gone wrong. nullopt after printing why.
std::optional<migration> find_migration(context& c, const migration_scope& scope, const std::string& id,
                                        const migration_io& io)
{
    auto m = c.store->get_migration(id);
    if (!m) {
        io.err << "stork: no migration " << id << " in " << c.config.state.string() << "\n";
        return std::nullopt;
    }
    if (m->source_region != scope.region || m->source_app != scope.app) {
        io.err << "stork: migration " << id << " is of app " << m->source_app << " in " << m->source_region
               << ", not of " << scope.app << " in " << scope.region << "\n";
        return std::nullopt;
    }
    return m;
}

// The engine over the two regions of a migration. Holds what the plan refers to.
class flow {
public:
    flow(context& c, const config::region_config& destination, const migration_io& io, bool live_lines)
        : regions_{io.open_regions(c.config, *c.region, destination)},
          engine_{*c.store,
                  migrate::make_plan(migrate::flow_platforms{.source = *regions_.source,
                                                             .destination = *regions_.destination,
                                                             .source_region = *c.region,
                                                             .destination_region = destination,
                                                             .fronts = *regions_.fronts,
                                                             .now = io.now,
                                                             .window = std::chrono::hours{24 * 7}},
                                     *c.store),
                  migrate::engine::options{
                      .runner_folder = migrate::runner_folder(c.config.state),
                      .ledger_hook = {},
                      .on_sub_step =
                          [&io, live_lines](const migrate::step&, const migrate::sub_step& s) {
                              if (!live_lines) {
                                  return;
                              }
                              if (s.status == step_status::running) {
                                  if (io.live) {
                                      io.out << "  " << s.name << "..." << std::flush;
                                  }
                                  return;
                              }
                              if (io.live) {
                                  io.out << "\r\033[K";   // back to the start of the line, erase it
                              }
                              print_sub_step(io.out, io.colour, s);
                              io.out.flush();
                          }}}
    {
    }

    migrate::run_result run(const std::string& id, step_kind s) { return engine_.run(id, s); }
    migrate::platform& source() { return *regions_.source; }
    migrate::platform& destination() { return *regions_.destination; }

private:
    opened_regions regions_;
    migrate::engine engine_;
};

const config::region_config* destination_of(context& c, const migration& m, const migration_io& io)
{
    const auto* d = c.config.find_region(m.destination_region);
    if (d == nullptr) {
        io.err << "stork: the migration's destination " << m.destination_region << " is no longer a region of "
               << c.config.source.string() << "\n";
    }
    return d;
}

// A migration of --region/--app with everything a step on it needs: the configuration,
// the store, and the migration's destination region. nullopt after printing why.
struct opened_migration {
    context c{};
    migration m{};
    const config::region_config* destination = nullptr;
};

std::optional<opened_migration> open_migration(const migration_scope& scope, const std::string& id,
                                               const migration_io& io)
{
    auto c = open_context(scope, io);
    if (!c) {
        return std::nullopt;
    }
    auto m = find_migration(*c, scope, id, io);
    if (!m) {
        return std::nullopt;
    }
    const auto* destination = destination_of(*c, *m, io);
    if (destination == nullptr) {
        return std::nullopt;
    }
    return opened_migration{std::move(*c), std::move(*m), destination};
}

// Whether a prompt may be shown: --json never prompts, so on a terminal it needs --yes
// (a script that forgot --yes must not hang on, or be surprised by, a question).
bool json_without_yes(bool json, bool yes, const migration_io& io)
{
    if (json && io.interactive && !yes) {
        io.err << "stork: --json does not ask for confirmation: add --yes to run this step\n";
        return true;
    }
    return false;
}

bool confirm(const migration_io& io, const std::string& operations)
{
    io.out << operations << "Continue? [y/N] ";
    io.out.flush();
    std::string answer;
    if (!std::getline(io.in, answer)) {
        io.out << "\n";
        return false;
    }
    std::transform(answer.begin(), answer.end(), answer.begin(), [](unsigned char ch) { return std::tolower(ch); });
    return answer == "y" || answer == "yes";
}

std::string operations_of(step_kind s, const migration& m)
{
    std::string t;
    switch (s) {
    case step_kind::prepare:
        t = "Note: Prepare will create an empty canvas. This won't modify your production application\n\n"
            "The following operations will be achieved:\n"
            " - Mark your app as migrating (preventing you from modifying it)\n"
            " - Create the new app named " +
            m.destination_app + " in the region '" + m.destination_region +
            "'\n"
            " - Import the last deployment\n"
            " - Import environment variables\n"
            " - Import SCM configuration\n"
            " - Import collaborators\n"
            " - Import domains and TLS certificates\n"
            " - Import application settings\n"
            " - Import application formation\n"
            " - Import notifiers\n"
            " - Import autoscalers\n"
            " - Import alerts\n"
            " - Import log drains\n";
        break;
    case step_kind::data:
        t = "The following operations will be achieved:\n"
            " - Stop your old app\n"
            " - Create addons on the '" +
            m.destination_region +
            "' region\n"
            " - Import addons data\n";
        break;
    case step_kind::finalize: {
        t = "The following operations will be achieved:\n";
        const bool stopped = m.status == migration_status::data_migrated || m.source_stopped_by_migration == true;
        if (!stopped) {
            t += " - Stop your old app\n";
        }
        t += " - Start the new app\n"
             " - Redirect the traffic coming to '" +
             m.source_app + "' on the old region to '" + m.destination_app + "' on '" + m.destination_region + "'\n";
        break;
    }
    case step_kind::abort:
        t = "The following operations will be achieved:\n"
            " - Undo what the migration's steps did, in reverse order\n"
            " - Delete the new app " +
            m.destination_app + " in the region '" + m.destination_region +
            "', with its addons and their data, if the migration created it\n"
            " - Let you modify your old app again, and start it if the migration stopped it\n";
        break;
    default: break;
    }
    return t;
}

// What decide_run says now, with the runner's liveness read from its lock.
migrate::run_decision decision_now(const context& c, const migration& m, step_kind s)
{
    const bool busy = m.status == migration_status::running || m.status == migration_status::aborting;
    const bool alive = busy && migrate::runner_lock::held_by_another(migrate::runner_folder(c.config.state), m.id);
    return migrate::decide_run(migrate::migration_state{.at = m.status,
                                                        .current = m.current_step,
                                                        .failed = m.failed_step.value_or(step_kind::none),
                                                        .abort_requested = m.abort_requested,
                                                        .runner_alive = alive},
                               s);
}

// After finalize: where the app is now, and the DNS changes for its custom domains (read
// in the destination under its own name: §1.9's --new-name quirk).
void print_done(std::ostream& out, const context& c, const config::region_config& destination, flow& f,
                const migration& m, const migration_io& io)
{
    const std::string new_host = m.destination_app + "." + destination.domain;
    out << "Your application is now available at: https://" << new_host << "\n\n";
    const auto app = f.destination().find_app(m.destination_app);
    if (!app || app->domains.empty()) {
        out << "-----> " << m.destination_app << " has no custom domain: there is no DNS record to change.\n";
        return;
    }
    dns_changes_request request;
    for (const auto& d : app->domains) {
        request.domains.push_back(d.name);
    }
    request.new_target = new_host;
    request.old_target = m.source_app + "." + c.region->domain;
    if (m.redirect_expires_at) {
        request.rule_expires_at = std::chrono::floor<std::chrono::seconds>(*m.redirect_expires_at);
    }
    request.dns = c.config.dns;
    if (io.print_dns) {
        io.print_dns(out, request);
    }
}

// The end of a step run by this process: the texts, the JSON, the exit code.
int report_after(context& c, const migration_scope& scope, const config::region_config& destination, flow& f,
                 const migration& after, bool json, const migration_io& io)
{
    if (json) {
        print_json(io.out, migration_json(scope, after, *c.store));
        return exit_code_of(after.status);
    }
    io.out << "\n";
    if (after.status == migration_status::done) {
        print_done(io.out, c, destination, f, after, io);
    } else {
        print_next(io.out, scope, after, *c.store);
    }
    return exit_code_of(after.status);
}

// no_op and refuse from the engine.
int report_not_run(context& c, const migration_scope& scope, const migrate::run_result& r, bool json,
                   const migration_io& io)
{
    const bool refused = r.outcome == migrate::run_outcome::refuse;
    if (json) {
        auto o = migration_json(scope, r.after, *c.store);
        o["outcome"] = refused ? "refused" : "no-op";
        o["reason"] = r.reason;
        print_json(io.out, o);
    } else if (refused) {
        io.err << "stork: " << r.reason << "\n";
    } else {
        io.out << "Nothing to do: " << r.reason << "\n";
    }
    return refused ? exit_refused : exit_ok;
}

void print_declined(const migration_io& io, const migration_scope& scope, const migration& m)
{
    io.out << "The current step has been canceled. You can restart it later.\n"
           << "If you want to abort the migration, run:\n"
           << command_prefix(scope) << " migration-abort " << m.id << "\n";
}

// ---- the commands ----------------------------------------------------------------------

int create(const migration_create_command& cmd, const migration_io& io)
{
    auto c = open_context(cmd.scope, io);
    if (!c) {
        return exit_error;
    }
    const auto* destination = c->config.find_region(cmd.to);
    if (destination == nullptr) {
        io.err << "stork: --to " << cmd.to << " is not a region of " << c->config.source.string() << "\n";
        return exit_error;
    }
    const std::string new_name = cmd.new_name.value_or(cmd.scope.app);
    if (cmd.to == cmd.scope.region && new_name == cmd.scope.app) {
        io.err << "stork: --to " << cmd.to << " is the app's own region: a migration within one region needs a "
               << "--new-name other than " << cmd.scope.app << "\n";
        return exit_error;
    }
    flow f{*c, *destination, io, !cmd.json};
    // An app the region does not have is a wrong argument, not a migration whose every
    // preflight check fails for the same reason.
    if (!f.source().find_app(cmd.scope.app)) {
        io.err << "stork: there is no app " << cmd.scope.app << " in " << cmd.scope.region
               << " (the local driver's apps are loaded with: stork platform import FILE)\n";
        return exit_error;
    }
    migration m;
    try {
        m = c->store->create_migration(migrate::new_migration{.source_region = cmd.scope.region,
                                                              .source_app = cmd.scope.app,
                                                              .destination_region = cmd.to,
                                                              .destination_app = new_name});
    } catch (const migrate::migration_exists& e) {
        if (cmd.json) {
            if (const auto existing = c->store->get_migration(e.existing_id())) {
                auto o = migration_json(cmd.scope, *existing, *c->store);
                o["outcome"] = "refused";
                o["reason"] = "the app already has a migration in progress";
                print_json(io.out, o);
            }
        } else {
            io.err << "stork: " << cmd.scope.app << " in " << cmd.scope.region
                   << " already has a migration in progress: " << e.existing_id() << "\n"
                   << "Follow it with:\n"
                   << command_prefix(cmd.scope) << " migration-follow " << e.existing_id() << "\n";
        }
        return exit_refused;
    }
    if (!cmd.json) {
        print_header(io.out, m);
    }
    // The preflight changes nothing, so it runs at once, without a question (Scalingo's
    // client sends it right after the create too).
    const auto r = f.run(m.id, step_kind::preflight);
    if (r.outcome != migrate::run_outcome::start) {
        return report_not_run(*c, cmd.scope, r, cmd.json, io);
    }
    return report_after(*c, cmd.scope, *destination, f, r.after, cmd.json, io);
}

step_kind kind_of(migration_step s)
{
    switch (s) {
    case migration_step::prepare: return step_kind::prepare;
    case migration_step::data: return step_kind::data;
    case migration_step::finalize: return step_kind::finalize;
    }
    return step_kind::prepare;
}

int run(const migration_run_command& cmd, const migration_io& io)
{
    if (json_without_yes(cmd.json, cmd.yes, io)) {
        return exit_error;
    }
    auto opened = open_migration(cmd.scope, cmd.id, io);
    if (!opened) {
        return exit_error;
    }
    auto& c = opened->c;
    auto& m = opened->m;
    const auto& destination = *opened->destination;
    flow f{c, destination, io, !cmd.json};
    const step_kind kind = kind_of(cmd.step);

    // A migration whose create was interrupted before its preflight (or during it): the
    // preflight runs first, since nothing else can run it.
    if (kind == step_kind::prepare &&
        (m.status == migration_status::created ||
         (m.status == migration_status::running && m.current_step == step_kind::preflight &&
          decision_now(c, m, step_kind::preflight).outcome == migrate::run_outcome::start))) {
        if (!cmd.json) {
            print_header(io.out, m);
            io.out << "The preflight checks have not run yet: they run first.\n";
        }
        const auto pre = f.run(m.id, step_kind::preflight);
        if (pre.outcome != migrate::run_outcome::start) {
            return report_not_run(c, cmd.scope, pre, cmd.json, io);
        }
        if (pre.after.status != migration_status::preflight_success) {
            return report_after(c, cmd.scope, destination, f, pre.after, cmd.json, io);
        }
        m = pre.after;
    }

    const bool starts = decision_now(c, m, kind).outcome == migrate::run_outcome::start;
    if (starts && io.interactive && !cmd.yes && !cmd.json) {
        if (!confirm(io, operations_of(kind, m))) {
            print_declined(io, cmd.scope, m);
            return exit_refused;
        }
    }
    if (starts && !cmd.json) {
        print_header(io.out, m);
    }
    const auto r = f.run(m.id, kind);
    if (r.outcome != migrate::run_outcome::start) {
        return report_not_run(c, cmd.scope, r, cmd.json, io);
    }
    return report_after(c, cmd.scope, destination, f, r.after, cmd.json, io);
}

int abort_migration(const migration_abort_command& cmd, const migration_io& io)
{
    if (json_without_yes(cmd.json, cmd.yes, io)) {
        return exit_error;
    }
    auto opened = open_migration(cmd.scope, cmd.id, io);
    if (!opened) {
        return exit_error;
    }
    auto& c = opened->c;
    auto& m = opened->m;
    const auto& destination = *opened->destination;
    flow f{c, destination, io, !cmd.json};
    const auto decision = decision_now(c, m, step_kind::abort);
    const bool asks = decision.outcome == migrate::run_outcome::start ||
                      decision.outcome == migrate::run_outcome::request_abort;
    if (asks && io.interactive && !cmd.yes && !cmd.json) {
        if (!confirm(io, operations_of(step_kind::abort, m))) {
            io.out << "The abort has been canceled. Nothing was changed.\n";
            return exit_refused;
        }
    }
    if (!cmd.json && decision.outcome == migrate::run_outcome::start) {
        print_header(io.out, m);
    }
    const auto r = f.run(m.id, step_kind::abort);
    switch (r.outcome) {
    case migrate::run_outcome::refuse:
    case migrate::run_outcome::no_op: return report_not_run(c, cmd.scope, r, cmd.json, io);
    case migrate::run_outcome::request_abort:
        if (cmd.json) {
            auto o = migration_json(cmd.scope, r.after, *c.store);
            o["outcome"] = "abort-requested";
            print_json(io.out, o);
        } else {
            io.out << "Abort requested: the running step stops at its next sub-step, then the abort runs; "
                   << "follow it with:\n"
                   << command_prefix(cmd.scope) << " migration-follow " << m.id << "\n";
        }
        return exit_ok;
    case migrate::run_outcome::start: break;
    }
    return report_after(c, cmd.scope, destination, f, r.after, cmd.json, io);
}

int list(const migrations_list_command& cmd, const migration_io& io)
{
    auto c = open_context(cmd.scope, io);
    if (!c) {
        return exit_error;
    }
    std::vector<migration> mine;
    for (auto& m : c->store->list_migrations()) {
        if (m.source_region == cmd.scope.region && m.source_app == cmd.scope.app) {
            mine.push_back(std::move(m));
        }
    }
    // list_migrations is oldest first; newest first here (§1.8).
    std::reverse(mine.begin(), mine.end());
    if (cmd.json) {
        boost::json::array a;
        for (const auto& m : mine) {
            a.push_back(migration_json(cmd.scope, m, *c->store));
        }
        print_json(io.out, a);
        return exit_ok;
    }
    if (mine.empty()) {
        io.out << "-----> No migration found for this app\n";
        return exit_ok;
    }
    std::vector<std::array<std::string, 5>> rows{{"ID", "DESTINATION", "STARTED AT", "FINISHED AT", "STATUS"}};
    for (const auto& m : mine) {
        rows.push_back({m.id, m.destination_region + (m.destination_app != m.source_app ? "/" + m.destination_app : ""),
                        rfc3339(m.started_at), m.finished_at ? rfc3339(*m.finished_at) : "Ongoing",
                        std::string{to_string(m.status)}});
    }
    std::array<std::size_t, 5> width{};
    for (const auto& r : rows) {
        for (std::size_t i = 0; i < r.size(); ++i) {
            width[i] = std::max(width[i], r[i].size());
        }
    }
    for (const auto& r : rows) {
        std::string line;
        for (std::size_t i = 0; i < r.size(); ++i) {
            line += r[i];
            if (i + 1 < r.size()) {
                line += std::string(width[i] - r[i].size() + 2, ' ');
            }
        }
        io.out << line << "\n";
    }
    return exit_ok;
}

// Whether follow stops: every status where nothing runs, not only error and done
// (§1.9: Scalingo's follow spun forever on the others).
bool at_rest(migration_status s)
{
    return s != migration_status::running && s != migration_status::aborting && s != migration_status::created;
}

int follow(const migration_follow_command& cmd, const migration_io& io)
{
    auto c = open_context(cmd.scope, io);
    if (!c) {
        return exit_error;
    }
    auto m = find_migration(*c, cmd.scope, cmd.id, io);
    if (!m) {
        return exit_error;
    }
    if (!cmd.json) {
        print_header(io.out, *m);
    }
    std::map<std::string, step_status> shown;   // sub-step id -> the status printed
    const auto folder = migrate::runner_folder(c->config.state);
    int unattended = 0;   // polls in a row that found nobody running the migration
    for (;;) {
        m = c->store->get_migration(cmd.id);
        if (!cmd.json) {
            for (const auto& st : c->store->list_steps(m->id)) {
                for (const auto& ss : c->store->list_sub_steps(st.id)) {
                    if (ss.status == step_status::running) {
                        continue;
                    }
                    if (const auto it = shown.find(ss.id); it == shown.end() || it->second != ss.status) {
                        print_sub_step(io.out, io.colour, ss);
                        shown[ss.id] = ss.status;
                    }
                }
            }
            io.out.flush();
        }
        if (at_rest(m->status)) {
            break;
        }
        // Nobody runs it: a runner that died (the status stays behind), or a create that
        // stopped before its preflight. Waiting would be forever; say how to resume. Only
        // after two polls in a row with the migration unchanged, so that a runner that has
        // just finished (between our two reads) or a create about to start its preflight
        // is not taken for a dead one.
        if (migrate::runner_lock::held_by_another(folder, m->id)) {
            unattended = 0;
        } else if (const auto again = c->store->get_migration(cmd.id); again && again->version != m->version) {
            unattended = 0;
            continue;
        } else if (++unattended >= 2) {
            if (cmd.json) {
                auto o = migration_json(cmd.scope, *m, *c->store);
                o["outcome"] = "interrupted";
                print_json(io.out, o);
                return exit_refused;
            }
            const auto step = m->status == migration_status::created ? step_kind::preflight : m->current_step;
            io.out << "\nNo stork process is running the " << to_string(step) << " step of this migration: it was "
                   << "interrupted. Resume it with:\n";
            if (m->status == migration_status::aborting || step == step_kind::abort) {
                io.out << command_prefix(cmd.scope) << " migration-abort " << m->id << "\n";
            } else {
                const auto resume = step == step_kind::preflight ? step_kind::prepare : step;
                io.out << command_prefix(cmd.scope) << " migration-run " << run_flag(resume) << " " << m->id << "\n";
            }
            return exit_refused;
        }
        if (io.sleep) {
            io.sleep(io.poll_interval);
        } else {
            std::this_thread::sleep_for(io.poll_interval);
        }
    }
    if (cmd.json) {
        print_json(io.out, migration_json(cmd.scope, *m, *c->store));
        return exit_code_of(m->status);
    }
    const auto [hint, colour] = status_hint(m->status);
    io.out << "\nStatus: " << paint(io.colour, colour, to_string(m->status)) << "\n" << hint << "\n\n";
    if (m->status == migration_status::done) {
        io.out << "The app is now " << m->destination_app << " in " << m->destination_region << ".\n";
    } else {
        print_next(io.out, cmd.scope, *m, *c->store);
    }
    return exit_code_of(m->status);
}

int import(const platform_import_command& cmd, const migration_io& io)
{
    const auto path = control_config_path(cmd.config_file, io.env);
    config::control_config cfg;
    config::inventory inv;
    try {
        cfg = config::load_control_config(path);
        config::inventory_options options;
        for (const auto& [name, _] : cfg.regions) {
            options.known_regions.push_back(name);
        }
        inv = config::load_inventory(cmd.file, options);
    } catch (const config::config_error& e) {
        for (const auto& d : e.diagnostics()) {
            io.err << "stork: " << d.to_string() << "\n";
        }
        return exit_error;
    }
    std::error_code ec;
    std::filesystem::create_directories(cfg.state.parent_path(), ec);
    if (ec) {
        io.err << "stork: cannot create the folder of the state database " << cfg.state.string() << ": "
               << ec.message() << "\n";
        return exit_error;
    }
    try {
        const auto summary = io.import_inventory(cfg.state, inv, cfg);
        io.out << "Imported " << inv.apps.size() << (inv.apps.size() == 1 ? " app" : " apps") << " ("
               << summary.added << " added, " << summary.replaced << " replaced) into " << cfg.state.string() << "\n";
        return exit_ok;
    } catch (const migrate::platform_error& e) {
        io.err << "stork: " << e.what() << "\n";
        return exit_refused;
    }
}

template <class... Ts>
struct overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

} // namespace

std::filesystem::path control_config_path(const std::optional<std::string>& flag, const env_lookup& env)
{
    if (flag) {
        return *flag;
    }
    if (env) {
        if (auto v = env("STORK_CONFIG"); v && !v->empty()) {
            return *v;
        }
    }
    return std::filesystem::path{default_control_config};
}

int run_migration_command(const migration_command& cmd, const migration_io& io)
{
    try {
        return std::visit(overloaded{
                              [&](const migration_create_command& c) { return create(c, io); },
                              [&](const migration_run_command& c) { return run(c, io); },
                              [&](const migration_abort_command& c) { return abort_migration(c, io); },
                              [&](const migrations_list_command& c) { return list(c, io); },
                              [&](const migration_follow_command& c) { return follow(c, io); },
                          },
                          cmd);
    } catch (const migrate::platform_error& e) {
        // A region that cannot be opened (the local driver's database, a front server's
        // configuration): the command could not run, the migration is unchanged.
        io.err << "stork: " << e.what() << "\n";
        return exit_refused;
    } catch (const migrate::conflict_error& e) {
        // Another stork process moved the migration meanwhile: refused, not a usage error.
        io.err << "stork: " << e.what() << "\n";
        return exit_refused;
    }
}

int run_platform_command(const platform_command& cmd, const migration_io& io)
{
    return std::visit([&](const platform_import_command& c) { return import(c, io); }, cmd);
}

} // namespace stork::control
