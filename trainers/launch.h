#pragma once
#include <torch/arg.h>

#include <string>
#include <vector>

namespace ssl::trainers {

/// A local data-parallel job: `nproc` copies of one command, each told its place in the job through the
/// torchrun environment (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT).
struct LaunchOptions {
  /// The program each rank runs and its arguments (argv[1..]).
  TORCH_ARG(std::string, executable);
  /// Arguments of every rank's command.
  TORCH_ARG(std::vector<std::string>, arguments) = {};
  /// Processes (ranks) to start on this machine.
  TORCH_ARG(int, nproc) = 1;
  /// Address of rank 0's rendezvous store.
  TORCH_ARG(std::string, master_addr) = "127.0.0.1";
  /// Port of rank 0's rendezvous store, in 1..65535.
  TORCH_ARG(int, master_port) = 29500;
  /// Seconds the other ranks get to stop after one failed, before they are killed.
  TORCH_ARG(double, grace_seconds) = 30;
};

/// The environment variable naming the file where a rank started by `launch_local` writes its final error line
/// (the `sslkit` CLI does), so that the launcher can show an error every rank shares once.
inline constexpr const char* kErrorFileVariable = "SSLKIT_ERROR_FILE";

/// How a local job ended.
struct LaunchResult {
  /// The job's exit code: 0; the first failed rank's exit status (128 + signal when a signal killed it); or, after
  /// a forwarded SIGINT / SIGTERM, rank 0's.
  int exit_code = 0;
  /// One line naming the first rank that failed and how, or empty.
  std::string failure;
};

/// Starts the ranks, forwards SIGINT / SIGTERM to them once, and waits for all of them. Each rank runs in its
/// own process group (a terminal's Ctrl-C reaches the launcher alone, which forwards it) and is killed if the
/// launcher dies. Rank 0 writes to this process's stderr; the other ranks' stderr is collected and each distinct
/// line shown once after the job, leaving out rank 0's error line (a failure every rank shares shows once).
/// When a rank fails the others get SIGTERM, then SIGKILL after the grace period.
LaunchResult launch_local(const LaunchOptions& options);

}  // namespace ssl::trainers
