// sslkit probe: linear probe of a checkpoint's frozen encoder, or of raw pixels.
#include "cli.h"
#include "commands.h"

#include "sslkit/ssl/checkpoint.h"
#include "sslkit/ssl/device.h"
#include "sslkit/ssl/json.h"
#include "sslkit/trainers/knn.h"
#include "sslkit/trainers/probe.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

namespace ssl::cli {

int probe_main(int argc, char** argv) {
  const trainers::LinearProbeOptions defaults;
  po::options_description description("sslkit probe options");
  description.add_options()
      ("checkpoint", po::value<std::string>(), "checkpoint file or run directory (holding checkpoint.pt)")
      ("features", po::value<std::string>()->default_value("encoder"),
       "encoder (the checkpoint's frozen encoder) | raw (normalized pixels, the baseline)")
      ("data", po::value<std::string>(), "data spec (default: the checkpoint's, else fashion-mnist)")
      ("test-data", po::value<std::string>(),
       "test images as their own spec (default: the test split of --data; needed when --data is an .h5 file "
       "or an image folder without train/ and test/)")
      ("max-train", po::value<int64_t>()->default_value(0), "use the first N training images only (0: all)")
      ("validation-size", po::value<int64_t>()->default_value(defaults.validation_size()),
       "training images held out to choose the L2 weight")
      ("max-iterations", po::value<int64_t>()->default_value(defaults.max_iterations()), "L-BFGS iterations per fit")
      ("batch-size", po::value<int64_t>()->default_value(1000), "feature-extraction batch size")
      ("knn-k", po::value<int64_t>()->default_value(200), "neighbours of the kNN classifier (0: skip kNN)")
      ("knn-temperature", po::value<double>()->default_value(0.1), "temperature of the kNN vote weights")
      ("json", po::bool_switch(), "print the result as one JSON object");
  add_source_options(description);
  add_common_options(description);
  auto vm = parse(description, argc, argv,
                  "usage: sslkit probe --checkpoint RUN_DIR|FILE [options]\n"
                  "       sslkit probe --features raw [options]\n"
                  "Linear probe: logistic regression on frozen, standardized features; reports test top-1.");
  if (!vm) return 0;
  apply_threads(*vm);
  const auto& v = *vm;
  const std::string features = v["features"].as<std::string>();
  if (features != "encoder" && features != "raw") {
    throw po::error("invalid --features '" + features + "': expected encoder or raw");
  }
  const auto start = std::chrono::steady_clock::now();

  std::optional<Checkpoint> checkpoint;
  std::string checkpoint_path;
  if (features == "encoder") {
    if (!v.count("checkpoint")) throw po::error("--checkpoint is required with --features encoder");
    checkpoint_path = v["checkpoint"].as<std::string>();
    if (std::filesystem::is_directory(checkpoint_path)) {
      checkpoint_path = (std::filesystem::path(checkpoint_path) / "checkpoint.pt").string();
    }
    checkpoint = load_checkpoint(checkpoint_path);
  }
  std::string data_spec = "fashion-mnist";
  if (v.count("data")) {
    data_spec = v["data"].as<std::string>();
  } else if (checkpoint && checkpoint->metadata.count("data")) {
    data_spec = checkpoint->meta("data");
  }
  auto source_options = cli::source_options(v);
  if (checkpoint && source_options.image_size() == 0) source_options.image_size(checkpoint->meta_int("image_size"));
  if (checkpoint && source_options.channels() == 0) source_options.channels(checkpoint->meta_int("in_channels"));
  const auto train = data::materialize(*data::head(data::open_source(data_spec, data::Split::Train, source_options),
                                                   v["max-train"].as<int64_t>()));
  const auto test = v.count("test-data")
                        ? data::materialize(*data::open_test_source(v["test-data"].as<std::string>(), source_options))
                        : data::materialize(*data::open_source(data_spec, data::Split::Test, source_options));
  TORCH_CHECK(train.labelled() && test.labelled(), "the linear probe needs labels: data '",
              train.labelled() ? test.origin : train.origin, "' has none");
  TORCH_CHECK(train.height() == test.height() && train.width() == test.width() &&
                  train.channels() == test.channels(),
              "train images are ", train.height(), "x", train.width(), "x", train.channels(), " but test images are ",
              test.height(), "x", test.width(), "x", test.channels());
  const auto norm = checkpoint && checkpoint->metadata.count("normalization")
                        ? data::parse_normalization(checkpoint->meta("normalization"))
                        : data::compute_normalization(train);

  torch::Tensor train_features, test_features;
  std::string described = "raw pixels";
  if (checkpoint) {
    const torch::Device device = resolve_device(v["device"].as<std::string>());
    TORCH_CHECK(checkpoint->meta_int("in_channels") == train.channels(), "checkpoint '", checkpoint_path,
                "' encodes ", checkpoint->meta_int("in_channels"), "-channel images but data '", data_spec, "' has ",
                train.channels(), " channels");
    Encoder encoder = rebuild_encoder(*checkpoint, "checkpoint '" + checkpoint_path + "'");
    const int64_t batch = v["batch-size"].as<int64_t>();
    train_features = trainers::extract_features(*encoder, train.images, norm, device, batch);
    test_features = trainers::extract_features(*encoder, test.images, norm, device, batch);
    described = checkpoint->metadata.count("method") ? checkpoint->meta("method") + "/" + checkpoint->meta("encoder")
                                                     : checkpoint->meta("encoder");
  } else {
    train_features = trainers::raw_pixel_features(train.images, norm);
    test_features = trainers::raw_pixel_features(test.images, norm);
  }
  const auto result = trainers::linear_probe(
      train_features, train.labels, test_features, test.labels,
      trainers::LinearProbeOptions()
          .validation_size(v["validation-size"].as<int64_t>())
          .max_iterations(v["max-iterations"].as<int64_t>())
          .seed(v["seed"].as<uint64_t>()));
  const int64_t knn_k = v["knn-k"].as<int64_t>();
  const double knn = knn_k > 0 ? trainers::knn_accuracy(train_features, train.labels, test_features, test.labels,
                                                         trainers::KnnOptions().k(knn_k).temperature(
                                                             v["knn-temperature"].as<double>()))
                               : -1.0;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (v["json"].as<bool>()) {
    JsonObject json;
    json.add("features", features).add("model", described).add("data", data_spec);
    if (checkpoint) json.add("checkpoint", checkpoint_path);
    json.add("feature_dim", result.feature_dim)
        .add("train_size", train.size())
        .add("test_size", test.size())
        .add("test_accuracy", result.test_accuracy)
        .add("validation_accuracy", result.validation_accuracy)
        .add("weight_decay", result.weight_decay);
    if (knn_k > 0) json.add("knn_accuracy", knn).add("knn_k", knn_k);
    json.add("seconds", seconds);
    std::printf("%s\n", json.str().c_str());
  } else {
    std::printf("linear probe on %s (%lld-d, %lld train / %lld test): test top-1 %.2f%%  "
                "(L2 %g chosen on held-out, val %.2f%%, %.0f s)\n",
                described.c_str(), static_cast<long long>(result.feature_dim), static_cast<long long>(train.size()),
                static_cast<long long>(test.size()), 100 * result.test_accuracy, result.weight_decay,
                100 * result.validation_accuracy, seconds);
    if (knn_k > 0) std::printf("kNN (k=%lld, cosine, weighted votes) test top-1 %.2f%%\n", static_cast<long long>(knn_k), 100 * knn);
  }
  return 0;
}

}  // namespace ssl::cli
