// sslkit launch: runs a command of this binary as N local processes of a data-parallel job.
#include "cli.h"
#include "commands.h"

#include "sslkit/trainers/launch.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace ssl::cli {
namespace {

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
      ("grace", real(30), "seconds the other ranks get to stop after one failed")
      ("force", po::bool_switch(), "start more processes than this machine has cores");
  const std::string usage =
      "usage: sslkit launch --nproc N [--master-port P] -- <command> [options]\n"
      "Runs `sslkit <command> [options]` as N processes with RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and\n"
      "MASTER_PORT set (e.g. sslkit launch --nproc 2 -- pretrain --out runs/ddp). Multi-node jobs set these\n"
      "variables themselves (torchrun, SLURM) and run `sslkit pretrain` directly.";
  auto vm = parse(description, split, argv, usage);
  if (!vm) return 0;
  const int nproc = (*vm)["nproc"].as<int>();
  const int port = (*vm)["master-port"].as<int>();
  if (nproc < 1) throw po::error("--nproc must be >= 1, got " + std::to_string(nproc));
  if (port < 1 || port > 65535) throw po::error("--master-port must be in 1..65535, got " + std::to_string(port));
  if (split + 1 >= argc) throw po::error("launch needs a command after --, e.g. sslkit launch --nproc 2 -- pretrain");
  const std::string command = argv[split + 1];
  if (command != "pretrain") throw po::error("launch runs pretrain only, got '" + command + "'");
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (nproc > cores && !(*vm)["force"].as<bool>()) {
    throw po::error("--nproc " + std::to_string(nproc) + " exceeds the " + std::to_string(cores) +
                    " cores of this machine (--force starts them anyway)");
  }
  const auto result = trainers::launch_local(trainers::LaunchOptions()
                                                 .executable(self_executable())
                                                 .arguments(std::vector<std::string>(argv + split + 1, argv + argc))
                                                 .nproc(nproc)
                                                 .master_addr((*vm)["master-addr"].as<std::string>())
                                                 .master_port(port)
                                                 .grace_seconds((*vm)["grace"].as<double>()));
  if (!result.failure.empty()) std::fprintf(stderr, "sslkit: error: %s\n", result.failure.c_str());
  return result.exit_code;
}

}  // namespace ssl::cli
