// sslkit convert: pack an IDX pair or an image folder into the HDF5 schema.
#include "cli.h"
#include "commands.h"

#include "sslkit/data/sources/convert.h"
#include "sslkit/ssl/progress.h"

#include <cstdio>

namespace ssl::cli {
namespace {

// --masks threshold:T, T in 0..255; -1 when not given.
int64_t mask_threshold(const po::variables_map& v) {
  if (!v.count("masks")) return -1;
  const std::string masks = v["masks"].as<std::string>(), prefix = "threshold:";
  int64_t threshold = -1;
  size_t used = 0;
  try {
    if (masks.rfind(prefix, 0) == 0) threshold = std::stoll(masks.substr(prefix.size()), &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || prefix.size() + used != masks.size() || threshold < 0 || threshold > 255) {
    throw po::error("invalid --masks '" + masks + "': expected threshold:T with T in 0..255");
  }
  return threshold;
}

void print_result(const data::ConvertResult& result, const std::string& out) {
  std::string labels = ", unlabelled";
  if (result.labelled) {
    labels = result.classes.empty() ? ", labelled" : ", labelled, " + std::to_string(result.classes.size()) + " classes";
  }
  if (result.masks) labels += ", masks";
  std::printf("wrote %lld images %lldx%lldx%lld%s to %s", static_cast<long long>(result.images),
              static_cast<long long>(result.height), static_cast<long long>(result.width),
              static_cast<long long>(result.channels), labels.c_str(), out.c_str());
  if (!result.skipped.empty()) {
    std::printf("; skipped %zu unreadable files (first: %s)", result.skipped.size(), result.skipped[0].c_str());
  }
  std::printf("\n");
}

}  // namespace

int convert_main(int argc, char** argv) {
  const data::Hdf5WriteOptions defaults;
  po::options_description description("sslkit convert options");
  description.add_options()
      ("data", po::value<std::string>(), "fashion-mnist, a folder of IDX files, an image folder or an .h5 file")
      ("out", po::value<std::string>(), "HDF5 file to write (.h5)")
      ("split", po::value<std::string>()->default_value("train"), "train | test")
      ("chunk-images", po::value<int64_t>()->default_value(defaults.chunk_images()),
       "images per HDF5 chunk (0: about 128 KiB of pixels)")
      ("compression", po::value<int>()->default_value(defaults.compression()),
       "gzip level 0-9 (0: none; compressed chunks make random reads slower)")
      ("masks", po::value<std::string>(),
       "threshold:T also writes /masks uint8 [N,H,W]: 1 where the largest channel value is above T (0..255)")
      ("quiet,q", po::bool_switch(), "no progress line");
  add_source_options(description);
  add_common_options(description);
  auto vm = parse(description, argc, argv,
                  "usage: sslkit convert --data SPEC --out FILE.h5 [--split train|test] [--masks threshold:T] [options]\n"
                  "Packs a data set into HDF5: /images uint8 [N,H,W,C], /labels int64 [N], /classes strings,\n"
                  "/masks uint8 [N,H,W] (with --masks).");
  if (!vm) return 0;
  const auto& v = *vm;
  if (!v.count("data")) throw po::error("--data is required");
  if (!v.count("out")) throw po::error("--out is required");
  const std::string split_name = v["split"].as<std::string>();
  if (split_name != "train" && split_name != "test") {
    throw po::error("invalid --split '" + split_name + "': expected train or test");
  }
  const std::string spec = v["data"].as<std::string>(), out = v["out"].as<std::string>();
  const auto options = data::ConvertOptions()
                           .mask_threshold(mask_threshold(v))
                           .source(source_options(v))
                           .hdf5(data::Hdf5WriteOptions()
                                     .chunk_images(v["chunk-images"].as<int64_t>())
                                     .compression(v["compression"].as<int>()));
  // The progress line is drawn on a terminal only; logs get the summary line alone.
  ProgressLine progress(!v["quiet"].as<bool>());
  std::string last;
  const auto result = data::convert_to_hdf5(
      spec, split_name == "train" ? data::Split::Train : data::Split::Test, out, options,
      [&](int64_t done, int64_t total) {
        last = "sslkit convert: " + std::to_string(done) + " / " + std::to_string(total) + " inputs";
        if (progress.interactive()) progress.update(last);
      });
  if (progress.interactive()) progress.update(last, true);
  print_result(result, out);
  return 0;
}

}  // namespace ssl::cli
