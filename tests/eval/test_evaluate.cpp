// ssl::eval::evaluate, the one library call behind `sslkit probe`: its result equals what the building blocks
// (feature model, class-balanced subsets, linear probe, scores, kNN, dense probe) give on the same data, its text
// and JSON carry the result's fields, and it saves the files a run directory and an output folder get.
#include "errors.h"
#include "temp_dir.h"

#include "sslkit/data/idx.h"
#include "sslkit/data/sources/source.h"
#include "sslkit/ssl/checkpoint.h"
#include "sslkit/ssl/files.h"
#include "sslkit/trainers/eval/evaluate.h"
#include "sslkit/trainers/eval/knn.h"
#include "sslkit/trainers/eval/metrics.h"
#include "sslkit/trainers/eval/report.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <cstdio>
#include <fstream>

namespace D = ssl::data;
namespace E = ssl::eval;
using ssl::testing::error_message;
using ssl::testing::TempDir;

namespace {

// side x side gray images whose brightness follows the label (4 classes) plus uniform noise, so a probe has
// something to find and still makes mistakes.
D::ImageSet brightness_set(int64_t n, uint64_t seed, int64_t side = 12) {
  torch::manual_seed(static_cast<int64_t>(seed));
  D::ImageSet set;
  set.labels = torch::randint(0, 4, {n}, torch::kInt64);
  auto noise = torch::randint(0, 120, {n, side, side, 1}, torch::kInt64);
  set.images = (set.labels.view({n, 1, 1, 1}) * 40 + noise).to(torch::kUInt8).contiguous();
  return set;
}

// An IDX folder (the MNIST file names) holding both splits.
void write_idx_folder(const TempDir& dir, const D::ImageSet& train, const D::ImageSet& test) {
  D::write_idx_images(dir.file("train-images-idx3-ubyte"), train.images, false);
  D::write_idx_labels(dir.file("train-labels-idx1-ubyte"), train.labels, false);
  D::write_idx_images(dir.file("t10k-images-idx3-ubyte"), test.images, false);
  D::write_idx_labels(dir.file("t10k-labels-idx1-ubyte"), test.labels, false);
}

std::string read_text(const std::string& path) {
  const auto bytes = ssl::read_file(path);
  return std::string(bytes.begin(), bytes.end());
}

// JSON numbers are written with 8 significant digits (ssl::JsonObject, "%.8g"): a relative error of at most
// 5e-8 after a round trip.
double json_number(const std::map<std::string, std::string>& fields, const std::string& key) {
  REQUIRE(fields.count(key));
  return std::stod(fields.at(key));
}

}  // namespace

TEST_CASE("evaluate equals the linear probe, scores and kNN it is built from, row by row", "[eval][evaluate]") {
  TempDir dir;
  const auto train = brightness_set(240, 1), test = brightness_set(80, 2);
  write_idx_folder(dir, train, test);
  const std::vector<double> fractions{0.5, 1.0};
  const auto options = E::EvalOptions()
                           .features(E::Features::Raw)
                           .data(dir.str())
                           .label_fractions(fractions)
                           .validation_size(40)
                           .max_iterations(30)
                           .knn_k(5)
                           .seed(3)
                           .out_dir(dir.file("out"));
  const auto result = E::evaluate(options);

  // The reference: the same steps spelled out with the lower-level functions.
  const auto norm = D::compute_normalization(D::MemorySource(train));
  const auto train_x = E::raw_pixel_features(train.images, norm), test_x = E::raw_pixel_features(test.images, norm);
  REQUIRE(result.fractions.size() == 2);
  for (size_t i = 0; i < fractions.size(); ++i) {
    const auto subset = E::class_balanced_subset(train.labels, fractions[i], 3);
    const auto x = train_x.index_select(0, subset), y = train.labels.index_select(0, subset);
    const auto probe = E::linear_probe(x, y, test_x, test.labels,
                                       E::LinearProbeOptions().validation_size(40).max_iterations(30).seed(3));
    const auto scores = E::classification_scores(probe.test_logits, test.labels);
    const auto& row = result.fractions[i];
    CHECK(row.fraction == fractions[i]);
    CHECK(row.train_size == subset.size(0));
    CHECK(row.probe.weight_decay == probe.weight_decay);
    CHECK(row.probe.validation_accuracy == probe.validation_accuracy);
    CHECK(row.scores.top1 == scores.top1);
    CHECK(row.scores.top5 == scores.top5);
    CHECK(row.scores.balanced_accuracy == scores.balanced_accuracy);
    CHECK(torch::equal(row.scores.confusion, scores.confusion));
    CHECK(row.knn == E::knn_accuracy(x, y, test_x, test.labels, E::KnnOptions().k(5)));
  }
  CHECK(&E::headline(result) == &result.fractions[1]);
  CHECK(result.model == "raw pixels");
  CHECK(result.data == dir.str());
  CHECK(result.train_size == 240);
  CHECK(result.test_size == 80);
  CHECK(result.extraction_seconds < 0);  // no encoder ran
  CHECK(result.run_dir.empty());
  // --out: the headline's confusion matrix, columns named by index (no class names for this data).
  CHECK(read_text(dir.file("out/confusion.csv")) == E::confusion_csv(result.fractions[1].scores.confusion));
  CHECK(std::filesystem::file_size(dir.file("out/confusion.png")) > 0);
}

TEST_CASE("The JSON and text of an evaluation carry its fields", "[eval][evaluate]") {
  TempDir dir;
  const auto train = brightness_set(200, 4), test = brightness_set(60, 5);
  write_idx_folder(dir, train, test);
  const auto result = E::evaluate(E::EvalOptions()
                                      .features(E::Features::Raw)
                                      .data(dir.str())
                                      .label_fractions({0.25, 1.0})
                                      .validation_size(30)
                                      .max_iterations(20)
                                      .knn_k(3));
  const auto& top = E::headline(result);
  const std::string json = E::to_json(result);
  const auto fields = E::parse_json_fields(json);
  CHECK(fields.at("task") == "classification");
  CHECK(fields.at("features") == "raw");
  CHECK(fields.at("protocol") == "lbfgs");
  CHECK(fields.at("model") == "raw pixels");
  CHECK(fields.at("data") == dir.str());
  CHECK(fields.count("checkpoint") == 0);
  CHECK(json_number(fields, "train_size") == 200);
  CHECK(json_number(fields, "test_size") == 60);
  CHECK(json_number(fields, "feature_dim") == 144);
  CHECK(json_number(fields, "label_fraction") == 1);
  CHECK(json_number(fields, "knn_k") == 3);
  CHECK(json_number(fields, "test_accuracy") == Approx(top.scores.top1).epsilon(1e-7));
  CHECK(json_number(fields, "top5_accuracy") == Approx(top.scores.top5).epsilon(1e-7));
  CHECK(json_number(fields, "balanced_accuracy") == Approx(top.scores.balanced_accuracy).epsilon(1e-7));
  CHECK(json_number(fields, "knn_accuracy") == Approx(top.knn).epsilon(1e-7));
  CHECK(json_number(fields, "seconds") == Approx(result.seconds).epsilon(1e-7));
  // The rows, in the order asked, after the headline's per-class accuracies and confusion matrix.
  const auto rows = json.find("\"label_fractions\":[{\"fraction\":0.25,\"train_size\":" +
                              std::to_string(result.fractions[0].train_size) + ",");
  CHECK(rows != std::string::npos);
  CHECK(json.find("\"confusion_matrix\":[[") < rows);
  CHECK(json.substr(json.size() - 1) == "}");

  const std::string text = E::to_text(result);
  char first[256];
  std::snprintf(first, sizeof first, "linear probe on raw pixels (144-d, 200 train / 60 test): test top-1 %.2f%%",
                100 * top.scores.top1);
  CHECK(text.rfind(first, 0) == 0);
  CHECK(text.find("kNN (k=3, cosine, weighted votes) test top-1 ") != std::string::npos);
  CHECK(text.find("feature extraction") == std::string::npos);  // raw pixels: nothing extracted
  char row[64];
  std::snprintf(row, sizeof row, "\n      25%% %7lld ", static_cast<long long>(result.fractions[0].train_size));
  CHECK(text.find(row) != std::string::npos);
  CHECK(text.back() == '\n');
}

TEST_CASE("evaluate saves its JSON in a run directory under the name the report reads", "[eval][evaluate]") {
  TempDir dir;
  const auto train = brightness_set(160, 6, 28), test = brightness_set(60, 7, 28);
  write_idx_folder(dir, train, test);
  const std::string run = dir.file("run");
  std::filesystem::create_directories(run);
  std::ofstream(run + "/options.ini") << "method = simclr\nencoder = convnet-s\n";
  auto encoder = E::random_init_encoder("convnet-s", 1, 28, 8);
  auto checkpoint = ssl::make_checkpoint("convnet-s", *encoder, 1, 28);
  checkpoint.metadata.method = "simclr";
  checkpoint.metadata.data = dir.str();
  ssl::save_checkpoint(checkpoint, run + "/checkpoint.pt");

  const auto result = E::evaluate(E::EvalOptions()
                                      .features(E::Features::RandomInit)
                                      .checkpoint(run)
                                      .validation_size(30)
                                      .max_iterations(20)
                                      .knn_k(0)
                                      .batch_size(64));
  CHECK(result.run_dir == run);
  CHECK(result.checkpoint == run + "/checkpoint.pt");
  CHECK(result.data == dir.str());  // the checkpoint's data
  CHECK(result.model == "random-init/convnet-s");
  CHECK(result.extraction_seconds >= 0);
  CHECK(read_text(run + "/probe-random-init.json") == E::to_json(result) + "\n");
  const auto summaries = E::read_run_summaries(run);
  REQUIRE(summaries.size() == 2);  // the run's encoder (no probe.json yet), then the random-init baseline
  CHECK(summaries[1].features == "random-init");
  CHECK(summaries[1].probe == Approx(result.fractions[0].scores.top1).epsilon(1e-7));
}

TEST_CASE("The probe result file names are those sslkit probe has always saved", "[eval][evaluate]") {
  // The names in README's "report" section and in run directories written before evaluation became a library.
  using E::Features, E::Protocol, E::Task;
  CHECK(E::probe_json_name(Task::Classification, Features::Encoder, Protocol::Lbfgs) == "probe.json");
  CHECK(E::probe_json_name(Task::Classification, Features::Encoder, Protocol::SgdAugment) == "probe-sgd-augment.json");
  CHECK(E::probe_json_name(Task::Classification, Features::RandomInit, Protocol::Lbfgs) == "probe-random-init.json");
  CHECK(E::probe_json_name(Task::Classification, Features::Raw, Protocol::Lbfgs) == "probe-raw.json");
  CHECK(E::probe_json_name(Task::Segmentation, Features::Encoder, Protocol::Lbfgs) == "probe-segmentation.json");
  CHECK(E::probe_json_name(Task::Segmentation, Features::Raw, Protocol::Lbfgs) == "probe-segmentation-raw.json");
  CHECK(E::probe_json_name(Task::Segmentation, Features::RandomInit, Protocol::Lbfgs) ==
        "probe-segmentation-random-init.json");
}

TEST_CASE("evaluate's segmentation equals the dense probe on threshold masks", "[eval][evaluate]") {
  TempDir dir;
  const auto train = brightness_set(60, 9), test = brightness_set(20, 10);
  write_idx_folder(dir, train, test);
  const auto result = E::evaluate(E::EvalOptions()
                                      .task(E::Task::Segmentation)
                                      .features(E::Features::Raw)
                                      .data(dir.str())
                                      .mask_threshold(100)
                                      .seg_train_images(40)
                                      .validation_size(50)
                                      .max_iterations(20)
                                      .batch_size(50)
                                      .seed(2));
  const auto norm = D::compute_normalization(D::MemorySource(train));
  const auto dense = E::dense_probe(
      E::raw_dense_features(), train.images, E::threshold_masks(train.images, 100), test.images,
      E::threshold_masks(test.images, 100), norm, torch::kCPU,
      E::DenseProbeOptions().max_train_images(40).batch_size(10).seed(2).linear(
          E::LinearProbeOptions().validation_size(50).max_iterations(20).seed(2)));
  CHECK(result.masks == "mask = pixel > 100");
  CHECK(result.segmentation.scores.mean_iou == dense.scores.mean_iou);
  CHECK(result.segmentation.scores.pixel_accuracy == dense.scores.pixel_accuracy);
  CHECK(result.segmentation.weight_decay == dense.weight_decay);
  CHECK(torch::equal(result.segmentation.confusion, dense.confusion));
  const auto fields = E::parse_json_fields(E::to_json(result));
  CHECK(fields.at("task") == "segmentation");
  CHECK(fields.at("masks") == "mask = pixel > 100");
  CHECK(json_number(fields, "mean_iou") == Approx(dense.scores.mean_iou).epsilon(1e-7));
  CHECK(E::to_text(result).rfind("segmentation probe on raw pixels (1-d per pixel, mask = pixel > 100, ", 0) == 0);
}

TEST_CASE("evaluate refuses inconsistent options in words, without flag names", "[eval][evaluate][errors]") {
  const auto message = [](const E::EvalOptions& options) {
    return error_message([&] { E::evaluate(options); });
  };
  CHECK(message(E::EvalOptions()) == "the encoder's features need a checkpoint");
  CHECK(message(E::EvalOptions().features(E::Features::Stored).train_features("a.h5")) ==
        "stored features need a train and a test feature file, got 'a.h5' and ''");
  CHECK(message(E::EvalOptions().features(E::Features::Raw).protocol(E::Protocol::SgdAugment)) ==
        "the sgd-augment protocol needs an encoder and the classification task, got raw features and classification");
  CHECK(message(E::EvalOptions().features(E::Features::Raw).label_fractions({0.5, 0})) ==
        "label fraction must be in (0, 1], got 0");
  CHECK(message(E::EvalOptions().features(E::Features::Raw).task(E::Task::Segmentation).label_fractions({0.5})) ==
        "label fractions apply to classification only");
  CHECK(message(E::EvalOptions().features(E::Features::Raw).mask_threshold(300)) ==
        "mask threshold must be in 0..255, got 300");
}
