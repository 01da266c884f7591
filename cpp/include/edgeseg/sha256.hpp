// sha256 of a file, to bind an artifact to its sidecar (as edgeseg's Python side does) without OpenSSL.
#pragma once

#include <string>

namespace edgeseg {

// Lower-case hex digest of the file's bytes; Error when it cannot be read.
std::string sha256_file(const std::string& path);

// Lower-case hex digest of a byte string (the tests check it against known vectors).
std::string sha256_bytes(const std::string& data);

}  // namespace edgeseg
