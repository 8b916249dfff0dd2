#include "sslkit/ssl/files.h"

#include <c10/util/Exception.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>

namespace ssl {
namespace {

// The temporaries guarded by TemporaryFileGuard. The signal handler reads only `live` and `path`: a slot's path
// is written before it is marked live and unmarked before it is reused.
constexpr int kGuardSlots = 16;
constexpr size_t kGuardPathBytes = 4096;
struct GuardSlot {
  std::atomic<bool> live{false};
  bool taken = false;  // under g_guard_mutex
  char path[kGuardPathBytes] = {0};
};
GuardSlot g_guards[kGuardSlots];
std::mutex g_guard_mutex;
int g_guard_count = 0;
std::atomic<const char*> g_report_name{nullptr};
constexpr int kGuardedSignals[2] = {SIGINT, SIGTERM};

void write_stderr(const char* text) {
  for (size_t left = std::strlen(text); left > 0;) {
    const ssize_t n = ::write(STDERR_FILENO, text, left);
    if (n <= 0) return;
    text += n;
    left -= static_cast<size_t>(n);
  }
}

// Async-signal-safe: unlink, write, sigaction and raise only.
extern "C" void remove_guarded_temporaries(int signal) {
  const char* name = g_report_name.load();
  for (auto& slot : g_guards) {
    if (!slot.live.load() || ::unlink(slot.path) != 0 || !name || !*name) continue;
    write_stderr(name);
    write_stderr(signal == SIGINT ? ": interrupted (SIGINT); removed the unfinished '"
                                  : ": terminated (SIGTERM); removed the unfinished '");
    write_stderr(slot.path);
    write_stderr("'\n");
  }
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  sigaction(signal, &action, nullptr);
  ::raise(signal);  // delivered with the default action once the handler returns
}

// Installs the handler for each guarded signal that has its default action (install) or puts the default back
// where the handler is still ours (!install). Caller holds g_guard_mutex.
void set_guard_handlers(bool install) {
  for (const int signal : kGuardedSignals) {
    struct sigaction current {};
    sigaction(signal, nullptr, &current);
    const bool ours = current.sa_handler == remove_guarded_temporaries;
    if (install ? current.sa_handler != SIG_DFL : !ours) continue;
    struct sigaction action {};
    action.sa_handler = install ? remove_guarded_temporaries : SIG_DFL;
    sigemptyset(&action.sa_mask);
    action.sa_flags = install ? SA_RESTART : 0;
    sigaction(signal, &action, nullptr);
  }
}

}  // namespace

TemporaryFileGuard::TemporaryFileGuard(const std::string& path) {
  if (path.size() >= kGuardPathBytes) return;
  std::lock_guard<std::mutex> lock(g_guard_mutex);
  for (int i = 0; i < kGuardSlots; ++i) {
    GuardSlot& slot = g_guards[i];
    if (slot.taken) continue;
    slot.taken = true;
    std::memcpy(slot.path, path.c_str(), path.size() + 1);
    slot.live.store(true);
    slot_ = i;
    if (g_guard_count++ == 0) set_guard_handlers(true);
    return;
  }
}

TemporaryFileGuard::~TemporaryFileGuard() {
  if (slot_ < 0) return;
  std::lock_guard<std::mutex> lock(g_guard_mutex);
  g_guards[slot_].live.store(false);
  g_guards[slot_].taken = false;
  if (--g_guard_count == 0) set_guard_handlers(false);
}

void set_signal_report_name(const char* name) { g_report_name.store(name); }

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const TemporaryFileGuard guard(tmp);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  TORCH_CHECK(fd >= 0, "cannot write '", path, "': ", std::strerror(errno));
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      TORCH_CHECK(false, "cannot write '", path, "': ", std::strerror(err));
    }
    written += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const int sync_err = errno;
  ::close(fd);
  if (!synced || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = synced ? errno : sync_err;
    ::unlink(tmp.c_str());
    TORCH_CHECK(false, "cannot write '", path, "': ", std::strerror(err));
  }
}

std::vector<char> read_file(const std::string& path) {
  std::error_code ec;
  TORCH_CHECK(!std::filesystem::is_directory(path, ec), "cannot read '", path, "': it is a directory");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  TORCH_CHECK(in, "cannot read '", path, "': ", std::strerror(errno));
  const auto size = static_cast<size_t>(in.tellg());
  std::vector<char> bytes(size);
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  TORCH_CHECK(in.gcount() == static_cast<std::streamsize>(size), "cannot read '", path, "': short read");
  return bytes;
}

void ensure_directory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  TORCH_CHECK(!ec, "cannot create directory '", dir, "': ", ec.message());
  TORCH_CHECK(std::filesystem::is_directory(dir), "'", dir, "' exists but is not a directory");
}

int64_t remove_stale_temporaries(const std::string& dir) {
  std::error_code ec;
  int64_t removed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const auto at = name.rfind(".tmp.");
    if (at == std::string::npos || at + 5 >= name.size()) continue;
    const std::string pid_text = name.substr(at + 5);
    if (pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    if (std::filesystem::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

DirectoryLock::DirectoryLock(const std::string& dir) : path_((std::filesystem::path(dir) / ".lock").string()) {
  for (;;) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    TORCH_CHECK(fd_ >= 0, "cannot lock '", dir, "': ", std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      char holder[32] = {0};
      const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
      ::close(fd_);
      fd_ = -1;
      TORCH_CHECK(err == EWOULDBLOCK, "cannot lock '", dir, "': ", std::strerror(err));
      const std::string pid = n > 0 ? std::string(holder, static_cast<size_t>(n)) : "?";
      TORCH_CHECK(false, "'", dir, "' is in use by another run (process ", pid.substr(0, pid.find('\n')),
                  " holds its lock)");
    }
    // The previous holder may have removed the file between our open and flock: lock the file at the path.
    struct stat held {}, named {};
    if (::fstat(fd_, &held) == 0 && ::stat(path_.c_str(), &named) == 0 && held.st_ino == named.st_ino) break;
    ::close(fd_);
  }
  // The PID only serves the message of a refused second writer: the lock holds without it.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    const ssize_t written = ::pwrite(fd_, pid.data(), pid.size(), 0);
    (void)written;
  }
}

DirectoryLock::~DirectoryLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());
  ::close(fd_);
}

}  // namespace ssl
