// sslkit: the command-line entry point. Dispatches to a subcommand and turns every error into one line
// on stderr and a non-zero exit.
#include "cli.h"
#include "commands.h"

#include "sslkit/ssl/device.h"
#include "sslkit/ssl/files.h"
#include "sslkit/ssl/text.h"
#include "sslkit/trainers/launch.h"
#include "sslkit/version.h"

#include <c10/util/Exception.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <iostream>
#include <string>

namespace {

using ssl::cli::Subcommand;

constexpr Subcommand kSubcommands[] = {
    {"pretrain", ssl::cli::pretrain_main, "self-supervised pretraining (SimCLR by default) into a run directory"},
    {"probe", ssl::cli::probe_main, "linear-probe evaluation of a checkpoint's frozen encoder (or raw pixels)"},
    {"embed", ssl::cli::embed_main, "frozen-encoder features of a data set into an HDF5 file (--checkpoint, --out)"},
    {"export", ssl::cli::export_main, "the encoder as one TorchScript file with its normalization (--checkpoint, --out)"},
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

// Prints the error line, its terminal control bytes escaped (an INI value cannot echo escape sequences); a rank
// of `sslkit launch` also records it for the launcher (kErrorFileVariable).
int fail(const std::string& what, int exit_code) {
  const std::string line = "sslkit: error: " + ssl::escape_bytes(first_line(what));
  std::cerr << line << "\n";
  if (const char* path = std::getenv(ssl::trainers::kErrorFileVariable)) std::ofstream(path) << line << "\n";
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  ssl::set_signal_report_name("sslkit");  // SIGINT/SIGTERM name the unfinished outputs they remove
  ssl::keep_freed_memory();               // before any thread allocates: steps reuse freed activations' pages
  try {
    return dispatch(argc, argv);
  } catch (const boost::program_options::error& e) {
    return fail(e.what(), 2);
  } catch (const c10::ValueError& e) {  // an option's value out of its range: a usage error
    return fail(e.what_without_backtrace(), 2);
  } catch (const c10::Error& e) {
    return fail(e.what_without_backtrace(), 1);
  } catch (const std::exception& e) {
    return fail(e.what(), 1);
  }
}
