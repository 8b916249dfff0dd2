// Real images end to end: an RGB image folder of coloured shapes at 64 px (4 classes, train/ and test/), pretrained
// a few steps with an ImageNet-stem ResNet and with a ViT, then probed from the checkpoint.
#include "temp_dir.h"
#include "trainers/run_helpers.h"

#include "sslkit/ssl/checkpoint.h"
#include "sslkit/trainers/eval/evaluate.h"
#include "sslkit/trainers/pretrain.h"

#include <catch2/catch.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <random>

using ssl::testing::logged_values;
using ssl::testing::SingleThread;
using ssl::testing::TempDir;
namespace E = ssl::eval;
namespace T = ssl::trainers;

namespace {

constexpr int kSide = 64;
const char* const kShapes[] = {"circle", "cross", "square", "triangle"};

// One 64x64 picture of shape `label` in a random colour, place and size on a random darker background.
cv::Mat draw_shape(int label, std::mt19937& rng) {
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  cv::Mat image(kSide, kSide, CV_8UC3, cv::Scalar(uniform(0, 90), uniform(0, 90), uniform(0, 90)));
  const cv::Scalar colour(uniform(130, 255), uniform(130, 255), uniform(130, 255));
  const int r = uniform(12, 22), cx = uniform(r + 2, kSide - r - 3), cy = uniform(r + 2, kSide - r - 3);
  switch (label) {
    case 0:
      cv::circle(image, {cx, cy}, r, colour, cv::FILLED);
      break;
    case 1:
      cv::line(image, {cx - r, cy - r}, {cx + r, cy + r}, colour, 5);
      cv::line(image, {cx - r, cy + r}, {cx + r, cy - r}, colour, 5);
      break;
    case 2:
      cv::rectangle(image, {cx - r, cy - r}, {cx + r, cy + r}, colour, cv::FILLED);
      break;
    default: {
      const std::vector<cv::Point> corners{{cx, cy - r}, {cx - r, cy + r}, {cx + r, cy + r}};
      cv::fillConvexPoly(image, corners, colour);
    }
  }
  return image;
}

// root/train/<shape>/*.png (per_class_train each) and root/test/<shape>/*.png (per_class_test each), seeded.
void write_shapes_folder(const std::filesystem::path& root, int per_class_train, int per_class_test) {
  std::mt19937 rng(17);
  for (const auto& [split, count] : {std::pair<const char*, int>{"train", per_class_train}, {"test", per_class_test}}) {
    for (int label = 0; label < 4; ++label) {
      const auto dir = root / split / kShapes[label];
      std::filesystem::create_directories(dir);
      for (int i = 0; i < count; ++i) {
        REQUIRE(cv::imwrite((dir / (std::to_string(i) + ".png")).string(), draw_shape(label, rng)));
      }
    }
  }
}

}  // namespace

TEST_CASE("Real images: an RGB shapes folder pretrains with resnet18 --stem imagenet and vit-tiny, and probes",
          "[trainers][real_images]") {
  SingleThread single_thread;
  TempDir dir;
  write_shapes_folder(dir.file("shapes"), 48, 24);
  struct Case {
    std::string encoder, stem;
    int64_t patch_size;
  };
  for (const auto& c : {Case{"resnet18", "imagenet", 0}, Case{"vit-tiny", "auto", 8}}) {
    INFO(c.encoder);
    const std::string run = dir.file("run-" + c.encoder);
    const auto result = T::pretrain(T::PretrainOptions()
                                        .loop(T::LoopOptions().out_dir(run).epochs(2).max_minutes(0).log_every(1))
                                        .data(dir.file("shapes"))
                                        .encoder(c.encoder)
                                        .stem(c.stem)
                                        .patch_size(c.patch_size)
                                        .batch_size(32)
                                        .device(ssl::parse_device("cpu"))
                                        .seed(3));
    CHECK(result.steps == 12);  // 192 images in batches of 32, 2 epochs
    const auto losses = logged_values(run + "/metrics.jsonl");
    REQUIRE(losses.size() == 12);
    for (const double loss : losses) CHECK(std::isfinite(loss));
    const auto checkpoint = ssl::load_checkpoint(result.checkpoint);
    CHECK(checkpoint.metadata.in_channels == 3);
    CHECK(checkpoint.metadata.image_size == kSide);
    CHECK(checkpoint.metadata.stem == (c.encoder == "resnet18" ? "imagenet" : ""));
    CHECK(checkpoint.metadata.patch_size == c.patch_size);

    const auto probe = E::evaluate(E::EvalOptions().checkpoint(run));
    REQUIRE(probe.test_size == 96);
    const double accuracy = E::headline(probe).probe.test_accuracy;
    INFO("linear probe " << accuracy);
    // 4 balanced classes: chance is 25%. Shapes in random colours are linearly separable from these features
    // (measured: 63.5% resnet18, 61.5% vit-tiny, on 96 test images); 50% leaves room for other machines' rounding.
    CHECK(accuracy > 0.5);
  }
}
