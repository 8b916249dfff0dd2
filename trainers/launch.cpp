#include "sslkit/trainers/launch.h"

#include <c10/util/Exception.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ssl::trainers {
namespace {

volatile std::sig_atomic_t g_forward_signal = 0;

extern "C" void record_launch_signal(int signal) { g_forward_signal = signal; }

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
  return "stopped";
}

void signal_all(const std::vector<pid_t>& pids, int signal) {
  for (pid_t pid : pids)
    if (pid > 0) kill(pid, signal);
}

/// Records SIGINT and SIGTERM for its lifetime (the wait loop forwards them); restores the old handlers.
class RecordSignals {
 public:
  RecordSignals() {
    g_forward_signal = 0;
    struct sigaction action {};
    action.sa_handler = record_launch_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~RecordSignals() { restore(); }
  RecordSignals(const RecordSignals&) = delete;
  RecordSignals& operator=(const RecordSignals&) = delete;
  /// Puts the old handlers back (also in a forked child before it runs the rank's command).
  void restore() const {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

// Where rank `rank` writes its final error line (the CLI reads kErrorFileVariable).
std::string error_path(const std::string& dir, int rank) { return dir + "/rank-" + std::to_string(rank) + ".error"; }

// Where rank `rank`'s stderr goes: rank 0's is the launcher's own; the others' are files in `dir`.
std::string stderr_path(const std::string& dir, int rank) {
  return rank == 0 ? std::string() : dir + "/rank-" + std::to_string(rank) + ".err";
}

// In the forked child: the rank's environment, then the command. Never returns.
[[noreturn]] void exec_rank(const LaunchOptions& o, int rank, pid_t launcher, const RecordSignals& signals,
                            const std::string& log_dir) {
  // Its own process group: a Ctrl-C on the terminal reaches the launcher alone, which forwards it once (a second
  // SIGINT would stop a rank without its checkpoint). SIGKILL when the launcher dies, so no rank is orphaned.
  setpgid(0, 0);
  signals.restore();
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != launcher) _exit(1);  // the launcher died before prctl took effect
  if (rank > 0) {
    const int fd = ::open(stderr_path(log_dir, rank).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      ::dup2(fd, STDERR_FILENO);
      ::close(fd);
    }
  }
  setenv("RANK", std::to_string(rank).c_str(), 1);
  setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
  setenv("WORLD_SIZE", std::to_string(o.nproc()).c_str(), 1);
  setenv("LOCAL_WORLD_SIZE", std::to_string(o.nproc()).c_str(), 1);
  setenv("MASTER_ADDR", o.master_addr().c_str(), 1);
  setenv("MASTER_PORT", std::to_string(o.master_port()).c_str(), 1);
  setenv(kErrorFileVariable, error_path(log_dir, rank).c_str(), 1);
  std::vector<char*> argv{const_cast<char*>(o.executable().c_str())};
  for (const auto& argument : o.arguments()) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  execv(o.executable().c_str(), argv.data());
  _exit(127);
}

std::vector<pid_t> start_ranks(const LaunchOptions& o, const RecordSignals& signals, const std::string& log_dir) {
  const pid_t launcher = getpid();
  std::vector<pid_t> pids(static_cast<size_t>(o.nproc()), -1);
  for (int rank = 0; rank < o.nproc(); ++rank) {
    const pid_t pid = fork();
    if (pid < 0) {
      const int error = errno;
      signal_all(pids, SIGKILL);
      TORCH_CHECK(false, "launch: cannot start rank ", rank, ": ", std::strerror(error));
    }
    if (pid == 0) exec_rank(o, rank, launcher, signals, log_dir);
    pids[static_cast<size_t>(rank)] = pid;
  }
  return pids;
}

/// How the ranks ended.
struct Outcome {
  int failed_rank = -1, failed_status = 0, rank0_status = 0, forwarded = 0;
};

Outcome wait_for_ranks(std::vector<pid_t> pids, double grace_seconds) {
  Outcome outcome;
  size_t alive = pids.size();
  double waited_after_failure = 0;
  bool killed = false;
  const auto poll = std::chrono::milliseconds(20);
  while (alive > 0) {
    if (g_forward_signal != 0 && outcome.forwarded != g_forward_signal) {
      outcome.forwarded = g_forward_signal;
      signal_all(pids, outcome.forwarded);
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (size_t rank = 0; rank < pids.size(); ++rank) {
        if (pids[rank] != pid) continue;
        pids[rank] = -1;
        --alive;
        if (rank == 0) outcome.rank0_status = status;
        const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok && outcome.failed_rank < 0 && outcome.forwarded == 0) {
          outcome.failed_rank = static_cast<int>(rank);
          outcome.failed_status = status;
          signal_all(pids, SIGTERM);  // the others cannot finish without this rank
        }
      }
      continue;
    }
    std::this_thread::sleep_for(poll);
    if (outcome.failed_rank >= 0 && !killed) {
      waited_after_failure += std::chrono::duration<double>(poll).count();
      if (waited_after_failure > grace_seconds) {
        signal_all(pids, SIGKILL);
        killed = true;
      }
    }
  }
  return outcome;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Prints the other ranks' stderr lines, each distinct line once, leaving out rank 0's error line (which rank 0
// printed itself): a failure every rank shares shows once.
void show_other_ranks(const std::string& dir, int nproc) {
  std::set<std::string> shown;
  for (const auto& line : lines_of(error_path(dir, 0))) shown.insert(line);
  for (int rank = 1; rank < nproc; ++rank) {
    for (const auto& line : lines_of(stderr_path(dir, rank))) {
      if (!shown.insert(line).second) continue;
      std::fprintf(stderr, "%s\n", line.c_str());
    }
  }
}

/// A private folder for the ranks' stderr files, removed with its contents on destruction.
class LogDirectory {
 public:
  LogDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sslkit-launch-XXXXXX").string();
    TORCH_CHECK(::mkdtemp(pattern.data()) != nullptr, "launch: cannot create a temporary folder: ",
                std::strerror(errno));
    path_ = pattern;
  }
  ~LogDirectory() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  LogDirectory(const LogDirectory&) = delete;
  LogDirectory& operator=(const LogDirectory&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

int exit_code_of(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
}

}  // namespace

LaunchResult launch_local(const LaunchOptions& options) {
  TORCH_CHECK(options.nproc() >= 1, "launch: nproc must be >= 1, got ", options.nproc());
  TORCH_CHECK(options.master_port() >= 1 && options.master_port() <= 65535,
              "launch: master port must be in 1..65535, got ", options.master_port());
  TORCH_CHECK(!options.arguments().empty(), "launch: no command to run");
  const LogDirectory logs;
  // Signals arriving while children start are recorded, then forwarded by the wait loop.
  RecordSignals signals;
  const Outcome outcome = wait_for_ranks(start_ranks(options, signals, logs.path()), options.grace_seconds());
  show_other_ranks(logs.path(), options.nproc());
  LaunchResult result;
  if (outcome.failed_rank >= 0) {
    result.exit_code = exit_code_of(outcome.failed_status);
    result.failure = "launch: rank " + std::to_string(outcome.failed_rank) + " of " + std::to_string(options.nproc()) +
                     " " + describe_status(outcome.failed_status) + "; the other ranks were stopped";
  } else if (outcome.forwarded != 0) {
    result.exit_code = WIFEXITED(outcome.rank0_status) ? WEXITSTATUS(outcome.rank0_status) : 128 + outcome.forwarded;
  }
  return result;
}

}  // namespace ssl::trainers
