#pragma once
#include <string>
#include <vector>

namespace ssl {

/// Writes `bytes` to `path` atomically: a temporary file beside it is written, flushed to disk and renamed
/// over `path`, so readers see the old file or the new one, never a half-written one. Throws naming the path.
void write_file_atomic(const std::string& path, const std::string& bytes);

/// Reads a whole file; throws naming the path and the system error when it cannot.
std::vector<char> read_file(const std::string& path);

/// Creates `dir` (and parents) if needed; throws naming it when that fails or it is not a directory.
void ensure_directory(const std::string& dir);

}  // namespace ssl
