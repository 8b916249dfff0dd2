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

/// Removes the temporary file at `path` if SIGINT or SIGTERM ends the process while the guard lives. Where the
/// signal has its default action the first guard installs a handler (the last guard puts the default back) that
/// unlinks every guarded file, prints one line per file it removed when `set_signal_report_name` named the
/// program, and ends the process by the same signal. A handler already installed, such as the training loop's
/// (which stops after a step), is left in place. Up to 16 guards live at once; further ones guard nothing.
class TemporaryFileGuard {
 public:
  /// Guards `path` (which need not exist yet).
  explicit TemporaryFileGuard(const std::string& path);
  ~TemporaryFileGuard();
  TemporaryFileGuard(const TemporaryFileGuard&) = delete;
  TemporaryFileGuard& operator=(const TemporaryFileGuard&) = delete;

 private:
  int slot_ = -1;
};

/// Names the program in the line a signal prints for each guarded temporary it removes
/// (`NAME: terminated (SIGTERM); removed the unfinished 'PATH'`); null or "" (the default) prints nothing.
/// `name` must outlive every guard.
void set_signal_report_name(const char* name);

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
