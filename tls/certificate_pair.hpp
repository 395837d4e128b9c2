#pragma once

#include "tls/load_error.hpp"
#include "tls/openssl_handles.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace stork::tls {

enum class key_type : std::uint8_t { ecdsa, rsa };

// "ECDSA" or "RSA", for messages and logs.
std::string_view describe(key_type t) noexcept;

// One NAME.crt + NAME.key pair as read from the certificate folder, checked on its own
// (the set checks how pairs relate to each other).
struct certificate_pair {
    std::string name;                 // NAME, the file names without extension
    std::filesystem::path crt_file;
    std::filesystem::path key_file;
    std::vector<x509_ptr> chain;      // leaf first, then the intermediates as the file lists them
    pkey_ptr key;
    key_type type = key_type::ecdsa;
    std::vector<std::string> sans;    // dNSName entries, normalised, sorted, unique
    std::chrono::system_clock::time_point not_after;
};

// Reads and checks one pair: the PEM chain, the unencrypted PEM key (EC or RSA), that the
// key belongs to the leaf, the leaf's DNS names and its expiry. Every problem found is
// returned (each naming its file), so that one run of `storkd` lists them all; `errors`
// is appended to, and the pair is valid only when nothing was appended.
certificate_pair load_pair(std::string name, const std::filesystem::path& crt_file,
                           const std::filesystem::path& key_file, std::vector<load_error>& errors);

} // namespace stork::tls
