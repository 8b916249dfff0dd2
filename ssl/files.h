#pragma once
#include <cstdint>
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

/// Removes the `*.tmp.PID` files in `dir` that `write_file_atomic` (or another atomic writer) left when its process
/// died mid-write, for PIDs that no longer run; returns how many it removed.
int64_t remove_stale_temporaries(const std::string& dir);

/// An exclusive lock on a directory (a run directory being written), held for the object's lifetime through
/// `flock` on DIR/.lock, which records the holder's PID and is removed on release. A second lock on the same
/// directory, from this or another process, throws one line naming the holder.
class DirectoryLock {
 public:
  /// Locks the existing directory `dir`; throws when another holder has it.
  explicit DirectoryLock(const std::string& dir);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace ssl
