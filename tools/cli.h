#pragma once
#include "sslkit/data/sources/source.h"

#include <boost/program_options.hpp>

#include <map>
#include <optional>
#include <string>

namespace ssl::cli {

namespace po = boost::program_options;

/// Adds the options every subcommand shares: --help, --config, --device, --threads, --seed.
void add_common_options(po::options_description& description);

/// Parses the subcommand's arguments (argv[0] is the subcommand), then the INI file named by --config
/// (values on the command line win). Returns nothing when --help was printed.
std::optional<po::variables_map> parse(const po::options_description& description, int argc, char** argv,
                                       const std::string& usage);

/// Applies --threads (0: all cores) and returns the thread count in force.
int apply_threads(const po::variables_map& vm);

/// Adds the options of image-folder decoding: --image-size, --channels, --fit, --on-bad-image.
void add_source_options(po::options_description& description);

/// The image-folder decoding options given (validated).
data::SourceOptions source_options(const po::variables_map& vm);

/// Every option that has a value, as text (for run metadata and options.ini).
std::map<std::string, std::string> to_strings(const po::variables_map& vm);

}  // namespace ssl::cli
