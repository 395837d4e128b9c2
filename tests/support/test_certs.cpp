#include "tests/support/test_certs.hpp"

#include "tests/support/process.hpp"

#include <fstream>
#include <stdexcept>
#include <utility>

namespace stork::test {

namespace fs = std::filesystem;

std::string openssl_cli()
{
    return "/usr/bin/openssl";
}

namespace {

// Runs openssl with `args`; its stdout, or an exception with what it printed.
std::string openssl(std::vector<std::string> args)
{
    args.insert(args.begin(), openssl_cli());
    std::string line;
    for (const auto& a : args) {
        line += (line.empty() ? "" : " ") + a;
    }
    const run_result r = run(std::move(args), std::chrono::seconds{60});
    if (!r.status.exited() || r.status.code != 0) {
        throw std::runtime_error{"test certificates: `" + line + "` failed (exit " + std::to_string(r.status.code) +
                                 ", signal " + std::to_string(r.status.signal) + "):\n" + r.err + r.out};
    }
    return r.out;
}

void write_text(const fs::path& path, const std::string& text)
{
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out << text;
    if (!out) {
        throw std::runtime_error{"test certificates: cannot write " + path.string()};
    }
}

void new_key(const fs::path& path, key_kind kind)
{
    if (kind == key_kind::rsa_2048) {
        openssl({"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path.string()});
    } else {
        openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path.string()});
    }
}

std::string common_name_of(const std::string& san)
{
    return san.starts_with("IP:") ? san.substr(3) : san;
}

std::string trim(std::string s)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
        s.pop_back();
    }
    while (!s.empty() && s.front() == ' ') {
        s.erase(0, 1);
    }
    return s;
}

// The value after "key=" on the line that starts with it, e.g. "serial=7A3B".
std::string field(const std::string& text, const std::string& key)
{
    std::size_t at = 0;
    while (at < text.size()) {
        const auto eol = text.find('\n', at);
        const std::string line = text.substr(at, eol == std::string::npos ? std::string::npos : eol - at);
        if (line.starts_with(key + "=")) {
            return trim(line.substr(key.size() + 1));
        }
        if (eol == std::string::npos) {
            break;
        }
        at = eol + 1;
    }
    return {};
}

} // namespace

test_ca::test_ca(std::string common_name)
    : common_name_{std::move(common_name)}, crt_{work_.path() / "ca.crt"}, key_{work_.path() / "ca.key"},
      config_{work_.path() / "ca.cnf"}
{
    const fs::path w = work_.path();
    fs::create_directories(w / "issued");
    write_text(w / "index.txt", "");
    write_text(w / "serial", "01\n");
    // Our own configuration: the tests must not depend on what /etc/ssl/openssl.cnf adds.
    write_text(config_, "[req]\n"
                        "distinguished_name = dn\n"
                        "prompt = no\n"
                        "[dn]\n"
                        "CN = " + common_name_ + "\n"
                        "[ca_ext]\n"
                        "basicConstraints = critical, CA:TRUE\n"
                        "keyUsage = critical, keyCertSign, cRLSign\n"
                        "subjectKeyIdentifier = hash\n"
                        "[ca]\n"
                        "default_ca = test_ca\n"
                        "[test_ca]\n"
                        "database = " + (w / "index.txt").string() + "\n"
                        "new_certs_dir = " + (w / "issued").string() + "\n"
                        "serial = " + (w / "serial").string() + "\n"
                        "default_md = sha256\n"
                        "policy = policy_any\n"
                        "unique_subject = no\n"
                        "copy_extensions = none\n"
                        "[policy_any]\n"
                        "commonName = supplied\n");
    new_key(key_, key_kind::ecdsa_p256);
    openssl({"req", "-new", "-x509", "-config", config_.string(), "-extensions", "ca_ext", "-key", key_.string(),
             "-days", "3650", "-out", crt_.string()});
}

issued_certificate test_ca::issue(const fs::path& dir, const std::string& name, const leaf_options& o) const
{
    fs::create_directories(dir);
    issued_certificate c{dir / (name + ".crt"), dir / (name + ".key"), {}};
    const fs::path w = work_.path();
    const fs::path csr = w / (name + ".csr");
    const fs::path leaf = w / (name + ".leaf.pem");
    const fs::path ext = w / (name + ".ext");

    std::string sans;
    for (const auto& s : o.sans) {
        sans += (sans.empty() ? "" : ",") + (s.starts_with("IP:") ? s : "DNS:" + s);
    }
    // RFC 5280 / CA/B baseline for a TLS server leaf; RSA keys also do key encipherment
    // (TLS 1.2 RSA key exchange is off in storkd, but clients do not mind the bit).
    std::string ext_text = "[leaf_ext]\n"
                           "basicConstraints = critical, CA:FALSE\n"
                           "extendedKeyUsage = serverAuth\n"
                           "subjectKeyIdentifier = hash\n"
                           "authorityKeyIdentifier = keyid\n";
    ext_text += o.key == key_kind::rsa_2048 ? "keyUsage = critical, digitalSignature, keyEncipherment\n"
                                            : "keyUsage = critical, digitalSignature\n";
    if (!sans.empty()) {
        ext_text += "subjectAltName = " + sans + "\n";
    }
    write_text(ext, ext_text);

    new_key(c.key, o.key);
    const std::string cn = o.sans.empty() ? name : common_name_of(o.sans.front());
    openssl({"req", "-new", "-config", config_.string(), "-key", c.key.string(), "-subj", "/CN=" + cn, "-out",
             csr.string()});
    std::vector<std::string> args{"ca", "-batch", "-notext", "-rand_serial", "-config", config_.string(),
                                  "-cert", crt_.string(), "-keyfile", key_.string(), "-in", csr.string(),
                                  "-out", leaf.string(), "-extfile", ext.string(), "-extensions", "leaf_ext"};
    if (o.expired) {
        args.insert(args.end(), {"-startdate", "20200101000000Z", "-enddate", "20200201000000Z"});
    } else {
        args.insert(args.end(), {"-days", "30"});
    }
    openssl(args);
    write_text(c.crt, read_file(leaf) + read_file(crt_));
    c.serial = read_certificate(leaf).serial;
    return c;
}

void write_mismatched_pair(const test_ca& ca, const fs::path& dir, const std::string& name,
                           const std::vector<std::string>& sans)
{
    const auto c = ca.issue(dir, name, {.sans = sans});
    new_key(c.key, key_kind::ecdsa_p256); // replaces the key that matched
}

void write_garbage_pair(const fs::path& dir, const std::string& name)
{
    fs::create_directories(dir);
    // Valid base64 of bytes that are not DER.
    write_text(dir / (name + ".crt"), "-----BEGIN CERTIFICATE-----\n"
                                      "bm90IGEgY2VydGlmaWNhdGUsIGp1c3QgYnl0ZXMgaW4gYXJtb3Vy\n"
                                      "-----END CERTIFICATE-----\n");
    write_text(dir / (name + ".key"), "-----BEGIN PRIVATE KEY-----\n"
                                      "bm90IGEga2V5IGVpdGhlcg==\n"
                                      "-----END PRIVATE KEY-----\n");
}

certificate_facts read_certificate(const fs::path& pem)
{
    certificate_facts f;
    const std::string out = openssl({"x509", "-in", pem.string(), "-noout", "-serial", "-subject", "-issuer"});
    f.serial = field(out, "serial");
    f.subject = field(out, "subject");
    f.issuer = field(out, "issuer");

    const std::string text = openssl({"x509", "-in", pem.string(), "-noout", "-text"});
    const std::string algorithm = "Public Key Algorithm: ";
    if (const auto at = text.find(algorithm); at != std::string::npos) {
        f.public_key = trim(text.substr(at + algorithm.size(), text.find('\n', at) - at - algorithm.size()));
    }
    const std::string san_title = "X509v3 Subject Alternative Name:";
    if (const auto at = text.find(san_title); at != std::string::npos) {
        const auto line_start = text.find('\n', at) + 1;
        const std::string line = text.substr(line_start, text.find('\n', line_start) - line_start);
        std::size_t pos = 0;
        while (pos < line.size()) {
            auto comma = line.find(',', pos);
            std::string entry = trim(line.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
            if (entry.starts_with("DNS:")) {
                entry = entry.substr(4);
            } else if (entry.starts_with("IP Address:")) {
                entry = "IP:" + entry.substr(11);
            }
            f.sans.push_back(entry);
            if (comma == std::string::npos) {
                break;
            }
            pos = comma + 1;
        }
    }
    return f;
}

certificate_facts read_certificate_text(const std::string& pem)
{
    temp_dir dir;
    return read_certificate(dir.write("cert.pem", pem));
}

served_certificate fetch_served_certificate(std::uint16_t port, const std::string& servername,
                                            std::vector<std::string> extra)
{
    std::vector<std::string> args{openssl_cli(), "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                                  "-showcerts"};
    if (servername.empty()) {
        args.push_back("-noservername");
    } else {
        args.insert(args.end(), {"-servername", servername});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    // stdin is /dev/null: s_client ends once the handshake is done.
    const run_result r = run(std::move(args), std::chrono::seconds{20});
    served_certificate s;
    s.output = r.out + r.err;
    const std::string begin = "-----BEGIN CERTIFICATE-----";
    const std::string end = "-----END CERTIFICATE-----";
    const auto b = r.out.find(begin);
    const auto e = b == std::string::npos ? std::string::npos : r.out.find(end, b);
    if (e == std::string::npos) {
        return s;
    }
    s.facts = read_certificate_text(r.out.substr(b, e + end.size() - b) + "\n");
    s.ok = true;
    return s;
}

} // namespace stork::test
