#pragma once
// A fresh temporary directory per test, removed at scope exit.
#include <filesystem>
#include <random>
#include <string>

namespace ssl::testing {

/// Creates a unique directory under the system temp folder and removes it (recursively) on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("sslkit-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// Path of `name` inside the directory.
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  /// The directory itself.
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace ssl::testing
