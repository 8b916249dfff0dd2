// sslkit: the command-line entry point. Dispatches to a subcommand and turns every error into one line
// on stderr and a non-zero exit.
#include "cli.h"
#include "commands.h"

#include "sslkit/version.h"

#include <c10/util/Exception.h>

#include <iterator>
#include <iostream>
#include <string>

namespace {

using ssl::cli::Subcommand;

constexpr Subcommand kSubcommands[] = {
    {"pretrain", ssl::cli::pretrain_main, "self-supervised pretraining (SimCLR by default) into a run directory"},
    {"probe", ssl::cli::probe_main, "linear-probe evaluation of a checkpoint's frozen encoder (or raw pixels)"},
    {"embed", ssl::cli::embed_main, "frozen-encoder features of a data set into an HDF5 file (--checkpoint, --out)"},
    {"convert", ssl::cli::convert_main, "packs IDX files or an image folder into an HDF5 file (--data, --out)"},
    {"bench", ssl::cli::bench_main,
     "benchmarks: mi (MI bounds), losses (loss timings), data (loader throughput), train (training step), sources (reads)"},
    {"report", ssl::cli::report_main, "one table comparing run directories (probe, kNN, low-label accuracies)"},
    {"views", ssl::cli::views_main, "a PNG grid of a pretext view's inputs and targets for a few images"},
    {"launch", ssl::cli::launch_main, "runs a command as N local data-parallel processes (launch --nproc N -- pretrain ...)"},
};

std::string first_line(std::string text) {
  const auto end = text.find('\n');
  if (end != std::string::npos) text.resize(end);
  return text;
}

int dispatch(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "--version") {
    std::cout << "sslkit " << SSLKIT_VERSION << "\n";
    return 0;
  }
  return ssl::cli::dispatch(kSubcommands, std::size(kSubcommands), "command",
                            "usage: sslkit <command> [options]    (sslkit <command> --help for its options;"
                            " sslkit --version prints the version)",
                            "commands", argc, argv);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return dispatch(argc, argv);
  } catch (const boost::program_options::error& e) {
    std::cerr << "sslkit: error: " << first_line(e.what()) << "\n";
    return 2;
  } catch (const c10::Error& e) {
    std::cerr << "sslkit: error: " << first_line(e.what_without_backtrace()) << "\n";
  } catch (const std::exception& e) {
    std::cerr << "sslkit: error: " << first_line(e.what()) << "\n";
  }
  return 1;
}
