// sslkit probe: evaluation of a checkpoint's frozen encoder (or of a baseline): linear probe, kNN, low-label
// regimes, downstream metrics, and a dense (segmentation) probe. Parses and validates the flags into
// ssl::eval::EvalOptions; ssl::eval::evaluate does the rest.
#include "cli.h"
#include "commands.h"

#include "sslkit/ssl/device.h"
#include "sslkit/trainers/eval/evaluate.h"

#include <cstdio>
#include <sstream>

namespace ssl::cli {
namespace {

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

// The options of the protocols that train a head on augmented views: sgd-augment and finetune.
void add_head_training_options(po::options_description& description, const eval::EvalOptions& defaults) {
  description.add_options()
      ("sgd-epochs", po::value<int64_t>()->default_value(defaults.sgd_epochs()), "sgd-augment: epochs")
      ("sgd-lr", real(defaults.sgd_learning_rate()), "sgd-augment: peak learning rate")
      ("sgd-batch-size", po::value<int64_t>()->default_value(defaults.sgd_batch_size()),
       "sgd-augment and finetune: batch size")
      ("finetune-epochs", po::value<int64_t>()->default_value(defaults.finetune_epochs()),
       "finetune: epochs (0: min(60, max(10, ceil(360000 / labelled images))): 60 at 1% and 10% of "
       "Fashion-MNIST, 10 at 100%)")
      ("finetune-lr", real(defaults.finetune_learning_rate()), "finetune: peak learning rate of the head")
      ("finetune-encoder-lr-scale", real(defaults.finetune_encoder_lr_scale()),
       "finetune: the encoder's learning rate as a multiple of --finetune-lr")
      ("finetune-crop-scale-min", real(defaults.finetune_crop_scale_min()),
       "finetune: smallest crop area of the training views, as a fraction of the image (0 < s <= 1)")
      ("finetune-head", po::value<std::string>()->default_value(defaults.finetune_linear_probe_first() ? "probe" : "zero"),
       "finetune: the head to start from: probe (the frozen encoder's linear probe, then fine-tuning: LP-FT) | "
       "zero (a zero head behind a BatchNorm)")
      ("finetune-batch-norm", po::value<std::string>()->default_value(defaults.finetune_freeze_batch_norm() ? "frozen" : "train"),
       "finetune: the encoder's BatchNorm statistics: frozen (kept as pretrained) | train (re-estimated on the "
       "labelled views; always so with --features random-init)");
}

po::options_description probe_description() {
  const eval::EvalOptions defaults;
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
       "classification | segmentation (per-pixel foreground/background probe on the upsampled feature map) | "
       "retrieval (each test image ranks the training images by cosine similarity: mAP@R, mAP, precision@k) | map "
       "(PCA of the test images' features and t-SNE of a subset, as JSON and scatter PNGs)")
      ("protocol", po::value<std::string>()->default_value("lbfgs"),
       "lbfgs (logistic regression on fixed features) | sgd-augment (SimCLR paper: Nesterov SGD on cropped and "
       "flipped views through the frozen encoder) | finetune (the encoder and a head started from the linear probe "
       "trained end to end on such views, the encoder at a smaller learning rate; no kNN)")
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
      ("batch-size", po::value<int64_t>()->default_value(defaults.batch_size()), "feature-extraction batch size")
      ("knn-k", po::value<int64_t>()->default_value(defaults.knn_k()), "neighbours of the kNN classifier (0: skip kNN)")
      ("knn-temperature", real(defaults.knn_temperature()), "temperature of the kNN vote weights")
      ("mask-threshold", po::value<int64_t>()->default_value(defaults.mask_threshold()),
       "segmentation on data without masks: foreground = pixel value > this (0..255)")
      ("seg-train-images", po::value<int64_t>()->default_value(defaults.seg_train_images()),
       "segmentation: training images whose pixels fit the probe")
      ("seg-pixels-per-image", po::value<int64_t>()->default_value(defaults.seg_pixels_per_image()),
       "segmentation: pixels drawn per training image")
      ("precision-at", po::value<std::string>()->default_value("1,10,100"), "retrieval: the precision@k cut-offs")
      ("tsne-points", po::value<int64_t>()->default_value(eval::EmbeddingMapOptions().tsne_points()),
       "map: test images in the t-SNE map, drawn by --seed (0: PCA only; time grows as its square)")
      ("out", po::value<std::string>(), "folder for confusion.csv and confusion.png, or a map's PNGs (created if needed)")
      ("json", po::bool_switch(), "print the result as one JSON object");
  add_head_training_options(description, defaults);
  add_weights_option(description);
  add_source_options(description);
  add_common_options(description);
  return description;
}

// Stored features (--train-features) come as a pair and take none of the image options.
void check_stored_flags(const po::variables_map& v) {
  if (!v.count("train-features") || !v.count("test-features")) {
    throw po::error("--train-features and --test-features go together");
  }
  for (const char* other : {"checkpoint", "weights", "data", "test-data", "max-train"}) {
    if (v.count(other) && !v[other].defaulted()) {
      throw po::error(std::string("--") + other + " does not apply to stored features (--train-features)");
    }
  }
  if (!v["features"].defaulted() || v["task"].as<std::string>() == "segmentation" || !v["protocol"].defaulted()) {
    throw po::error("stored features (--train-features) take --task classification, retrieval or map and "
                    "--protocol lbfgs only, and no --features");
  }
}

// The --finetune-* flags, checked, into `options`.
void set_finetune_flags(const po::variables_map& v, eval::EvalOptions& options) {
  const std::string head = v["finetune-head"].as<std::string>();
  if (head != "probe" && head != "zero") {
    throw po::error("unknown --finetune-head '" + head + "': expected probe or zero");
  }
  const std::string batch_norm = v["finetune-batch-norm"].as<std::string>();
  if (batch_norm != "frozen" && batch_norm != "train") {
    throw po::error("unknown --finetune-batch-norm '" + batch_norm + "': expected frozen or train");
  }
  options.finetune_epochs(v["finetune-epochs"].as<int64_t>())
      .finetune_learning_rate(v["finetune-lr"].as<double>())
      .finetune_encoder_lr_scale(v["finetune-encoder-lr-scale"].as<double>())
      .finetune_crop_scale_min(v["finetune-crop-scale-min"].as<double>())
      .finetune_linear_probe_first(head == "probe")
      .finetune_freeze_batch_norm(batch_norm == "frozen");
}

// The flags' checks in the order users meet them, then the values as evaluation options.
eval::EvalOptions probe_options(const po::variables_map& v) {
  using eval::Features, eval::Protocol, eval::Task;
  const bool stored = v.count("train-features") || v.count("test-features");
  if (stored) check_stored_flags(v);
  const auto features = parse_choice(v, "features", {Features::Encoder, Features::Raw, Features::RandomInit});
  const auto task = parse_choice(v, "task", {Task::Classification, Task::Segmentation, Task::Retrieval, Task::Map});
  const auto protocol = parse_choice(v, "protocol", {Protocol::Lbfgs, Protocol::SgdAugment, Protocol::FineTune});
  if (protocol != Protocol::Lbfgs && (features == Features::Raw || task != Task::Classification)) {
    throw po::error("--protocol " + eval::to_string(protocol) +
                    " needs an encoder (--features encoder or random-init) and --task classification");
  }
  const auto fractions = parse_fractions(v["label-fraction"].as<std::string>());
  if (task != Task::Classification && (fractions.size() != 1 || fractions[0] != 1.0)) {
    throw po::error("--label-fraction applies to --task classification only");
  }
  const int64_t tsne_points = v["tsne-points"].as<int64_t>();
  if (tsne_points < 0) throw po::error("--tsne-points must be >= 0 (0: no t-SNE), got " + std::to_string(tsne_points));
  const int64_t threshold = v["mask-threshold"].as<int64_t>();
  if (threshold < 0 || threshold > 255) throw po::error("--mask-threshold must be in 0..255, got " + std::to_string(threshold));
  auto options = eval::EvalOptions()
                     .task(task)
                     .protocol(protocol)
                     .features(stored ? Features::Stored : features)
                     .label_fractions(fractions)
                     .mask_threshold(threshold)
                     .validation_size(v["validation-size"].as<int64_t>())
                     .max_iterations(v["max-iterations"].as<int64_t>())
                     .batch_size(v["batch-size"].as<int64_t>())
                     .knn_k(v["knn-k"].as<int64_t>())
                     .knn_temperature(v["knn-temperature"].as<double>())
                     .sgd_epochs(v["sgd-epochs"].as<int64_t>())
                     .sgd_learning_rate(v["sgd-lr"].as<double>())
                     .sgd_batch_size(v["sgd-batch-size"].as<int64_t>())
                     .seg_train_images(v["seg-train-images"].as<int64_t>())
                     .seg_pixels_per_image(v["seg-pixels-per-image"].as<int64_t>())
                     .retrieval(eval::RetrievalOptions().precision_at(
                         parse_list<int64_t>(v["precision-at"].as<std::string>(), "--precision-at")))
                     .map(eval::EmbeddingMapOptions().tsne_points(tsne_points).seed(v["seed"].as<uint64_t>()))
                     .out_dir(v.count("out") ? v["out"].as<std::string>() : "")
                     .seed(v["seed"].as<uint64_t>());
  set_finetune_flags(v, options);
  if (stored) {
    return options.train_features(v["train-features"].as<std::string>())
        .test_features(v["test-features"].as<std::string>());
  }
  if (features == Features::Encoder && !v.count("checkpoint")) {
    throw po::error("--checkpoint is required with --features encoder");
  }
  if (features != Features::Encoder && !v["weights"].defaulted()) {
    throw po::error("--weights applies to --features encoder only");
  }
  return options.checkpoint(v.count("checkpoint") ? v["checkpoint"].as<std::string>() : "")
      .weights(v["weights"].as<std::string>())
      .encoder(v["encoder"].as<std::string>())
      .data(v.count("data") ? v["data"].as<std::string>() : "")
      .test_data(v.count("test-data") ? v["test-data"].as<std::string>() : "")
      .max_train(v["max-train"].as<int64_t>())
      .source(source_options(v))
      .device(resolve_device(v["device"].as<std::string>()));
}

}  // namespace

int probe_main(int argc, char** argv) {
  auto vm = parse(probe_description(), argc, argv,
                  "usage: sslkit probe --checkpoint RUN_DIR|FILE [options]\n"
                  "       sslkit probe --features raw|random-init [options]\n"
                  "       sslkit probe --train-features TRAIN.h5 --test-features TEST.h5 [options]\n"
                  "Linear probe: logistic regression on frozen, standardized features; reports test top-1, top-5,\n"
                  "balanced accuracy and kNN; --label-fraction for low-label regimes; --protocol finetune trains the\n"
                  "encoder too; --task segmentation for the dense probe (PA, MPA, mIoU); --task retrieval for mAP;\n"
                  "--task map for a 2-D map of the embedding (PCA and t-SNE).");
  if (!vm) return 0;
  apply_threads(*vm);
  const auto result = eval::evaluate(probe_options(*vm));
  if ((*vm)["json"].as<bool>()) {
    std::printf("%s\n", eval::to_json(result).c_str());
  } else {
    std::printf("%s", eval::to_text(result).c_str());
  }
  return 0;
}

}  // namespace ssl::cli
