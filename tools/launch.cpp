// sslkit launch: starts N local processes of this binary with the torchrun environment (RANK, WORLD_SIZE,
// LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), forwards SIGINT / SIGTERM to them, and fails naming
// the first rank that failed, after stopping the others.
#include "cli.h"
#include "commands.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ssl::cli {
namespace {

volatile std::sig_atomic_t g_forward_signal = 0;

extern "C" void record_launch_signal(int signal) { g_forward_signal = signal; }

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
  return "stopped";
}

std::string self_executable() {
  std::vector<char> path(4096);
  const ssize_t n = readlink("/proc/self/exe", path.data(), path.size() - 1);
  if (n <= 0) throw std::runtime_error("launch: cannot find this executable (/proc/self/exe)");
  return std::string(path.data(), static_cast<size_t>(n));
}

}  // namespace

int launch_main(int argc, char** argv) {
  int split = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--") {
      split = i;
      break;
    }
  }
  po::options_description description("sslkit launch options");
  description.add_options()
      ("help,h", "show this help and exit")
      ("nproc", po::value<int>()->default_value(1), "processes (ranks) to start on this machine")
      ("master-addr", po::value<std::string>()->default_value("127.0.0.1"), "address of rank 0's rendezvous store")
      ("master-port", po::value<int>()->default_value(29500), "port of rank 0's rendezvous store")
      ("grace", po::value<double>()->default_value(30), "seconds the other ranks get to stop after one failed");
  const std::string usage =
      "usage: sslkit launch --nproc N [--master-port P] -- <command> [options]\n"
      "Runs `sslkit <command> [options]` as N processes with RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and\n"
      "MASTER_PORT set (e.g. sslkit launch --nproc 2 -- pretrain --out runs/ddp). Multi-node jobs set these\n"
      "variables themselves (torchrun, SLURM) and run `sslkit pretrain` directly.";
  auto vm = parse(description, split, argv, usage);
  if (!vm) return 0;
  const int nproc = (*vm)["nproc"].as<int>();
  const int port = (*vm)["master-port"].as<int>();
  const double grace = (*vm)["grace"].as<double>();
  if (nproc < 1) throw po::error("--nproc must be >= 1, got " + std::to_string(nproc));
  if (port < 1 || port > 65535) throw po::error("--master-port must be in 1..65535, got " + std::to_string(port));
  if (split + 1 >= argc) throw po::error("launch needs a command after --, e.g. sslkit launch --nproc 2 -- pretrain");

  const std::string exe = self_executable();
  std::vector<char*> child_argv{const_cast<char*>(exe.c_str())};
  for (int i = split + 1; i < argc; ++i) child_argv.push_back(argv[i]);
  child_argv.push_back(nullptr);

  // Signals arriving while children start are recorded, then forwarded by the wait loop below.
  struct sigaction action {}, old_int {}, old_term {};
  action.sa_handler = record_launch_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);

  std::vector<pid_t> pids(static_cast<size_t>(nproc), -1);
  for (int rank = 0; rank < nproc; ++rank) {
    const pid_t pid = fork();
    if (pid < 0) {
      for (pid_t started : pids)
        if (started > 0) kill(started, SIGKILL);
      throw std::runtime_error(std::string("launch: cannot start rank ") + std::to_string(rank) + ": " +
                               std::strerror(errno));
    }
    if (pid == 0) {
      // Its own process group: a Ctrl-C on the terminal reaches the launcher alone, which forwards it once
      // (a second SIGINT would stop a rank without its checkpoint).
      setpgid(0, 0);
      sigaction(SIGINT, &old_int, nullptr);
      sigaction(SIGTERM, &old_term, nullptr);
      setenv("RANK", std::to_string(rank).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("MASTER_ADDR", (*vm)["master-addr"].as<std::string>().c_str(), 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      execv(exe.c_str(), child_argv.data());
      _exit(127);
    }
    pids[static_cast<size_t>(rank)] = pid;
  }

  int alive = nproc;
  int failed_rank = -1, failed_status = 0, rank0_status = 0;
  int forwarded = 0;
  double waited_after_failure = 0;
  bool killed = false;
  const auto poll = std::chrono::milliseconds(20);
  while (alive > 0) {
    if (g_forward_signal != 0 && forwarded != g_forward_signal) {
      forwarded = g_forward_signal;
      for (pid_t pid : pids)
        if (pid > 0) kill(pid, forwarded);
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (size_t rank = 0; rank < pids.size(); ++rank) {
        if (pids[rank] != pid) continue;
        pids[rank] = -1;
        --alive;
        if (rank == 0) rank0_status = status;
        const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok && failed_rank < 0 && forwarded == 0) {
          failed_rank = static_cast<int>(rank);
          failed_status = status;
          for (pid_t other : pids)  // the others cannot finish without this rank
            if (other > 0) kill(other, SIGTERM);
        }
      }
      continue;
    }
    std::this_thread::sleep_for(poll);
    if (failed_rank >= 0 && !killed) {
      waited_after_failure += std::chrono::duration<double>(poll).count();
      if (waited_after_failure > grace) {
        for (pid_t other : pids)
          if (other > 0) kill(other, SIGKILL);
        killed = true;
      }
    }
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (failed_rank >= 0) {
    throw std::runtime_error("launch: rank " + std::to_string(failed_rank) + " of " + std::to_string(nproc) + " " +
                             describe_status(failed_status) + "; the other ranks were stopped");
  }
  if (forwarded != 0) return WIFEXITED(rank0_status) ? WEXITSTATUS(rank0_status) : 128 + forwarded;
  return 0;
}

}  // namespace ssl::cli
