#pragma once
#include "sslkit/data/sources/source.h"
#include "sslkit/ssl/checkpoint.h"

#include <boost/program_options.hpp>

#include <cstddef>
#include <initializer_list>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

namespace ssl::cli {

namespace po = boost::program_options;

/// Adds the options every subcommand shares: --help, --config, --device, --threads, --seed.
void add_common_options(po::options_description& description);

/// Parses the subcommand's arguments (argv[0] is the subcommand), then the INI file named by --config
/// (values on the command line win). Returns nothing when --help was printed.
std::optional<po::variables_map> parse(const po::options_description& description, int argc, char** argv,
                                       const std::string& usage);

/// An on/off option: `--name` turns it on and `--name=false` turns off one that a --config file or a resumed
/// run's options.ini turned on (a plain bool_switch could not).
po::typed_value<bool>* on_off();

/// A floating-point option defaulting to `value`, which --help shows in its shortest exact form (0.0051, not
/// 0.0051000000000000004).
po::typed_value<double>* real(double value);

/// Applies --threads (0: all cores) and returns the thread count in force.
int apply_threads(const po::variables_map& vm);

/// Adds --weights, which encoder weights of a checkpoint a subcommand reads (probe, embed, export).
void add_weights_option(po::options_description& description);

/// Adds the options of image-folder decoding: --image-size, --channels, --fit, --on-bad-image.
void add_source_options(po::options_description& description);

/// The image-folder decoding options given (validated).
data::SourceOptions source_options(const po::variables_map& vm);

/// The comma-separated values of `option`'s `text`; throws a usage error naming the option when one does not parse
/// as a T or there are none.
template <typename T>
std::vector<T> parse_list(const std::string& text, const char* option) {
  std::vector<T> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::istringstream field(item);
    T value{};
    if (!(field >> value) || !field.eof()) throw po::error(std::string("invalid ") + option + " '" + text + "'");
    values.push_back(value);
  }
  if (values.empty()) throw po::error(std::string(option) + " must list at least one value");
  return values;
}

/// The value among `choices` that the string option `flag` spells (as `to_string` of the value spells it); any
/// other spelling throws po::error "invalid --FLAG 'VALUE': expected A, B or C".
template <class Enum>
Enum parse_choice(const po::variables_map& vm, const std::string& flag, std::initializer_list<Enum> choices) {
  const std::string value = vm[flag].as<std::string>();
  std::string expected;
  size_t index = 0;
  for (const Enum choice : choices) {
    if (to_string(choice) == value) return choice;
    expected += (index == 0 ? "" : index + 1 == choices.size() ? " or " : ", ") + to_string(choice);
    ++index;
  }
  throw po::error("invalid --" + flag + " '" + value + "': expected " + expected);
}

/// Every option that has a value, as text (for run metadata and options.ini).
std::map<std::string, std::string> to_strings(const po::variables_map& vm);

/// One row of a subcommand table: its name, entry point (argv[0] is the name) and a one-line summary.
struct Subcommand {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

/// Prints `usage`, then `heading` and one aligned line per row of the table.
void print_subcommands(std::ostream& out, const std::string& usage, const char* heading, const Subcommand* table,
                       size_t count);

/// Runs the row named by argv[1] with argv shifted by one. No name: usage on stderr, returns 2; --help / -h /
/// help: usage on stdout, returns 0; an unknown name throws po::error "unknown <kind> 'NAME': expected one of ...".
int dispatch(const Subcommand* table, size_t count, const char* kind, const std::string& usage, const char* heading,
             int argc, char** argv);

}  // namespace ssl::cli
