// sslkit: the command-line entry point. Dispatches to a subcommand and turns every error into one line
// on stderr and a non-zero exit.
#include "cli.h"
#include "commands.h"

#include "sslkit/version.h"

#include <c10/util/Exception.h>

#include <cstring>
#include <iostream>
#include <string>

namespace {

struct Subcommand {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

constexpr Subcommand kSubcommands[] = {
    {"pretrain", ssl::cli::pretrain_main, "self-supervised pretraining (SimCLR by default) into a run directory"},
    {"probe", ssl::cli::probe_main, "linear-probe evaluation of a checkpoint's frozen encoder (or raw pixels)"},
    {"convert", ssl::cli::convert_main, "packs IDX files or an image folder into an HDF5 file (--data, --out)"},
    {"bench", ssl::cli::bench_main, "benchmarks: mi (MI bounds on known-MI Gaussians), losses (loss timings)"},
};

void print_usage(std::ostream& out) {
  out << "usage: sslkit <command> [options]    (sslkit <command> --help for its options)\n\ncommands:\n";
  for (const auto& sub : kSubcommands) out << "  " << sub.name << std::string(12 - std::strlen(sub.name), ' ') << sub.summary << "\n";
  out << "\nsslkit --version prints the version.\n";
}

std::string first_line(std::string text) {
  const auto end = text.find('\n');
  if (end != std::string::npos) text.resize(end);
  return text;
}

int dispatch(int argc, char** argv) {
  if (argc < 2) {
    print_usage(std::cerr);
    return 2;
  }
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    print_usage(std::cout);
    return 0;
  }
  if (command == "--version") {
    std::cout << "sslkit " << SSLKIT_VERSION << "\n";
    return 0;
  }
  for (const auto& sub : kSubcommands) {
    if (command == sub.name) return sub.run(argc - 1, argv + 1);
  }
  std::string valid;
  for (const auto& sub : kSubcommands) valid += std::string(valid.empty() ? "" : ", ") + sub.name;
  std::cerr << "sslkit: error: unknown command '" << command << "': expected one of " << valid << "\n";
  return 2;
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
