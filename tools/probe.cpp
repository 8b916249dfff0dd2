// sslkit probe: evaluation of a checkpoint's frozen encoder (or of a baseline): linear probe, kNN, low-label
// regimes, downstream metrics, and a dense (segmentation) probe.
#include "cli.h"
#include "commands.h"

#include "sslkit/ssl/checkpoint.h"
#include "sslkit/ssl/device.h"
#include "sslkit/ssl/files.h"
#include "sslkit/ssl/json.h"
#include "sslkit/data/sources/feature_file.h"
#include "sslkit/trainers/eval/dense_probe.h"
#include "sslkit/trainers/eval/embed.h"
#include "sslkit/trainers/eval/knn.h"
#include "sslkit/trainers/eval/probe.h"
#include "sslkit/trainers/eval/scores.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace ssl::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<double> parse_fractions(const std::string& text) {
  std::vector<double> fractions;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    size_t used = 0;
    double f = -1;
    try {
      f = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || !(f > 0 && f <= 1)) {
      throw po::error("invalid --label-fraction '" + text + "': expected fractions in (0, 1] separated by commas");
    }
    fractions.push_back(f);
  }
  if (fractions.empty()) throw po::error("--label-fraction is empty: expected fractions in (0, 1] separated by commas");
  return fractions;
}

std::vector<std::string> class_names(const std::string& data_spec, int64_t classes) {
  if (data_spec != "fashion-mnist" || classes != 10) return {};
  return {"t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"};
}

/// One low-label row: the probe on a class-balanced subset of the training split.
struct FractionResult {
  double fraction;
  int64_t train_size;
  eval::LinearProbeResult probe;
  eval::ClassificationScores scores;
  double knn = -1;
};

std::string fraction_json(const FractionResult& r) {
  JsonObject o;
  o.add("fraction", r.fraction).add("train_size", r.train_size).add("test_accuracy", r.scores.top1)
      .add("top5_accuracy", r.scores.top5).add("balanced_accuracy", r.scores.balanced_accuracy)
      .add("validation_accuracy", r.probe.validation_accuracy).add("weight_decay", r.probe.weight_decay);
  if (r.knn >= 0) o.add("knn_accuracy", r.knn);
  return o.str();
}

}  // namespace

int probe_main(int argc, char** argv) {
  const eval::LinearProbeOptions defaults;
  const eval::AugmentedProbeOptions sgd_defaults;
  const eval::DenseProbeOptions dense_defaults;
  po::options_description description("sslkit probe options");
  description.add_options()
      ("checkpoint", po::value<std::string>(), "checkpoint file or run directory (holding checkpoint.pt); with a "
       "directory the JSON result is also saved there (probe.json, probe-<baseline>.json, probe-segmentation.json)")
      ("features", po::value<std::string>()->default_value("encoder"),
       "encoder (the checkpoint's frozen encoder) | raw (normalized pixels) | random-init (a freshly initialized "
       "encoder of the checkpoint's architecture, or of --encoder, seeded by --seed)")
      ("train-features", po::value<std::string>(),
       "stored features (an .h5 file of sslkit embed: /features float32 [N,D], /labels) to fit on, instead of "
       "--checkpoint and --data; needs --test-features")
      ("test-features", po::value<std::string>(), "stored features to score (with --train-features)")
      ("encoder", po::value<std::string>()->default_value(ssl::kDefaultEncoder),
       "architecture of --features random-init when no checkpoint is given")
      ("task", po::value<std::string>()->default_value("classification"),
       "classification | segmentation (per-pixel foreground/background probe on the upsampled feature map)")
      ("protocol", po::value<std::string>()->default_value("lbfgs"),
       "lbfgs (logistic regression on fixed features) | sgd-augment (SimCLR paper: Nesterov SGD on cropped and "
       "flipped views through the frozen encoder)")
      ("data", po::value<std::string>(), "data spec (default: the checkpoint's, else fashion-mnist)")
      ("test-data", po::value<std::string>(),
       "test images as their own spec (default: the test split of --data; needed when --data is an .h5 file "
       "or an image folder without train/ and test/)")
      ("max-train", po::value<int64_t>()->default_value(0), "use the first N training images only (0: all)")
      ("label-fraction", po::value<std::string>()->default_value("1"),
       "comma-separated fractions of the training labels, e.g. 0.01,0.1,1 (class-balanced subsets seeded by "
       "--seed; one result row each)")
      ("validation-size", po::value<int64_t>()->default_value(defaults.validation_size()),
       "training images held out to choose the L2 weight (at most 20% of the (sub)set)")
      ("max-iterations", po::value<int64_t>()->default_value(defaults.max_iterations()), "L-BFGS iterations per fit")
      ("batch-size", po::value<int64_t>()->default_value(256), "feature-extraction batch size")
      ("knn-k", po::value<int64_t>()->default_value(200), "neighbours of the kNN classifier (0: skip kNN)")
      ("knn-temperature", po::value<double>()->default_value(0.1), "temperature of the kNN vote weights")
      ("sgd-epochs", po::value<int64_t>()->default_value(sgd_defaults.epochs()), "sgd-augment: epochs")
      ("sgd-lr", po::value<double>()->default_value(sgd_defaults.learning_rate()), "sgd-augment: peak learning rate")
      ("sgd-batch-size", po::value<int64_t>()->default_value(sgd_defaults.batch_size()), "sgd-augment: batch size")
      ("mask-threshold", po::value<int64_t>()->default_value(25),
       "segmentation on data without masks: foreground = pixel value > this (0..255)")
      ("seg-train-images", po::value<int64_t>()->default_value(dense_defaults.max_train_images()),
       "segmentation: training images whose pixels fit the probe")
      ("seg-pixels-per-image", po::value<int64_t>()->default_value(dense_defaults.pixels_per_image()),
       "segmentation: pixels drawn per training image")
      ("out", po::value<std::string>(), "folder for confusion.csv and confusion.png (created if needed)")
      ("json", po::bool_switch(), "print the result as one JSON object");
  add_source_options(description);
  add_common_options(description);
  auto vm = parse(description, argc, argv,
                  "usage: sslkit probe --checkpoint RUN_DIR|FILE [options]\n"
                  "       sslkit probe --features raw|random-init [options]\n"
                  "       sslkit probe --train-features TRAIN.h5 --test-features TEST.h5 [options]\n"
                  "Linear probe: logistic regression on frozen, standardized features; reports test top-1, top-5,\n"
                  "balanced accuracy and kNN; --label-fraction for low-label regimes; --task segmentation for the\n"
                  "dense probe (PA, MPA, mIoU).");
  if (!vm) return 0;
  apply_threads(*vm);
  const auto& v = *vm;
  const bool stored = v.count("train-features") || v.count("test-features");
  if (stored) {
    if (!v.count("train-features") || !v.count("test-features")) {
      throw po::error("--train-features and --test-features go together");
    }
    for (const char* other : {"checkpoint", "data", "test-data", "max-train"}) {
      if (v.count(other) && !v[other].defaulted()) {
        throw po::error(std::string("--") + other + " does not apply to stored features (--train-features)");
      }
    }
    if (!v["features"].defaulted() || !v["task"].defaulted() || !v["protocol"].defaulted()) {
      throw po::error("stored features (--train-features) take --task classification and --protocol lbfgs only, "
                      "and no --features");
    }
  }
  const std::string features = v["features"].as<std::string>(), task = v["task"].as<std::string>(),
                    protocol = v["protocol"].as<std::string>();
  if (features != "encoder" && features != "raw" && features != "random-init") {
    throw po::error("invalid --features '" + features + "': expected encoder, raw or random-init");
  }
  if (task != "classification" && task != "segmentation") {
    throw po::error("invalid --task '" + task + "': expected classification or segmentation");
  }
  if (protocol != "lbfgs" && protocol != "sgd-augment") {
    throw po::error("invalid --protocol '" + protocol + "': expected lbfgs or sgd-augment");
  }
  if (protocol == "sgd-augment" && (features == "raw" || task == "segmentation")) {
    throw po::error("--protocol sgd-augment needs an encoder (--features encoder or random-init) and --task classification");
  }
  const auto fractions = parse_fractions(v["label-fraction"].as<std::string>());
  if (task == "segmentation" && (fractions.size() != 1 || fractions[0] != 1.0)) {
    throw po::error("--label-fraction applies to --task classification only");
  }
  const int64_t threshold = v["mask-threshold"].as<int64_t>();
  if (threshold < 0 || threshold > 255) throw po::error("--mask-threshold must be in 0..255, got " + std::to_string(threshold));
  const uint64_t seed = v["seed"].as<uint64_t>();
  const auto start = Clock::now();
  const std::string out_dir = v.count("out") ? v["out"].as<std::string>() : "";
  const bool as_json = v["json"].as<bool>();
  JsonObject json;

  // What the classification rows below need: features and labels of both splits, and for sgd-augment the
  // images and the encoder.
  torch::Tensor train_features, test_features, train_labels, test_labels;
  double extraction_seconds = -1;  // < 0: nothing was extracted
  std::string data_spec = "fashion-mnist", described, run_dir;
  data::ImageSet train, test;
  eval::FeatureModel model;
  torch::Device device = torch::kCPU;
  std::string suffix;

  if (stored) {
    const auto train_file = data::read_feature_file(v["train-features"].as<std::string>(), true);
    const auto test_file = data::read_feature_file(v["test-features"].as<std::string>(), true);
    data::check_same_width(train_file, test_file);
    train_features = train_file.features;
    test_features = test_file.features;
    train_labels = train_file.labels;
    test_labels = test_file.labels;
    const auto& meta = train_file.attributes.text;
    data_spec = meta.count("data") ? meta.at("data") : train_file.path;
    described = meta.count("model") ? meta.at("model") : "stored features";
    json.add("task", task).add("features", "stored").add("protocol", protocol).add("model", described)
        .add("data", data_spec).add("train_features", train_file.path).add("test_features", test_file.path);
  } else {
    if (features == "encoder" && !v.count("checkpoint")) {
      throw po::error("--checkpoint is required with --features encoder");
    }
    const auto input = checkpoint_and_data(v);
    const auto& checkpoint = input.checkpoint;
    const auto& source_options = input.source;
    run_dir = input.run_dir;
    data_spec = input.data_spec;
    train = data::materialize(*data::head(data::open_source(data_spec, data::Split::Train, source_options),
                                          v["max-train"].as<int64_t>()));
    test = v.count("test-data")
               ? data::materialize(*data::open_test_source(v["test-data"].as<std::string>(), source_options))
               : data::materialize(*data::open_source(data_spec, data::Split::Test, source_options));
    TORCH_CHECK(train.labelled() && test.labelled(), "the linear probe needs labels: data '",
                train.labelled() ? test.origin : train.origin, "' has none");
    TORCH_CHECK(train.height() == test.height() && train.width() == test.width() &&
                    train.channels() == test.channels(),
                "train images are ", train.height(), "x", train.width(), "x", train.channels(), " but test images are ",
                test.height(), "x", test.width(), "x", test.channels());
    device = resolve_device(v["device"].as<std::string>());
    model = eval::make_feature_model(features, checkpoint, input.checkpoint_path, v["encoder"].as<std::string>(),
                                         data::MemorySource(train), seed);
    described = model.described;
    json.add("task", task).add("features", features).add("protocol", protocol).add("model", described).add("data", data_spec);
    if (checkpoint) json.add("checkpoint", input.checkpoint_path);
    train_labels = train.labels;
    test_labels = test.labels;
  }
  if (!out_dir.empty()) ensure_directory(out_dir);
  json.add("train_size", train_labels.size(0)).add("test_size", test_labels.size(0));
  suffix = task == "segmentation" ? "-segmentation" : "";
  if (features != "encoder") suffix += "-" + features;
  if (protocol != "lbfgs") suffix += "-" + protocol;
  const auto& norm = model.norm;
  Encoder encoder = model.encoder;

  if (task == "segmentation") {
    // Masks: the data set's own when it carries them, else foreground = pixel > threshold.
    const bool own_masks = train.masks.defined() && test.masks.defined();
    const auto train_masks = own_masks ? train.masks : eval::threshold_masks(train.images, threshold);
    const auto test_masks = own_masks ? test.masks : eval::threshold_masks(test.images, threshold);
    if (encoder) {
      encoder->eval();
      encoder->to(device);
    }
    const auto result = eval::dense_probe(
        encoder ? eval::encoder_dense_features(*encoder) : eval::raw_dense_features(), train.images,
        train_masks, test.images, test_masks, norm, device,
        eval::DenseProbeOptions()
            .max_train_images(v["seg-train-images"].as<int64_t>())
            .pixels_per_image(v["seg-pixels-per-image"].as<int64_t>())
            .batch_size(std::max<int64_t>(1, v["batch-size"].as<int64_t>() / 5))
            .seed(seed)
            .linear(eval::LinearProbeOptions()
                        .validation_size(v["validation-size"].as<int64_t>())
                        .max_iterations(v["max-iterations"].as<int64_t>())
                        .seed(seed)));
    const double seconds = seconds_since(start);
    const std::string masks = own_masks ? "the data's masks" : "mask = pixel > " + std::to_string(threshold);
    if (!out_dir.empty()) {
      write_file_atomic(out_dir + "/confusion.csv", eval::confusion_csv(result.confusion, {"background", "foreground"}));
      eval::write_confusion_png(result.confusion, {"background", "foreground"}, out_dir + "/confusion.png");
    }
    json.add("masks", masks).add("feature_dim", result.feature_dim).add("train_pixels", result.train_pixels)
        .add("weight_decay", result.weight_decay).add("pixel_accuracy", result.scores.pixel_accuracy)
        .add("mean_pixel_accuracy", result.scores.mean_pixel_accuracy).add("mean_iou", result.scores.mean_iou)
        .add_raw("iou", eval::json_array(result.scores.iou))
        .add_raw("confusion_matrix", eval::json_matrix(result.confusion)).add("seconds", seconds);
    if (as_json) {
      std::printf("%s\n", json.str().c_str());
    } else {
      std::printf("segmentation probe on %s (%lld-d per pixel, %s, %lld training pixels, L2 %g): test PA %.2f%%  "
                  "MPA %.2f%%  mIoU %.2f%%  (%.0f s)\n",
                  described.c_str(), static_cast<long long>(result.feature_dim), masks.c_str(),
                  static_cast<long long>(result.train_pixels), result.weight_decay,
                  100 * result.scores.pixel_accuracy, 100 * result.scores.mean_pixel_accuracy,
                  100 * result.scores.mean_iou, seconds);
    }
    if (!run_dir.empty()) write_file_atomic(run_dir + "/probe" + suffix + ".json", json.str() + "\n");
    return 0;
  }

  if (!stored) {
    const auto extraction_start = Clock::now();
    const int64_t batch = v["batch-size"].as<int64_t>();
    train_features = model(train.images, device, batch);
    test_features = model(test.images, device, batch);
    if (encoder) extraction_seconds = seconds_since(extraction_start);
  }
  const int64_t knn_k = v["knn-k"].as<int64_t>();
  const auto knn_options = eval::KnnOptions().k(knn_k).temperature(v["knn-temperature"].as<double>());
  const auto probe_options = eval::LinearProbeOptions()
                                 .validation_size(v["validation-size"].as<int64_t>())
                                 .max_iterations(v["max-iterations"].as<int64_t>())
                                 .seed(seed);
  std::vector<FractionResult> rows;
  for (const double fraction : fractions) {
    FractionResult row{fraction, 0, {}, {}, -1};
    const auto subset = eval::class_balanced_subset(train_labels, fraction, seed);
    row.train_size = subset.size(0);
    const auto x = train_features.index_select(0, subset), y = train_labels.index_select(0, subset);
    if (protocol == "sgd-augment") {
      data::ImageSet part = train;
      part.images = train.images.index_select(0, subset).contiguous();
      part.labels = y;
      row.probe = eval::augmented_linear_probe(*encoder, part, test, norm, device,
                                                   eval::AugmentedProbeOptions()
                                                       .epochs(v["sgd-epochs"].as<int64_t>())
                                                       .learning_rate(v["sgd-lr"].as<double>())
                                                       .batch_size(v["sgd-batch-size"].as<int64_t>())
                                                       .seed(seed));
    } else {
      row.probe = eval::linear_probe(x, y, test_features, test_labels, probe_options);
    }
    row.scores = eval::classification_scores(row.probe.test_logits, test_labels);
    if (knn_k > 0) row.knn = eval::knn_accuracy(x, y, test_features, test_labels, knn_options);
    rows.push_back(row);
  }
  const double seconds = seconds_since(start);

  // The headline numbers are those of the largest fraction (all labels by default).
  const FractionResult& headline = *std::max_element(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.fraction < b.fraction;
  });
  const auto names = class_names(data_spec, headline.scores.confusion.size(0));
  if (!out_dir.empty()) {
    write_file_atomic(out_dir + "/confusion.csv", eval::confusion_csv(headline.scores.confusion, names));
    eval::write_confusion_png(headline.scores.confusion, names, out_dir + "/confusion.png");
  }
  json.add("feature_dim", headline.probe.feature_dim).add("label_fraction", headline.fraction)
      .add("test_accuracy", headline.scores.top1).add("top5_accuracy", headline.scores.top5)
      .add("balanced_accuracy", headline.scores.balanced_accuracy)
      .add("validation_accuracy", headline.probe.validation_accuracy).add("weight_decay", headline.probe.weight_decay);
  if (knn_k > 0) json.add("knn_accuracy", headline.knn).add("knn_k", knn_k);
  if (extraction_seconds >= 0) {
    json.add("extraction_seconds", extraction_seconds)
        .add("extraction_images_per_second",
             static_cast<double>(train.size() + test.size()) / std::max(extraction_seconds, 1e-9));
  }
  json.add_raw("per_class_accuracy", eval::json_array(headline.scores.per_class_accuracy))
      .add_raw("confusion_matrix", eval::json_matrix(headline.scores.confusion));
  std::string fraction_rows;
  for (const auto& row : rows) fraction_rows += (fraction_rows.empty() ? "" : ",") + fraction_json(row);
  json.add_raw("label_fractions", "[" + fraction_rows + "]").add("seconds", seconds);

  if (as_json) {
    std::printf("%s\n", json.str().c_str());
  } else {
    char how[96];
    if (protocol == "sgd-augment") {
      std::snprintf(how, sizeof how, "Nesterov SGD on augmented views, %lld epochs",
                    static_cast<long long>(v["sgd-epochs"].as<int64_t>()));
    } else {
      std::snprintf(how, sizeof how, "L2 %g chosen on held-out, val %.2f%%", headline.probe.weight_decay,
                    100 * headline.probe.validation_accuracy);
    }
    std::printf("linear probe on %s (%lld-d, %lld train / %lld test): test top-1 %.2f%%  (%s, %.0f s)\n",
                described.c_str(), static_cast<long long>(headline.probe.feature_dim),
                static_cast<long long>(headline.train_size), static_cast<long long>(test_labels.size(0)), 100 * headline.scores.top1,
                how, seconds);
    std::printf("top-5 %.2f%%  balanced accuracy %.2f%%  per class:", 100 * headline.scores.top5,
                100 * headline.scores.balanced_accuracy);
    for (size_t k = 0; k < headline.scores.per_class_accuracy.size(); ++k) {
      std::printf(" %zu:%.1f", k, 100 * headline.scores.per_class_accuracy[k]);
    }
    std::printf("\n");
    if (knn_k > 0) std::printf("kNN (k=%lld, cosine, weighted votes) test top-1 %.2f%%\n", static_cast<long long>(knn_k), 100 * headline.knn);
    if (extraction_seconds >= 0) {
      std::printf("feature extraction: %lld images in %.1f s (%.0f images/s)\n",
                  static_cast<long long>(train.size() + test.size()), extraction_seconds,
                  static_cast<double>(train.size() + test.size()) / std::max(extraction_seconds, 1e-9));
    }
    if (rows.size() > 1 || headline.fraction != 1.0) {
      std::printf("%9s %7s %7s %7s %9s %7s %8s\n", "labels", "train", "top-1", "top-5", "balanced", "kNN", "L2");
      for (const auto& row : rows) {
        std::printf("%8g%% %7lld %6.2f%% %6.2f%% %8.2f%% %6.2f%% %8g\n", 100 * row.fraction,
                    static_cast<long long>(row.train_size), 100 * row.scores.top1, 100 * row.scores.top5,
                    100 * row.scores.balanced_accuracy, 100 * row.knn, row.probe.weight_decay);
      }
    }
  }
  if (!run_dir.empty()) write_file_atomic(run_dir + "/probe" + suffix + ".json", json.str() + "\n");
  return 0;
}

}  // namespace ssl::cli
