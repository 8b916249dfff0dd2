// sslkit embed: frozen-encoder features of a data set, streamed into an HDF5 feature file. Parses and validates
// the flags into ssl::eval::EmbedDataOptions; ssl::eval::embed_data does the rest.
#include "cli.h"
#include "commands.h"

#include "sslkit/ssl/device.h"
#include "sslkit/ssl/progress.h"
#include "sslkit/trainers/eval/embed.h"

#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace ssl::cli {
namespace {

po::options_description embed_description() {
  po::options_description description("sslkit embed options");
  description.add_options()
      ("checkpoint", po::value<std::string>(), "checkpoint file or run directory (holding checkpoint.pt)")
      ("features", po::value<std::string>()->default_value("encoder"),
       "encoder (the checkpoint's frozen encoder) | raw (normalized pixels) | random-init (a fresh encoder of the "
       "checkpoint's architecture, or of --encoder, seeded by --seed)")
      ("encoder", po::value<std::string>()->default_value(ssl::kDefaultEncoder),
       "architecture of --features random-init when no checkpoint is given")
      ("data", po::value<std::string>(), "data spec (default: the checkpoint's, else fashion-mnist)")
      ("split", po::value<std::string>()->default_value("train"),
       "train | test | all (train rows, then test rows); an .h5 data file is one split: train")
      ("out", po::value<std::string>(), "feature file to write (.h5)")
      ("batch-size", po::value<int64_t>()->default_value(eval::EmbedOptions().batch_size()),
       "images read, encoded and written at a time")
      ("quiet,q", po::bool_switch(), "no progress line");
  add_weights_option(description);
  add_source_options(description);
  add_common_options(description);
  return description;
}

// The flags' checks in the order users meet them, then the values as embedding options.
eval::EmbedDataOptions embed_options(const po::variables_map& v) {
  using eval::Features;
  if (!data::built_with_hdf5()) {
    throw std::runtime_error("sslkit embed writes HDF5: this sslkit was built without HDF5 support "
                             "(configure with -DSSLKIT_WITH_HDF5=ON)");
  }
  if (!v.count("out")) throw po::error("--out is required");
  const std::string out = v["out"].as<std::string>();
  const std::string extension = std::filesystem::path(out).extension().string();
  if (extension != ".h5" && extension != ".hdf5") throw po::error("--out '" + out + "' must be an .h5 file");
  const auto split = parse_choice(v, "split", {eval::EmbedSplit::Train, eval::EmbedSplit::Test, eval::EmbedSplit::All});
  const auto features = parse_choice(v, "features", {Features::Encoder, Features::Raw, Features::RandomInit});
  if (features == Features::Encoder && !v.count("checkpoint")) {
    throw po::error("--checkpoint is required with --features encoder");
  }
  if (features != Features::Encoder && !v["weights"].defaulted()) {
    throw po::error("--weights applies to --features encoder only");
  }
  const int64_t batch_size = v["batch-size"].as<int64_t>();
  if (batch_size <= 0) throw po::error("--batch-size must be > 0, got " + std::to_string(batch_size));
  apply_threads(v);
  const auto device = resolve_device(v["device"].as<std::string>());
  return eval::EmbedDataOptions()
      .features(features)
      .checkpoint(v.count("checkpoint") ? v["checkpoint"].as<std::string>() : "")
      .weights(v["weights"].as<std::string>())
      .encoder(v["encoder"].as<std::string>())
      .data(v.count("data") ? v["data"].as<std::string>() : "")
      .source(source_options(v))
      .split(split)
      .out(out)
      .embed(eval::EmbedOptions().batch_size(batch_size).device(device))
      .seed(v["seed"].as<uint64_t>());
}

}  // namespace

int embed_main(int argc, char** argv) {
  auto vm = parse(embed_description(), argc, argv,
                  "usage: sslkit embed --checkpoint RUN_DIR|FILE --out FEATURES.h5 [--data SPEC] [--split train|test|all]\n"
                  "Writes frozen-encoder features: /features float32 [N,D], /labels int64 [N], the encoder metadata as\n"
                  "attributes. sslkit probe --train-features A.h5 --test-features B.h5 probes them.");
  if (!vm) return 0;
  const auto options = embed_options(*vm);
  ProgressLine progress(!(*vm)["quiet"].as<bool>());
  std::string last;
  const auto result = eval::embed_data(options, [&](int64_t done, int64_t total) {
    last = "sslkit embed: " + std::to_string(done) + " / " + std::to_string(total) + " images";
    if (progress.interactive()) progress.update(last);
  });
  if (progress.interactive()) progress.update(last, true);
  std::printf("%s", eval::format_embed_summary(result).c_str());
  return 0;
}

}  // namespace ssl::cli
