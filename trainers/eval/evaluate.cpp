#include "sslkit/trainers/eval/evaluate.h"

#include "sslkit/data/sources/feature_file.h"
#include "sslkit/ssl/files.h"
#include "sslkit/ssl/json.h"
#include "sslkit/trainers/eval/knn.h"

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>

namespace ssl::eval {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// printf into a std::string.
std::string printf_string(const char* format, ...) {
  va_list args, copy;
  va_start(args, format);
  va_copy(copy, args);
  const int size = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  std::string text(static_cast<size_t>(std::max(size, 0)) + 1, '\0');
  std::vsnprintf(text.data(), text.size(), format, args);
  va_end(args);
  text.resize(text.size() - 1);
  return text;
}

// What the probes need: features and labels of both splits and, unless the features were stored, the images and
// the feature model.
struct Inputs {
  torch::Tensor train_features, test_features, train_labels, test_labels;
  data::ImageSet train, test;
  FeatureModel model;
  // FineTune: the encoder's weights before any fraction fine-tuned it.
  TensorDict initial_encoder;
};

// The numeric options, each against its range.
void check_ranges(const EvalOptions& o) {
  auto at_least = [](const char* name, int64_t value, int64_t low, const char* note) {
    TORCH_CHECK_VALUE(value >= low, name, " must be >= ", low, note, ", got ", value);
  };
  auto positive = [](const char* name, double value) {
    TORCH_CHECK_VALUE(std::isfinite(value) && value > 0, name, " must be finite and > 0, got ", value);
  };
  at_least("max-train", o.max_train(), 0, " (0: all)");
  at_least("validation-size", o.validation_size(), 1, "");
  at_least("max-iterations", o.max_iterations(), 1, "");
  at_least("batch-size", o.batch_size(), 1, "");
  at_least("knn-k", o.knn_k(), 0, " (0: no kNN)");
  positive("knn-temperature", o.knn_temperature());
  at_least("sgd-epochs", o.sgd_epochs(), 1, "");
  positive("sgd-lr", o.sgd_learning_rate());
  at_least("sgd-batch-size", o.sgd_batch_size(), 1, "");
  at_least("finetune-epochs", o.finetune_epochs(), 0, " (0: automatic)");
  positive("finetune-lr", o.finetune_learning_rate());
  positive("finetune-encoder-lr-scale", o.finetune_encoder_lr_scale());
  TORCH_CHECK_VALUE(o.finetune_crop_scale_min() > 0 && o.finetune_crop_scale_min() <= 1,
                    "finetune-crop-scale-min must be in (0, 1], got ", o.finetune_crop_scale_min());
  at_least("seg-train-images", o.seg_train_images(), 1, "");
  at_least("seg-pixels-per-image", o.seg_pixels_per_image(), 1, "");
}

void check_options(const EvalOptions& o) {
  const bool stored = o.features() == Features::Stored;
  TORCH_CHECK(!stored || (!o.train_features().empty() && !o.test_features().empty()),
              "stored features need a train and a test feature file, got '", o.train_features(), "' and '",
              o.test_features(), "'");
  TORCH_CHECK(!stored || (o.task() != Task::Segmentation && o.protocol() == Protocol::Lbfgs),
              "stored features take the classification, retrieval or map task and the lbfgs protocol only, got ",
              to_string(o.task()), " and ", to_string(o.protocol()));
  TORCH_CHECK(o.features() != Features::Encoder || !o.checkpoint().empty(), "the encoder's features need a checkpoint");
  TORCH_CHECK(o.protocol() == Protocol::Lbfgs ||
                  (o.task() == Task::Classification && o.features() != Features::Raw),
              "the ", to_string(o.protocol()), " protocol needs an encoder and the classification task, got ", to_string(o.features()),
              " features and ", to_string(o.task()));
  TORCH_CHECK(!o.label_fractions().empty(), "no label fractions to evaluate");
  for (const double f : o.label_fractions()) TORCH_CHECK(f > 0 && f <= 1, "label fraction must be in (0, 1], got ", f);
  TORCH_CHECK(o.task() == Task::Classification ||
                  (o.label_fractions().size() == 1 && o.label_fractions()[0] == 1.0),
              "label fractions apply to classification only");
  TORCH_CHECK(o.mask_threshold() >= 0 && o.mask_threshold() <= 255, "mask threshold must be in 0..255, got ",
              o.mask_threshold());
  check_ranges(o);
}

Inputs load_stored(const EvalOptions& options, EvalResult& result) {
  const auto train_file = data::read_feature_file(options.train_features(), true);
  const auto test_file = data::read_feature_file(options.test_features(), true);
  data::check_same_width(train_file, test_file);
  const auto& meta = train_file.attributes.text;
  result.data = meta.count("data") ? meta.at("data") : train_file.path;
  result.model = meta.count("model") ? meta.at("model") : "stored features";
  result.train_features = train_file.path;
  result.test_features = test_file.path;
  Inputs in;
  in.train_features = train_file.features;
  in.test_features = test_file.features;
  in.train_labels = train_file.labels;
  in.test_labels = test_file.labels;
  return in;
}

Inputs load_images(const EvalOptions& options, EvalResult& result) {
  const auto input = resolve_model_input(options.checkpoint(), options.weights(), options.data(), options.source());
  result.run_dir = input.run_dir;
  result.data = input.data_spec;
  Inputs in;
  const auto train_source =
      data::head(data::open_source(input.data_spec, data::Split::Train, input.source), options.max_train());
  const auto test_source = data::align_classes(
      !options.test_data().empty() ? data::open_test_source(options.test_data(), input.source)
                                   : data::open_source(input.data_spec, data::Split::Test, input.source),
      *train_source);
  in.train = data::materialize(*train_source);
  in.test = data::materialize(*test_source);
  const auto &train = in.train, &test = in.test;
  TORCH_CHECK(train.labelled() && test.labelled(), "the linear probe needs labels: data '",
              train.labelled() ? test.origin : train.origin, "' has none");
  TORCH_CHECK(train.height() == test.height() && train.width() == test.width() && train.channels() == test.channels(),
              "train images are ", train.height(), "x", train.width(), "x", train.channels(), " but test images are ",
              test.height(), "x", test.width(), "x", test.channels());
  in.model = make_feature_model(options.features(), input.checkpoint, input.checkpoint_path, options.weights(),
                                options.encoder(), data::MemorySource(train), options.seed());
  result.model = in.model.described;
  if (input.checkpoint) result.checkpoint = input.checkpoint_path;
  in.train_labels = train.labels;
  in.test_labels = test.labels;
  return in;
}

LinearProbeOptions linear_options(const EvalOptions& options) {
  return LinearProbeOptions()
      .validation_size(options.validation_size())
      .max_iterations(options.max_iterations())
      .seed(options.seed());
}

void write_confusion(const std::string& out_dir, const torch::Tensor& confusion,
                     const std::vector<std::string>& names) {
  if (out_dir.empty()) return;
  write_file_atomic(out_dir + "/confusion.csv", confusion_csv(confusion, names));
  write_confusion_png(confusion, names, out_dir + "/confusion.png");
}

void run_segmentation(const EvalOptions& options, const Inputs& in, EvalResult& result) {
  // Masks: the data set's own when it carries them, else foreground = pixel > threshold.
  const bool own_masks = in.train.masks.defined() && in.test.masks.defined();
  const auto train_masks = own_masks ? in.train.masks : threshold_masks(in.train.images, options.mask_threshold());
  const auto test_masks = own_masks ? in.test.masks : threshold_masks(in.test.images, options.mask_threshold());
  Encoder encoder = in.model.encoder;
  if (encoder) {
    encoder->eval();
    encoder->to(options.device());
  }
  result.segmentation = dense_probe(
      encoder ? encoder_dense_features(*encoder) : raw_dense_features(), in.train.images, train_masks,
      in.test.images, test_masks, in.model.norm, options.device(),
      DenseProbeOptions()
          .max_train_images(options.seg_train_images())
          .pixels_per_image(options.seg_pixels_per_image())
          .batch_size(std::max<int64_t>(1, options.batch_size() / 5))
          .seed(options.seed())
          .linear(linear_options(options)));
  result.masks = own_masks ? "the data's masks" : "mask = pixel > " + std::to_string(options.mask_threshold());
}

FractionResult fraction_row(const EvalOptions& options, const Inputs& in, double fraction) {
  FractionResult row;
  row.fraction = fraction;
  const auto subset = class_balanced_subset(in.train_labels, fraction, options.seed());
  row.train_size = subset.size(0);
  const auto y = in.train_labels.index_select(0, subset);
  data::ImageSet part = in.train;
  if (options.protocol() != Protocol::Lbfgs) {
    part.images = in.train.images.index_select(0, subset).contiguous();
    part.labels = y;
  }
  EncoderImpl* encoder = in.model.encoder.get();
  if (options.protocol() == Protocol::SgdAugment) {
    row.epochs = options.sgd_epochs();
    row.probe = augmented_linear_probe(*encoder, part, in.test, in.model.norm, options.device(),
                                       AugmentedProbeOptions()
                                           .epochs(row.epochs)
                                           .learning_rate(options.sgd_learning_rate())
                                           .batch_size(options.sgd_batch_size())
                                           .seed(options.seed()));
  } else if (options.protocol() == Protocol::FineTune) {
    load_module_state(*encoder, in.initial_encoder, "fine-tuning");  // every fraction starts from the same weights
    const auto fine_tune_options = FineTuneOptions()
                                       .epochs(options.finetune_epochs())
                                       .learning_rate(options.finetune_learning_rate())
                                       .encoder_lr_scale(options.finetune_encoder_lr_scale())
                                       .crop(data::RandomResizedCropOptions().scale_min(options.finetune_crop_scale_min()))
                                       .linear_probe_first(options.finetune_linear_probe_first())
                                       .freeze_batch_norm(options.finetune_freeze_batch_norm() &&
                                                          options.features() != Features::RandomInit)
                                       .linear_probe(linear_options(options))
                                       .batch_size(options.sgd_batch_size())
                                       .seed(options.seed());
    row.epochs = fine_tune_epochs(fine_tune_options, row.train_size);
    row.probe = fine_tune(*encoder, part, in.test, in.model.norm, options.device(), fine_tune_options);
  } else {
    row.probe = linear_probe(in.train_features.index_select(0, subset), y, in.test_features, in.test_labels,
                             linear_options(options));
  }
  row.scores = classification_scores(row.probe.test_logits, in.test_labels);
  if (options.knn_k() > 0 && options.protocol() != Protocol::FineTune) {
    const auto x = in.train_features.index_select(0, subset);
    row.knn = knn_accuracy(x, y, in.test_features, in.test_labels,
                           KnnOptions().k(options.knn_k()).temperature(options.knn_temperature()));
  }
  return row;
}

// The features of the training split (unless `test_only`) and of the test split, timed when an encoder ran;
// stored features are there already.
void extract_features(const EvalOptions& options, Inputs& in, EvalResult& result, bool test_only = false) {
  if (options.features() == Features::Stored) return;
  const auto extraction_start = Clock::now();
  if (!test_only) in.train_features = in.model(in.train.images, options.device(), options.batch_size());
  in.test_features = in.model(in.test.images, options.device(), options.batch_size());
  if (in.model.encoder) result.extraction_seconds = seconds_since(extraction_start);
}

void run_classification(const EvalOptions& options, Inputs& in, EvalResult& result) {
  if (options.protocol() == Protocol::FineTune) {
    for (const auto& item : module_state(*in.model.encoder)) in.initial_encoder.insert(item.key(), item.value().clone());
  } else {
    extract_features(options, in, result);
  }
  result.knn_k = options.protocol() == Protocol::FineTune ? 0 : options.knn_k();
  for (const double fraction : options.label_fractions()) {
    result.fractions.push_back(fraction_row(options, in, fraction));
  }
  if (options.protocol() == Protocol::FineTune) load_module_state(*in.model.encoder, in.initial_encoder, "fine-tuning");
}

// The test images rank the training images.
void run_retrieval(const EvalOptions& options, Inputs& in, EvalResult& result) {
  extract_features(options, in, result);
  result.retrieval = retrieval(in.train_features, in.train_labels, in.test_features, in.test_labels, options.retrieval());
}

// The test images' features in 2-D, and their scatter PNGs in the run directory and `out_dir`.
void run_map(const EvalOptions& options, Inputs& in, EvalResult& result) {
  extract_features(options, in, result, /*test_only=*/true);
  result.map = embedding_map(in.test_features, in.test_labels, options.map());
  const int64_t classes = std::max<int64_t>(in.train_labels.max().item<int64_t>(), in.test_labels.max().item<int64_t>()) + 1;
  const auto names = data::class_names(result.data, classes);
  std::vector<std::string> dirs;
  for (const auto& dir : {result.run_dir, options.out_dir()})
    if (!dir.empty()) dirs.push_back(dir);
  auto draw = [&](const std::string& projection, const torch::Tensor& points, const torch::Tensor& labels) {
    const std::string title = projection + " of " + result.model + " on " + std::to_string(points.size(0)) + " test images";
    for (const auto& dir : dirs) {
      const std::string path = dir + "/" + map_png_name(projection, result.features);
      write_scatter_png(points, labels, names, title, path);
      result.map_images.push_back(path);
    }
  };
  draw("pca", result.map.pca, result.map.labels);
  if (result.map.tsne.defined() && result.map.tsne.numel() > 0) {
    draw("tsne", result.map.tsne, result.map.labels.index_select(0, result.map.tsne_indices));
  }
}

// [[x, y], ...] of points [N, 2], 4 significant digits.
std::string json_points(const torch::Tensor& points) {
  const auto p = points.to(torch::kCPU, torch::kDouble).contiguous();
  const double* v = p.data_ptr<double>();
  std::string text = "[";
  for (int64_t i = 0; i < p.size(0); ++i) text += printf_string("%s[%.4g,%.4g]", i ? "," : "", v[2 * i], v[2 * i + 1]);
  return text + "]";
}

// [a, b, ...] of an integer vector.
std::string json_integers(const torch::Tensor& values) {
  const auto v = values.to(torch::kCPU, torch::kInt64).contiguous();
  std::string text = "[";
  for (int64_t i = 0; i < v.numel(); ++i) text += (i ? "," : "") + std::to_string(v.data_ptr<int64_t>()[i]);
  return text + "]";
}

void add_retrieval_json(const EvalResult& r, JsonObject& json) {
  const auto& s = r.retrieval;
  json.add("feature_dim", s.feature_dim).add("gallery", s.gallery).add("queries", s.queries)
      .add("queries_without_relevant", s.queries_without_relevant).add("map_at_r", s.map_at_r)
      .add("mean_average_precision", s.mean_average_precision);
  for (const auto& [k, value] : s.precision_at) json.add("precision_at_" + std::to_string(k), value);
  if (r.extraction_seconds >= 0) json.add("extraction_seconds", r.extraction_seconds);
}

void add_map_json(const EvalResult& r, JsonObject& json) {
  const auto& m = r.map;
  const bool tsne = m.tsne.defined() && m.tsne.numel() > 0;
  json.add("points", m.pca.size(0)).add("tsne_points", tsne ? m.tsne.size(0) : int64_t{0})
      .add_raw("labels", json_integers(m.labels)).add_raw("pca", json_points(m.pca));
  if (tsne) json.add_raw("tsne_indices", json_integers(m.tsne_indices)).add_raw("tsne", json_points(m.tsne));
}

std::string retrieval_text(const EvalResult& r) {
  const auto& s = r.retrieval;
  std::string text = printf_string(
      "retrieval on %s (%lld-d, cosine): %lld test queries rank %lld training images: mAP@R %.2f%%  mAP %.2f%% ",
      r.model.c_str(), static_cast<long long>(s.feature_dim), static_cast<long long>(s.queries),
      static_cast<long long>(s.gallery), 100 * s.map_at_r, 100 * s.mean_average_precision);
  for (const auto& [k, value] : s.precision_at) text += printf_string(" P@%lld %.2f%%", static_cast<long long>(k), 100 * value);
  text += printf_string("  (%.0f s)\n", r.seconds);
  if (s.queries_without_relevant > 0) {
    text += printf_string("%lld test queries left out: no training image has their label\n",
                          static_cast<long long>(s.queries_without_relevant));
  }
  return text;
}

std::string map_text(const EvalResult& r) {
  const bool tsne = r.map.tsne.defined() && r.map.tsne.numel() > 0;
  std::string text = printf_string("2-D map of %s on %lld test images: PCA of all, %s  (%.0f s)\n", r.model.c_str(),
                                   static_cast<long long>(r.map.pca.size(0)),
                                   tsne ? printf_string("t-SNE of %lld", static_cast<long long>(r.map.tsne.size(0))).c_str()
                                        : "no t-SNE",
                                   r.seconds);
  for (const auto& path : r.map_images) text += "wrote " + path + "\n";
  return text;
}

std::string fraction_json(const FractionResult& r) {
  JsonObject o;
  o.add("fraction", r.fraction).add("train_size", r.train_size).add("test_accuracy", r.scores.top1)
      .add("top5_accuracy", r.scores.top5).add("balanced_accuracy", r.scores.balanced_accuracy)
      .add("validation_accuracy", r.probe.validation_accuracy).add("weight_decay", r.probe.weight_decay);
  if (r.knn >= 0) o.add("knn_accuracy", r.knn);
  if (r.epochs > 0) o.add("epochs", r.epochs);
  return o.str();
}

double images_per_second(const EvalResult& r) {
  return static_cast<double>(r.train_size + r.test_size) / std::max(r.extraction_seconds, 1e-9);
}

void add_classification_json(const EvalResult& r, JsonObject& json) {
  const FractionResult& top = headline(r);
  json.add("feature_dim", top.probe.feature_dim).add("label_fraction", top.fraction)
      .add("test_accuracy", top.scores.top1).add("top5_accuracy", top.scores.top5)
      .add("balanced_accuracy", top.scores.balanced_accuracy)
      .add("validation_accuracy", top.probe.validation_accuracy).add("weight_decay", top.probe.weight_decay);
  if (r.knn_k > 0) json.add("knn_accuracy", top.knn).add("knn_k", r.knn_k);
  if (r.extraction_seconds >= 0) {
    json.add("extraction_seconds", r.extraction_seconds).add("extraction_images_per_second", images_per_second(r));
  }
  json.add_raw("per_class_accuracy", json_array(top.scores.per_class_accuracy))
      .add_raw("confusion_matrix", json_matrix(top.scores.confusion));
  std::string rows;
  for (const auto& row : r.fractions) rows += (rows.empty() ? "" : ",") + fraction_json(row);
  json.add_raw("label_fractions", "[" + rows + "]");
}

void add_segmentation_json(const EvalResult& r, JsonObject& json) {
  const auto& s = r.segmentation;
  json.add("masks", r.masks).add("feature_dim", s.feature_dim).add("train_pixels", s.train_pixels)
      .add("weight_decay", s.weight_decay).add("pixel_accuracy", s.scores.pixel_accuracy)
      .add("mean_pixel_accuracy", s.scores.mean_pixel_accuracy).add("mean_iou", s.scores.mean_iou)
      .add_raw("iou", json_array(s.scores.iou)).add_raw("confusion_matrix", json_matrix(s.confusion));
}

std::string segmentation_text(const EvalResult& r) {
  const auto& s = r.segmentation;
  return printf_string("segmentation probe on %s (%lld-d per pixel, %s, %lld training pixels, L2 %g): test PA %.2f%%  "
                       "MPA %.2f%%  mIoU %.2f%%  (%.0f s)\n",
                       r.model.c_str(), static_cast<long long>(s.feature_dim), r.masks.c_str(),
                       static_cast<long long>(s.train_pixels), s.weight_decay, 100 * s.scores.pixel_accuracy,
                       100 * s.scores.mean_pixel_accuracy, 100 * s.scores.mean_iou, r.seconds);
}

std::string fraction_table(const EvalResult& r) {
  const bool sgd = r.protocol != Protocol::Lbfgs;
  std::string text = printf_string("%9s %7s %7s %7s %9s %7s %8s\n", "labels", "train", "top-1", "top-5", "balanced",
                                   "kNN", sgd ? "epochs" : "L2");
  for (const auto& row : r.fractions) {
    text += printf_string("%8g%% %7lld %6.2f%% %6.2f%% %8.2f%% %7s %8s\n", 100 * row.fraction,
                          static_cast<long long>(row.train_size), 100 * row.scores.top1, 100 * row.scores.top5,
                          100 * row.scores.balanced_accuracy,
                          row.knn >= 0 ? printf_string("%.2f%%", 100 * row.knn).c_str() : "-",
                          sgd ? std::to_string(row.epochs).c_str() : printf_string("%g", row.probe.weight_decay).c_str());
  }
  return text;
}

std::string classification_text(const EvalResult& r) {
  const FractionResult& top = headline(r);
  const std::string how =
      r.protocol == Protocol::Lbfgs
          ? printf_string("L2 %g chosen on held-out, val %.2f%%", top.probe.weight_decay,
                          100 * top.probe.validation_accuracy)
          : printf_string("%sNesterov SGD on augmented views, %lld epochs",
                          r.protocol == Protocol::FineTune ? "encoder and linear head end to end, " : "",
                          static_cast<long long>(top.epochs));
  std::string text = printf_string(
      "%s %s (%lld-d, %lld train / %lld test): test top-1 %.2f%%  (%s, %.0f s)\n",
      r.protocol == Protocol::FineTune ? "fine-tuning of" : "linear probe on", r.model.c_str(),
      static_cast<long long>(top.probe.feature_dim), static_cast<long long>(top.train_size),
      static_cast<long long>(r.test_size), 100 * top.scores.top1, how.c_str(), r.seconds);
  text += printf_string("top-5 %.2f%%  balanced accuracy %.2f%%  per class:", 100 * top.scores.top5,
                        100 * top.scores.balanced_accuracy);
  for (size_t k = 0; k < top.scores.per_class_accuracy.size(); ++k) {
    text += printf_string(" %zu:%.1f", k, 100 * top.scores.per_class_accuracy[k]);
  }
  text += "\n";
  if (r.knn_k > 0) {
    text += printf_string("kNN (k=%lld, cosine, weighted votes) test top-1 %.2f%%\n", static_cast<long long>(r.knn_k),
                          100 * top.knn);
  }
  if (r.extraction_seconds >= 0) {
    text += printf_string("feature extraction: %lld images in %.1f s (%.0f images/s)\n",
                          static_cast<long long>(r.train_size + r.test_size), r.extraction_seconds,
                          images_per_second(r));
  }
  if (r.fractions.size() > 1 || top.fraction != 1.0) text += fraction_table(r);
  return text;
}

}  // namespace

std::string to_string(Task task) {
  switch (task) {
    case Task::Segmentation: return "segmentation";
    case Task::Retrieval: return "retrieval";
    case Task::Map: return "map";
    default: return "classification";
  }
}

std::string to_string(Protocol protocol) {
  switch (protocol) {
    case Protocol::SgdAugment: return "sgd-augment";
    case Protocol::FineTune: return "finetune";
    default: return "lbfgs";
  }
}

const FractionResult& headline(const EvalResult& result) {
  TORCH_CHECK(!result.fractions.empty(), "the evaluation result has no label-fraction rows");
  return *std::max_element(result.fractions.begin(), result.fractions.end(),
                           [](const auto& a, const auto& b) { return a.fraction < b.fraction; });
}

std::string to_json(const EvalResult& r) {
  JsonObject json;
  json.add("task", to_string(r.task)).add("features", to_string(r.features)).add("protocol", to_string(r.protocol))
      .add("model", r.model).add("data", r.data);
  if (r.features == Features::Stored) {
    json.add("train_features", r.train_features).add("test_features", r.test_features);
  } else if (!r.checkpoint.empty()) {
    json.add("checkpoint", r.checkpoint);
  }
  json.add("train_size", r.train_size).add("test_size", r.test_size);
  switch (r.task) {
    case Task::Segmentation: add_segmentation_json(r, json); break;
    case Task::Retrieval: add_retrieval_json(r, json); break;
    case Task::Map: add_map_json(r, json); break;
    default: add_classification_json(r, json);
  }
  json.add("seconds", r.seconds);
  return json.str();
}

std::string to_text(const EvalResult& r) {
  switch (r.task) {
    case Task::Segmentation: return segmentation_text(r);
    case Task::Retrieval: return retrieval_text(r);
    case Task::Map: return map_text(r);
    default: return classification_text(r);
  }
}

std::string probe_json_name(Task task, Features features, Protocol protocol) {
  std::string name = "probe";
  if (task != Task::Classification) name += "-" + to_string(task);
  if (features != Features::Encoder) name += "-" + to_string(features);
  if (protocol != Protocol::Lbfgs) name += "-" + to_string(protocol);
  return name + ".json";
}

std::string map_png_name(const std::string& projection, Features features) {
  return "map-" + projection + (features == Features::Encoder ? "" : "-" + to_string(features)) + ".png";
}

EvalResult evaluate(const EvalOptions& options) {
  check_options(options);
  const auto start = Clock::now();
  EvalResult result;
  result.task = options.task();
  result.protocol = options.protocol();
  result.features = options.features();
  Inputs in = options.features() == Features::Stored ? load_stored(options, result) : load_images(options, result);
  if (!options.out_dir().empty()) ensure_directory(options.out_dir());
  result.train_size = in.train_labels.size(0);
  result.test_size = in.test_labels.size(0);
  if (options.task() == Task::Segmentation) {
    run_segmentation(options, in, result);
    result.seconds = seconds_since(start);
    write_confusion(options.out_dir(), result.segmentation.confusion, {"background", "foreground"});
  } else if (options.task() == Task::Retrieval) {
    run_retrieval(options, in, result);
    result.seconds = seconds_since(start);
  } else if (options.task() == Task::Map) {
    run_map(options, in, result);
    result.seconds = seconds_since(start);
  } else {
    run_classification(options, in, result);
    result.seconds = seconds_since(start);
    const auto& confusion = headline(result).scores.confusion;
    write_confusion(options.out_dir(), confusion, data::class_names(result.data, confusion.size(0)));
  }
  if (!result.run_dir.empty()) {
    write_file_atomic(result.run_dir + "/" + probe_json_name(result.task, result.features, result.protocol),
                      to_json(result) + "\n");
  }
  return result;
}

}  // namespace ssl::eval
