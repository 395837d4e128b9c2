#pragma once

#include <filesystem>
#include <string>

namespace stork::tls {

// Why a certificate folder could not be loaded: the file to fix and what is wrong with it.
struct load_error {
    std::filesystem::path file;
    std::string why;
};

// "<file>: <why>", for the log and the admin API.
std::string to_string(const load_error& e);

} // namespace stork::tls
