#include "cli.h"

#include "sslkit/ssl/checkpoint.h"
#include "sslkit/ssl/device.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace ssl::cli {

void add_common_options(po::options_description& description) {
  description.add_options()
      ("help,h", "show this help and exit")
      ("config", po::value<std::string>(), "INI file of options (keys as the long flags; flags given here win)")
      ("device", po::value<std::string>()->default_value("auto"), "auto | cpu | cuda | cuda:N")
      ("threads", po::value<int>()->default_value(0), "CPU threads for LibTorch (0: all cores)")
      ("seed", po::value<uint64_t>()->default_value(0), "random seed");
}

namespace {

// Boost reads "-1" into an unsigned option as 2^64 - 1: refuse a sign on --seed, the one unsigned option.
void check_seed(const po::parsed_options& parsed) {
  for (const auto& option : parsed.options) {
    if (option.string_key != "seed") continue;
    for (const auto& value : option.value) {
      if (value.find_first_not_of("0123456789") != std::string::npos || value.empty()) {
        throw po::error("--seed must be a whole number >= 0, got '" + value + "'");
      }
    }
  }
}

}  // namespace

std::optional<po::variables_map> parse(const po::options_description& description, int argc, char** argv,
                                       const std::string& usage) {
  po::variables_map vm;
  const auto parsed = po::command_line_parser(argc, argv).options(description).run();
  check_seed(parsed);
  po::store(parsed, vm);
  if (vm.count("help")) {
    std::cout << usage << "\n\n" << description << "\n";
    return std::nullopt;
  }
  if (vm.count("config")) {
    const std::string path = vm["config"].as<std::string>();
    std::ifstream in(path);
    if (!in || std::filesystem::is_directory(path)) throw po::error("cannot read config file '" + path + "'");
    try {
      const auto from_file = po::parse_config_file(in, description);
      check_seed(from_file);
      for (const auto& option : from_file.options) {
        if (option.string_key == "config") throw po::error("a config file cannot name another (config = ...)");
      }
      po::store(from_file, vm);
    } catch (const po::error& e) {
      throw po::error("config file '" + path + "': " + e.what());
    }
  }
  po::notify(vm);
  return vm;
}

po::typed_value<bool>* on_off() { return po::value<bool>()->default_value(false)->implicit_value(true); }

po::typed_value<double>* real(double value) {
  char text[32];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof(text), "%.*g", digits, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return po::value<double>()->default_value(value, text);
}

int apply_threads(const po::variables_map& vm) {
  const int threads = vm["threads"].as<int>();
  if (threads < 0) throw po::error("--threads must be >= 0, got " + std::to_string(threads));
  return ssl::set_threads(threads);
}

void add_weights_option(po::options_description& description) {
  description.add_options()
      ("weights", po::value<std::string>()->default_value(ssl::kTrainedEncoder),
       "which encoder weights of the checkpoint: encoder (the trained one) or an EMA network it holds: "
       "teacher_encoder (dino; the official evaluation's choice), target_encoder (byol), key_encoder (moco)");
}

void add_source_options(po::options_description& description) {
  description.add_options()
      ("image-size", po::value<int64_t>()->default_value(0),
       "image folders: side of the square images in pixels (0: the first image's size; IDX and .h5 data refuse "
       "any other than their own)")
      ("channels", po::value<int64_t>()->default_value(0), "image folders: 1 (gray) or 3 (color); 0: as the first image")
      ("fit", po::value<std::string>()->default_value("resize"),
       "image folders: resize (stretch) | crop (scale the shorter side, take the center)")
      ("on-bad-image", po::value<std::string>()->default_value("skip"),
       "image folders: skip (count unreadable files) | fail (stop at the first)");
}

data::SourceOptions source_options(const po::variables_map& vm) {
  const int64_t size = vm["image-size"].as<int64_t>(), channels = vm["channels"].as<int64_t>();
  if (size < 0) throw po::error("--image-size must be >= 0, got " + std::to_string(size));
  if (channels != 0 && channels != 1 && channels != 3) {
    throw po::error("invalid --channels " + std::to_string(channels) + ": expected 1 or 3 (0: as the first image)");
  }
  const std::string fit = vm["fit"].as<std::string>(), on_bad_image = vm["on-bad-image"].as<std::string>();
  if (fit != "resize" && fit != "crop") throw po::error("invalid --fit '" + fit + "': expected resize or crop");
  if (on_bad_image != "skip" && on_bad_image != "fail") {
    throw po::error("invalid --on-bad-image '" + on_bad_image + "': expected skip or fail");
  }
  return data::SourceOptions()
      .image_size(size)
      .channels(channels)
      .fit(data::parse_fit(fit))
      .on_bad_image(data::parse_on_bad_image(on_bad_image));
}

std::map<std::string, std::string> to_strings(const po::variables_map& vm) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : vm) {
    if (key == "help" || key == "config" || value.empty()) continue;
    const boost::any& v = value.value();
    std::ostringstream text;
    if (const auto* s = boost::any_cast<std::string>(&v)) text << *s;
    else if (const auto* i = boost::any_cast<int>(&v)) text << *i;
    else if (const auto* l = boost::any_cast<int64_t>(&v)) text << *l;
    else if (const auto* u = boost::any_cast<uint64_t>(&v)) text << *u;
    else if (const auto* d = boost::any_cast<double>(&v)) text << *d;
    else if (const auto* b = boost::any_cast<bool>(&v)) text << (*b ? "true" : "false");
    else continue;
    out[key] = text.str();
  }
  return out;
}

void print_subcommands(std::ostream& out, const std::string& usage, const char* heading, const Subcommand* table,
                       size_t count) {
  out << usage << "\n\n" << heading << ":\n";
  for (size_t i = 0; i < count; ++i) {
    const std::string name = table[i].name;
    out << "  " << name << std::string(name.size() < 12 ? 12 - name.size() : 1, ' ') << table[i].summary << "\n";
  }
}

int dispatch(const Subcommand* table, size_t count, const char* kind, const std::string& usage, const char* heading,
             int argc, char** argv) {
  if (argc < 2) {
    print_subcommands(std::cerr, usage, heading, table, count);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_subcommands(std::cout, usage, heading, table, count);
    return 0;
  }
  std::string valid;
  for (size_t i = 0; i < count; ++i) {
    if (name == table[i].name) return table[i].run(argc - 1, argv + 1);
    valid += std::string(valid.empty() ? "" : ", ") + table[i].name;
  }
  throw po::error("unknown " + std::string(kind) + " '" + name + "': expected one of " + valid);
}

}  // namespace ssl::cli
