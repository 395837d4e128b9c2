// The report for people: `stork dns check` without --json.
#include "dnscheck/report.hpp"

#include <algorithm>

namespace stork::dnscheck {
namespace {

struct palette {
    bool on = false;
    std::string paint(std::string_view text, std::string_view code) const
    {
        if (!on) {
            return std::string{text};
        }
        return "\x1b[" + std::string{code} + "m" + std::string{text} + "\x1b[0m";
    }
    std::string bold(std::string_view t) const { return paint(t, "1"); }
    std::string dim(std::string_view t) const { return paint(t, "2"); }
};

std::string_view verdict_colour(verdict v)
{
    switch (v) {
    case verdict::ready: return "1;32";
    case verdict::pending:
    case verdict::propagating: return "1;33";
    default: return "1;31";
    }
}

std::string_view verdict_meaning(const report& r)
{
    switch (r.outcome) {
    case verdict::ready: return "points to the new target everywhere";
    case verdict::pending: return r.old ? "still points to the old target" : "does not point to the new target yet";
    case verdict::propagating: return "changed at the source, some caches still have the old answer";
    case verdict::misconfigured: return "something must be fixed";
    case verdict::unresolvable: return "no usable answer";
    }
    return "";
}

// Rows of cells printed with every column padded to its widest cell (the last one not).
class table {
public:
    void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
    std::string render(std::string_view indent) const
    {
        std::vector<std::size_t> width;
        for (const auto& r : rows_) {
            width.resize(std::max(width.size(), r.size()), 0);
            for (std::size_t i = 0; i < r.size(); ++i) {
                width[i] = std::max(width[i], r[i].size());
            }
        }
        std::string out;
        for (const auto& r : rows_) {
            std::string line{indent};
            for (std::size_t i = 0; i < r.size(); ++i) {
                line += r[i];
                if (i + 1 < r.size()) {
                    line.append(width[i] - r[i].size() + 2, ' ');
                }
            }
            while (!line.empty() && line.back() == ' ') {
                line.pop_back();
            }
            out += line + "\n";
        }
        return out;
    }

private:
    std::vector<std::vector<std::string>> rows_;
};

std::string summary(const std::vector<chain_hop>& answer)
{
    std::string out;
    for (const auto& h : answer) {
        if (!out.empty()) {
            out += ", ";
        }
        out += h.type + " " + h.data;
        if (h.type == "CNAME") {
            break;   // the first hop says where it goes; the chain section has the rest
        }
    }
    return out;
}

std::string view_rows(const std::vector<server_view>& views, bool authoritative)
{
    table t;
    for (const auto& v : views) {
        std::vector<std::string> cells{v.server, v.status};
        if (authoritative) {
            cells.push_back(v.answered ? (v.aa ? "aa" : "not aa") : "");
            cells.push_back(v.serial ? "serial " + std::to_string(*v.serial) : "");
        }
        if (v.ttl) {
            cells.push_back("ttl " + std::to_string(*v.ttl) + (authoritative ? "" : " left"));
        } else if (v.negative_ttl) {
            cells.push_back("negative ttl " + std::to_string(*v.negative_ttl));
        } else {
            cells.push_back("");
        }
        cells.push_back(v.answered ? std::string{to_string(v.points_to)} : "");
        cells.push_back(v.answered ? summary(v.answer) : (v.error == v.status ? std::string{} : v.error));
        t.row(std::move(cells));
    }
    return t.render("  ");
}

} // namespace

std::string render_text(const report& r, bool colour)
{
    const palette p{colour};
    std::string out;
    out += p.bold(r.host) + " -> " + r.expect + "\n";
    out += "verdict   " + p.paint(to_string(r.outcome), verdict_colour(r.outcome)) + "  " +
           p.dim(verdict_meaning(r)) + "\n";
    if (r.days_left) {
        out += "rule      " + std::to_string(*r.days_left) + " days left\n";
    }

    out += "\n" + p.bold("chain") + p.dim(" (followed by stork, hop by hop)") + "\n";
    if (r.chain.empty()) {
        out += "  (none)\n";
    } else {
        table t;
        for (const auto& h : r.chain) {
            t.row({h.name, std::to_string(h.ttl), h.type, h.data, h.source});
        }
        out += t.render("  ");
    }
    if (r.chain_status != chain_end::complete) {
        out += "  stops at " + (r.chain_stop.empty() ? r.host : r.chain_stop) + ": " +
               (r.chain_error.empty() ? std::string{to_string(r.chain_status)} : r.chain_error) + "\n";
    }
    if (!r.expect_addresses.empty() || !r.expect_error.empty()) {
        std::string addrs;
        for (const auto& a : r.expect_addresses) {
            addrs += (addrs.empty() ? "" : ", ") + a;
        }
        out += "  " + p.dim("new target " + r.expect + ": ") + (addrs.empty() ? r.expect_error : addrs) + "\n";
    }

    std::string zone_note;
    if (!r.zone.empty()) {
        zone_note = " (zone " + r.zone;
        for (std::size_t i = 0; i < r.nameservers.size(); ++i) {
            zone_note += (i == 0 ? ", NS " : " ") + r.nameservers[i];
        }
        zone_note += ")";
    }
    out += "\n" + p.bold("authoritative") + p.dim(zone_note) + "\n";
    out += r.authoritative.empty() ? "  (none found)\n" : view_rows(r.authoritative, true);
    out += "\n" + p.bold("resolvers") + "\n";
    out += view_rows(r.resolvers, false);

    if (r.caa.checked && !r.no_server_answered) {
        out += "\n" + p.bold("CAA") + "  " +
               (r.caa.allowed ? p.paint("Let's Encrypt allowed", "32") : p.paint("Let's Encrypt blocked", "31")) +
               ": " + r.caa.reason + "\n";
    }
    if (r.negative_ttl) {
        out += "negative TTL  " + std::to_string(*r.negative_ttl) + " s\n";
    }
    if (r.change_visible_within) {
        out += "a change made now reaches every resolver within " + human_duration(*r.change_visible_within) + "\n";
    }

    if (!r.problems.empty()) {
        out += "\n" + p.bold("problems") + "\n";
        for (const auto& pr : r.problems) {
            out += "  - " + pr + "\n";
        }
    }
    if (!r.advice.empty()) {
        out += "\n" + p.bold("what to do") + "\n";
        int n = 0;
        for (const auto& a : r.advice) {
            out += "  " + std::to_string(++n) + ". " + a + "\n";
        }
    }
    return out;
}

} // namespace stork::dnscheck
