// sslkit embed: frozen-encoder features of a data set, streamed into an HDF5 feature file.
#include "cli.h"
#include "commands.h"

#include "sslkit/ssl/checkpoint.h"
#include "sslkit/ssl/device.h"
#include "sslkit/ssl/progress.h"
#include "sslkit/trainers/eval/embed.h"
#include "sslkit/version.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <stdexcept>

namespace ssl::cli {

int embed_main(int argc, char** argv) {
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
      ("batch-size", po::value<int64_t>()->default_value(256), "images read, encoded and written at a time")
      ("quiet,q", po::bool_switch(), "no progress line");
  add_source_options(description);
  add_common_options(description);
  auto vm = parse(description, argc, argv,
                  "usage: sslkit embed --checkpoint RUN_DIR|FILE --out FEATURES.h5 [--data SPEC] [--split train|test|all]\n"
                  "Writes frozen-encoder features: /features float32 [N,D], /labels int64 [N], the encoder metadata as\n"
                  "attributes. sslkit probe --train-features A.h5 --test-features B.h5 probes them.");
  if (!vm) return 0;
  const auto& v = *vm;
  if (!data::built_with_hdf5()) {
    throw std::runtime_error("sslkit embed writes HDF5: this sslkit was built without HDF5 support "
                             "(configure with -DSSLKIT_WITH_HDF5=ON)");
  }
  if (!v.count("out")) throw po::error("--out is required");
  const std::string out = v["out"].as<std::string>(), split = v["split"].as<std::string>(),
                    features = v["features"].as<std::string>();
  const std::string extension = std::filesystem::path(out).extension().string();
  if (extension != ".h5" && extension != ".hdf5") throw po::error("--out '" + out + "' must be an .h5 file");
  if (split != "train" && split != "test" && split != "all") {
    throw po::error("invalid --split '" + split + "': expected train, test or all");
  }
  if (features != "encoder" && features != "raw" && features != "random-init") {
    throw po::error("invalid --features '" + features + "': expected encoder, raw or random-init");
  }
  if (features == "encoder" && !v.count("checkpoint")) throw po::error("--checkpoint is required with --features encoder");
  const int64_t batch_size = v["batch-size"].as<int64_t>();
  if (batch_size <= 0) throw po::error("--batch-size must be > 0, got " + std::to_string(batch_size));
  apply_threads(v);
  const auto device = resolve_device(v["device"].as<std::string>());

  const auto input = checkpoint_and_data(v);
  const auto& checkpoint = input.checkpoint;
  const auto& checkpoint_path = input.checkpoint_path;
  const auto& data_spec = input.data_spec;
  const auto& source_options = input.source;
  // The train split gives the normalization when the checkpoint has none (as sslkit probe).
  const auto train = data::open_source(data_spec, data::Split::Train, source_options);
  std::vector<std::shared_ptr<const data::Source>> parts;
  if (split != "test") parts.push_back(train);
  if (split != "train") parts.push_back(data::open_source(data_spec, data::Split::Test, source_options));
  const auto model = eval::make_feature_model(features, checkpoint, checkpoint_path,
                                                  v["encoder"].as<std::string>(), *train, v["seed"].as<uint64_t>());

  data::FeatureAttributes attributes;
  attributes.text = {{"model", model.described}, {"features", features}, {"data", data_spec}, {"split", split},
                     {"normalization", data::to_string(model.norm)}, {"sslkit_version", SSLKIT_VERSION}};
  if (checkpoint) {
    attributes.text["checkpoint"] = std::filesystem::absolute(checkpoint_path).string();
    for (const char* key : {"method", "encoder"}) {
      if (checkpoint->metadata.count(key)) attributes.text[key] = checkpoint->meta(key);
    }
  } else if (features == "random-init") {
    attributes.text["encoder"] = v["encoder"].as<std::string>();
    attributes.integers["seed"] = static_cast<int64_t>(v["seed"].as<uint64_t>());
  }
  attributes.integers["image_height"] = train->height();
  attributes.integers["image_width"] = train->width();
  attributes.integers["channels"] = train->channels();
  if (split == "all") {
    attributes.integers["train_rows"] = parts[0]->size();
    attributes.integers["test_rows"] = parts[1]->size();
  }

  ProgressLine progress(!v["quiet"].as<bool>());
  std::string last;
  const auto result = eval::embed_to_file(
      model, parts, out, attributes, eval::EmbedOptions().batch_size(batch_size).device(device),
      [&](int64_t done, int64_t total) {
        last = "sslkit embed: " + std::to_string(done) + " / " + std::to_string(total) + " images";
        if (progress.interactive()) progress.update(last);
      });
  if (progress.interactive()) progress.update(last, true);
  std::printf("wrote %lld x %lld features%s of %s (%s, %s) to %s in %.1f s (%.0f images/s)\n",
              static_cast<long long>(result.rows), static_cast<long long>(result.feature_dim),
              result.labelled ? " and labels" : "", model.described.c_str(), data_spec.c_str(), split.c_str(),
              out.c_str(), result.seconds, static_cast<double>(result.rows) / std::max(result.seconds, 1e-9));
  return 0;
}

}  // namespace ssl::cli
