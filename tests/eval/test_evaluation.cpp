// The evaluation suite: downstream scores, label-fraction subsets, the dense probe, the augmented-view probe
// and the run report.
#include "errors.h"
#include "temp_dir.h"
#include "sslkit/trainers/eval/dense_probe.h"
#include "sslkit/trainers/eval/probe.h"
#include "sslkit/trainers/eval/report.h"
#include "sslkit/trainers/eval/scores.h"

#include <ATen/Parallel.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

namespace E = ssl::eval;
using ssl::testing::error_message;
using ssl::testing::TempDir;

namespace {

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

int64_t count_of(const torch::Tensor& labels, const torch::Tensor& subset, int64_t label) {
  return labels.index_select(0, subset).eq(label).sum().item<int64_t>();
}

}  // namespace

TEST_CASE("Confusion matrix counts (true, predicted) pairs and sums to N", "[eval][scores]") {
  // Pairs (true, predicted): (0,0) (1,1) (2,1) (2,2) (2,2) (0,2).
  auto predicted = torch::tensor({0, 1, 1, 2, 2, 2}, torch::kInt64);
  auto labels = torch::tensor({0, 1, 2, 2, 2, 0}, torch::kInt64);
  auto c = E::confusion_matrix(predicted, labels, 3);
  CHECK(torch::equal(c, torch::tensor({1, 0, 1, 0, 1, 0, 0, 1, 2}, torch::kInt64).view({3, 3})));
  CHECK(c.sum().item<int64_t>() == 6);
  CHECK(E::confusion_csv(c, {"a", "b"}) == "true\\predicted,a,b,2\na,1,0,1\nb,0,1,0\n2,0,1,2\n");
  CHECK_THROWS_WITH(E::confusion_matrix(predicted, labels, 2), Catch::Contains("classes must be in 0..1"));
}

TEST_CASE("Top-1, top-5, per-class and balanced accuracy on a hand example", "[eval][scores]") {
  // 7 classes. Row 0 ranks class 5 sixth (miss for both); rows 1 and 3 rank their labels 3 and 4 in the top 5
  // but not first; row 2 is right. Top-1 1/4, top-5 3/4.
  auto scores = torch::tensor({7, 6, 5, 4, 3, 2, 1,  //
                               1, 2, 3, 4, 5, 6, 7,  //
                               0, 0, 9, 0, 0, 0, 0,  //
                               1, 2, 3, 4, 5, 6, 7},
                              torch::kFloat)
                    .view({4, 7});
  auto labels = torch::tensor({5, 3, 2, 4}, torch::kInt64);
  const auto s = E::classification_scores(scores, labels);
  CHECK(s.top1 == Approx(0.25));
  CHECK(s.top5 == Approx(0.75));
  REQUIRE(s.per_class_accuracy.size() == 7);
  CHECK(s.per_class_accuracy[2] == 1.0);
  CHECK(s.per_class_accuracy[3] == 0.0);
  CHECK(std::isnan(s.per_class_accuracy[0]));  // class 0 never occurs
  CHECK(s.balanced_accuracy == Approx(0.25));  // mean of 0, 1, 0, 0 over the classes present
  CHECK(s.confusion.sum().item<int64_t>() == 4);
  CHECK(s.confusion[4][6].item<int64_t>() == 1);
  // Balanced accuracy differs from top-1 on imbalanced data: 3 of class 0 right, 1 of class 1 wrong.
  auto b = E::classification_scores(torch::tensor({1, 0, 1, 0, 1, 0, 1, 0}, torch::kFloat).view({4, 2}),
                                    torch::tensor({0, 0, 0, 1}, torch::kInt64));
  CHECK(b.top1 == Approx(0.75));
  CHECK(b.top5 == 1.0);
  CHECK(b.balanced_accuracy == Approx(0.5));
}

TEST_CASE("PA, MPA and mIoU on hand-computed masks", "[eval][scores]") {
  // predicted 1 1 0 / 0 0 0, truth 1 0 0 / 1 0 0. Class 1: TP 1, FP 1, FN 1 -> IoU 1/3, recall 1/2.
  // Class 0: 4 true, 4 predicted, 3 both -> IoU 3/5, recall 3/4. PA = 4/6.
  auto predicted = torch::tensor({1, 1, 0, 0, 0, 0}, torch::kInt64);
  auto truth = torch::tensor({1, 0, 0, 1, 0, 0}, torch::kInt64);
  const auto s = E::segmentation_scores(E::confusion_matrix(predicted, truth, 2));
  CHECK(s.pixel_accuracy == Approx(4.0 / 6));
  CHECK(s.mean_pixel_accuracy == Approx((0.75 + 0.5) / 2));
  CHECK(s.mean_iou == Approx((0.6 + 1.0 / 3) / 2));
  CHECK(s.iou[1] == Approx(1.0 / 3));
  // A class absent from both truth and prediction is left out of the means.
  const auto absent = E::segmentation_scores(E::confusion_matrix(predicted, truth, 3));
  CHECK(absent.mean_iou == Approx(s.mean_iou));
  CHECK(std::isnan(absent.iou[2]));
}

TEST_CASE("Label-fraction subsets are class-balanced, seeded and nested", "[eval][probe]") {
  auto labels = torch::cat({torch::full({100}, 0, torch::kInt64), torch::full({100}, 1, torch::kInt64),
                            torch::full({100}, 2, torch::kInt64)})
                    .index_select(0, torch::randperm(300, torch::TensorOptions().dtype(torch::kInt64)));
  const auto tenth = E::class_balanced_subset(labels, 0.1, 7);
  REQUIRE(tenth.size(0) == 30);
  for (int64_t c = 0; c < 3; ++c) CHECK(count_of(labels, tenth, c) == 10);
  CHECK(torch::equal(tenth, E::class_balanced_subset(labels, 0.1, 7)));
  CHECK(!torch::equal(tenth, E::class_balanced_subset(labels, 0.1, 8)));
  CHECK(std::get<0>(tenth.sort()).equal(tenth));  // sorted
  // The 20% subset holds the 10% one.
  const auto fifth = E::class_balanced_subset(labels, 0.2, 7);
  CHECK(fifth.size(0) == 60);
  CHECK(torch::isin(tenth, fifth).all().item<bool>());
  CHECK(E::class_balanced_subset(labels, 1.0, 7).size(0) == 300);
  // A class with fewer examples than its share gives all of them: 5 of class 0 and 15 of class 1.
  auto skewed = torch::cat({torch::zeros({5}, torch::kInt64), torch::ones({295}, torch::kInt64)});
  const auto part = E::class_balanced_subset(skewed, 0.1, 0);
  CHECK(count_of(skewed, part, 0) == 5);
  CHECK(count_of(skewed, part, 1) == 15);
  CHECK_THROWS_WITH(E::class_balanced_subset(labels, 0.0, 0), Catch::Contains("label fraction must be in (0, 1], got 0"));
}

TEST_CASE("The test split never influences the chosen L2 weight or the standardization", "[eval][probe]") {
  torch::manual_seed(21);
  auto x = torch::randn({600, 6}), y = x.select(1, 0).gt(0).to(torch::kInt64);
  auto options = E::LinearProbeOptions().validation_size(100).max_iterations(30);
  auto a = E::linear_probe(x, y, x.narrow(0, 0, 50), y.narrow(0, 0, 50), options);
  auto b = E::linear_probe(x, y, torch::randn({80, 6}) * 100 + 7, torch::randint(0, 2, {80}, torch::kInt64), options);
  CHECK(a.weight_decay == b.weight_decay);
  CHECK(a.validation_accuracy == b.validation_accuracy);
  const auto model = E::fit_linear_classifier(x, y, 2, options);
  CHECK(torch::allclose(model.mean, x.mean(0)));
  CHECK(torch::allclose(model.stddev, x.std(0) + 1e-6));
  CHECK(torch::allclose(model.logits(x.narrow(0, 0, 50)), a.test_logits));
  // 600 images hold out at most 20%: validation size 5000 becomes 120 instead of an error.
  CHECK_NOTHROW(E::fit_linear_classifier(x, y, 2, E::LinearProbeOptions().max_iterations(5)));
}

TEST_CASE("Threshold masks mark pixels above the threshold as foreground", "[eval][dense]") {
  auto images = torch::tensor({0, 25, 26, 255}, torch::kUInt8).view({1, 2, 2, 1});
  CHECK(torch::equal(E::threshold_masks(images, 25), torch::tensor({0, 0, 1, 1}, torch::kInt64).view({1, 2, 2})));
  CHECK_THROWS_WITH(E::threshold_masks(images, 256), Catch::Contains("mask threshold must be in 0..255, got 256"));
}

TEST_CASE("The dense probe separates threshold masks from pixel features and upsamples feature maps",
          "[eval][dense]") {
  at::set_num_threads(1);
  torch::manual_seed(5);
  auto train = torch::randint(0, 256, {120, 8, 8, 1}, torch::TensorOptions().dtype(torch::kUInt8));
  auto test = torch::randint(0, 256, {40, 8, 8, 1}, torch::TensorOptions().dtype(torch::kUInt8));
  const ssl::data::Normalization norm{{0.5f}, {0.25f}};
  const auto result = E::dense_probe(E::raw_dense_features(), train, E::threshold_masks(train, 25), test,
                                     E::threshold_masks(test, 25), norm, torch::kCPU,
                                     E::DenseProbeOptions().pixels_per_image(8).linear(
                                         E::LinearProbeOptions().validation_size(200).max_iterations(100)));
  CHECK(result.train_pixels == 120 * 8);
  CHECK(result.confusion.sum().item<int64_t>() == 40 * 64);
  // The mask is a threshold of the (1-d) feature: only pixels within a few grey levels of 25 can be wrong.
  CHECK(result.scores.pixel_accuracy > 0.98);
  CHECK(result.scores.mean_iou > 0.95);
  // Random masks (independent of the pixels) stay near chance: MPA ~ 0.5.
  auto noise_train = torch::randint(0, 2, {120, 8, 8}, torch::kInt64), noise_test = torch::randint(0, 2, {40, 8, 8}, torch::kInt64);
  const auto chance = E::dense_probe(E::raw_dense_features(), train, noise_train, test, noise_test, norm, torch::kCPU,
                                     E::DenseProbeOptions().pixels_per_image(8));
  CHECK(chance.scores.mean_pixel_accuracy == Approx(0.5).margin(0.06));

  auto encoder = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  encoder->eval();
  torch::NoGradGuard no_grad;
  auto dense = E::encoder_dense_features(*encoder)(torch::randn({2, 1, 28, 28}));
  CHECK(dense.sizes() == torch::IntArrayRef{2, 256, 28, 28});
  CHECK_THROWS_WITH(E::dense_probe(E::raw_dense_features(), train, noise_test, test, noise_test, norm, torch::kCPU),
                    Catch::Contains("train masks must be [N, H, W] = [120, 8, 8], got [40, 8, 8]"));
}

TEST_CASE("The augmented-view probe learns brightness classes through a frozen random encoder and is seeded",
          "[eval][probe]") {
  at::set_num_threads(1);
  torch::manual_seed(3);
  // Class 0: dark images (pixels 20..59), class 1: bright (180..219); crops and flips keep the class.
  auto make = [](int64_t n) {
    ssl::data::ImageSet set;
    set.labels = torch::arange(n, torch::kInt64).remainder(2);
    set.images = (set.labels.view({n, 1, 1, 1}) * 160 + 20 +
                  torch::randint(0, 40, {n, 28, 28, 1}, torch::kInt64))
                     .to(torch::kUInt8)
                     .contiguous();
    return set;
  };
  const auto train = make(128), test = make(64);
  const ssl::data::Normalization norm{{0.5f}, {0.3f}};
  auto encoder = E::random_init_encoder("convnet-s", 1, 28, 0);
  const auto options = E::AugmentedProbeOptions().epochs(4).batch_size(32);
  const auto a = E::augmented_linear_probe(*encoder, train, test, norm, torch::kCPU, options);
  const auto b = E::augmented_linear_probe(*encoder, train, test, norm, torch::kCPU, options);
  CHECK(a.test_accuracy >= 0.95);
  CHECK(torch::equal(a.test_logits, b.test_logits));
  CHECK(a.test_logits.sizes() == torch::IntArrayRef{64, 2});
}

TEST_CASE("sslkit report reads run directories into one table", "[eval][report]") {
  TempDir dir;
  const std::string a = dir.file("a"), b = dir.file("b");
  std::filesystem::create_directories(a);
  std::filesystem::create_directories(b);
  write(a + "/options.ini", "# options\nmethod = simclr\nencoder = convnet-s\n");
  write(a + "/metrics.jsonl", "{\"epoch\":0,\"step\":10,\"loss\":5.1,\"images_per_second\":1234.4}\n"
                              "{\"epoch\":1,\"step\":20,\"loss\":4.9,\"images_per_second\":1500.6}\n");
  write(a + "/probe.json",
        "{\"task\":\"classification\",\"label_fraction\":1,\"test_accuracy\":0.8765,\"knn_accuracy\":0.85,"
        "\"per_class_accuracy\":[0.9,0.8],\"confusion_matrix\":[[1,2],[3,4]],\"label_fractions\":["
        "{\"fraction\":0.01,\"train_size\":600,\"test_accuracy\":0.7012},"
        "{\"fraction\":1,\"train_size\":60000,\"test_accuracy\":0.8765}],\"seconds\":3}\n");
  write(a + "/probe-raw.json", "{\"test_accuracy\":0.8412,\"knn_accuracy\":0.8501}\n");
  write(b + "/options.ini", "method = simclr\nencoder = resnet18\n");
  write(b + "/metrics.jsonl", "{\"epoch\":4,\"step\":500,\"images_per_second\":99.5}\n");

  auto runs = E::read_run_summaries(a);
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].probe == Approx(0.8765));
  CHECK(runs[0].low_label.at(0.01) == Approx(0.7012));
  CHECK(runs[0].low_label.size() == 1);
  CHECK(runs[1].features == "raw");
  for (auto& run : E::read_run_summaries(b)) runs.push_back(run);
  runs[0].run = runs[1].run = "a";
  runs[2].run = "b";
  const std::string text = E::format_report(runs, E::ReportFormat::Text);
  CHECK(text ==
        "run  features  method  encoder    epochs  img/s  probe top-1  kNN top-1  1% labels\n"
        "a    encoder   simclr  convnet-s       2   1501        87.65      85.00      70.12\n"
        "a    raw       -       -               -      -        84.12      85.01          -\n"
        "b    encoder   simclr  resnet18        5    100            -          -          -\n");
  const std::string csv = E::format_report(runs, E::ReportFormat::Csv);
  CHECK(csv.substr(csv.find("\nb,")) == "\nb,encoder,simclr,resnet18,5,100,,,\n");
  const std::string markdown = E::format_report(runs, E::ReportFormat::Markdown);
  CHECK(markdown.substr(0, markdown.find('\n')) ==
        "| run | features | method | encoder   | epochs | img/s | probe top-1 | kNN top-1 | 1% labels |");
  CHECK_THROWS_WITH(E::read_run_summaries(dir.file("none")), Catch::Contains("run directory '"));
  CHECK_THROWS_WITH(E::parse_report_format("html"),
                    Catch::Contains("unknown report format 'html': expected one of text, markdown, csv"));
}

TEST_CASE("sslkit report refuses a damaged metrics.jsonl or probe result, naming the file and line",
          "[eval][report][errors]") {
  TempDir dir;
  const std::string run = dir.file("run");
  std::filesystem::create_directories(run);
  write(run + "/options.ini", "method = simclr\nencoder = convnet-s\n");
  // A write cut short mid-row, as a concurrent writer or a full disk leaves it.
  write(run + "/metrics.jsonl", "{\"epoch\":0,\"step\":10,\"loss\":5.1}\n3}\n");
  CHECK(error_message([&] { E::read_run_summaries(run); }) ==
        "'" + run + "/metrics.jsonl' line 2: not a metrics row (expected a JSON object with a step; the file is "
        "damaged)");
  write(run + "/metrics.jsonl", "{\"epoch\":0,\"step\":10,\"loss\":5.1}\n");
  write(run + "/probe.json", "{\"task\":\"classification\",\"test_acc");
  CHECK(error_message([&] { E::read_run_summaries(run); }) ==
        "'" + run + "/probe.json': not a probe result (expected a JSON object with test_accuracy or mean_iou)");
  write(run + "/probe.json", "{\"test_accuracy\":87.5}");
  CHECK(error_message([&] { E::read_run_summaries(run); }) ==
        "'" + run + "/probe.json': test_accuracy is '87.5', expected a number in [0, 1] (the file is damaged)");
  write(run + "/probe.json", "{\"test_accuracy\":0.875,\"knn_accuracy\":null}");
  const auto rows = E::read_run_summaries(run);
  CHECK(rows[0].probe == 0.875);
  CHECK(std::isnan(rows[0].knn));
}
