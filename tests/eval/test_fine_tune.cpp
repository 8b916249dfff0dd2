// Fine-tuning (`sslkit probe --protocol finetune`): the automatic epoch schedule, an encoder that learns, and
// `evaluate` starting every label fraction from the same weights.
#include "errors.h"
#include "temp_dir.h"

#include "sslkit/data/idx.h"
#include "sslkit/ssl/checkpoint.h"
#include "sslkit/trainers/eval/evaluate.h"
#include "sslkit/trainers/eval/probe.h"

#include <catch2/catch.hpp>

namespace D = ssl::data;
namespace E = ssl::eval;
using ssl::testing::error_message;
using ssl::testing::TempDir;

namespace {

// side x side gray images, class 0 bright in the top half and class 1 in the bottom half, plus noise: a flip keeps
// the class, a crop of at least half the area mostly does.
D::ImageSet halves_set(int64_t n, uint64_t seed, int64_t side = 12) {
  torch::manual_seed(static_cast<int64_t>(seed));
  D::ImageSet set;
  set.labels = torch::randint(0, 2, {n}, torch::kInt64);
  auto rows = torch::arange(side).view({1, side, 1, 1});
  auto top = rows.lt(side / 2).to(torch::kInt64);
  auto bright = torch::where(set.labels.view({n, 1, 1, 1}).eq(0), top, 1 - top);
  auto noise = torch::randint(0, 100, {n, side, side, 1}, torch::kInt64);
  set.images = (bright * 120 + noise).to(torch::kUInt8).contiguous();
  return set;
}

bool same_weights(ssl::EncoderImpl& a, const ssl::TensorDict& b) {
  const auto state = ssl::module_state(a);
  for (const auto& item : state) {
    if (!torch::equal(item.value(), b[item.key()])) return false;
  }
  return true;
}

ssl::TensorDict snapshot(ssl::EncoderImpl& encoder) {
  ssl::TensorDict state;
  for (const auto& item : ssl::module_state(encoder)) state.insert(item.key(), item.value().clone());
  return state;
}

}  // namespace

TEST_CASE("Fine-tuning's automatic schedule: 60 epochs at 600 and 6000 images, 10 at 60000", "[eval][finetune]") {
  const E::FineTuneOptions automatic;
  CHECK(E::fine_tune_epochs(automatic, 600) == 60);
  CHECK(E::fine_tune_epochs(automatic, 6000) == 60);
  CHECK(E::fine_tune_epochs(automatic, 7200) == 50);
  CHECK(E::fine_tune_epochs(automatic, 60000) == 10);
  CHECK(E::fine_tune_epochs(automatic, 10) == 60);
  CHECK(E::fine_tune_epochs(automatic, 1000000) == 10);
  CHECK(E::fine_tune_epochs(E::FineTuneOptions().epochs(7), 600) == 7);
  CHECK(error_message([] { E::fine_tune_epochs(E::FineTuneOptions().epochs(-1), 600); }) ==
        "fine-tuning: epochs must be >= 0 (0: automatic), got -1");
}

TEST_CASE("Fine-tuning trains the encoder and learns the classes; the augmented probe leaves the encoder as it was",
          "[eval][finetune]") {
  const auto train = halves_set(256, 1), test = halves_set(128, 2);
  const D::Normalization norm{{0.4f}, {0.25f}};
  torch::manual_seed(0);
  auto encoder = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1).image_size(12));
  const auto initial = snapshot(*encoder);
  const auto crop = D::RandomResizedCropOptions().scale_min(0.5);

  const auto frozen = E::augmented_linear_probe(*encoder, train, test, norm, torch::kCPU,
                                                E::AugmentedProbeOptions().epochs(2).batch_size(64).crop(crop));
  CHECK(same_weights(*encoder, initial));

  const auto tuned = E::fine_tune(*encoder, train, test, norm, torch::kCPU,
                                  E::FineTuneOptions().epochs(16).batch_size(32).crop(crop));
  CHECK_FALSE(same_weights(*encoder, initial));
  CHECK_FALSE(encoder->is_training());
  CHECK(tuned.feature_dim == 256);
  CHECK(tuned.test_logits.sizes() == std::vector<int64_t>{128, 2});
  // Which half is bright is found by any convolution: both classify every test image (measured 2026-12-02:
  // 1.0 and 1.0 out of 128), while a broken update (a diverging learning rate, stale BatchNorm statistics: 4
  // epochs of 64 gave 0.55) falls to chance; 0.9 leaves room for other x86-64 kernels' rounding.
  CHECK(frozen.test_accuracy >= 0.9);
  CHECK(tuned.test_accuracy >= 0.9);
  CHECK(error_message([&] {
          E::fine_tune(*encoder, train, test, norm, torch::kCPU, E::FineTuneOptions().encoder_lr_scale(0));
        }) == "fine-tuning: the encoder's learning-rate scale must be finite and > 0, got 0");
}

TEST_CASE("Fine-tuning starts from the frozen encoder's linear probe (LP-FT), or from a zero head",
          "[eval][finetune]") {
  const auto train = halves_set(256, 3), test = halves_set(128, 4);
  const D::Normalization norm{{0.4f}, {0.25f}};
  torch::manual_seed(0);
  auto encoder = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1).image_size(12));
  const auto probe = E::fit_linear_classifier(E::extract_features(*encoder, train.images, norm, torch::kCPU),
                                              train.labels, 2, E::LinearProbeOptions());
  const auto expected = probe.logits(E::extract_features(*encoder, test.images, norm, torch::kCPU));
  // One step at a vanishing learning rate over all training images, whole (flipped) images as views: the weights
  // stay, and the head's running statistics move a tenth of the way from the probe's to the batch's. The logits then
  // differ from the probe's by 0.031 at most (measured 2026-12-03) on a scale of 11.9; the bound 0.3 is ten times
  // that. A zero head gives 0, and a head that kept BatchNorm's initial statistics (mean 0, variance 1) misses by
  // more than the probe's scale, as these random features' standard deviations are 1e-4..1e-2.
  auto options = E::FineTuneOptions()
                           .epochs(1)
                           .batch_size(256)
                           .learning_rate(1e-12)
                           .crop(D::RandomResizedCropOptions().scale_min(1).ratio_min(1).ratio_max(1));
  const auto tuned = E::fine_tune(*encoder, train, test, norm, torch::kCPU, options);
  INFO("max |tuned - probe| " << (tuned.test_logits - expected).abs().max().item<double>() << " of max |probe| "
                              << expected.abs().max().item<double>());
  CHECK(expected.abs().max().item<double>() > 5);
  CHECK(torch::allclose(tuned.test_logits, expected, 0, 0.3));

  const auto zero = E::fine_tune(*encoder, train, test, norm, torch::kCPU, options.linear_probe_first(false));
  CHECK(zero.test_logits.abs().max().item<double>() < 1e-6);
}

TEST_CASE("Fine-tuning keeps the encoder's BatchNorm statistics unless told to re-estimate them", "[eval][finetune]") {
  const auto train = halves_set(128, 5), test = halves_set(64, 6);
  const D::Normalization norm{{0.4f}, {0.25f}};
  torch::manual_seed(0);
  auto encoder = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1).image_size(12));
  const auto initial = snapshot(*encoder);
  const auto changed = [&](bool statistics) {
    int64_t count = 0;
    for (const auto& item : ssl::module_state(*encoder)) {
      const bool is_statistic = item.key().find("running_") != std::string::npos;
      if (is_statistic == statistics && !torch::equal(item.value(), initial[item.key()])) ++count;
    }
    return count;
  };
  auto options = E::FineTuneOptions().epochs(1).batch_size(64);
  E::fine_tune(*encoder, train, test, norm, torch::kCPU, options);
  CHECK(changed(/*statistics=*/true) == 0);
  CHECK(changed(/*statistics=*/false) > 0);
  ssl::load_module_state(*encoder, initial, "test");
  E::fine_tune(*encoder, train, test, norm, torch::kCPU, options.freeze_batch_norm(false));
  CHECK(changed(/*statistics=*/true) > 0);
}

TEST_CASE("evaluate fine-tunes every label fraction from the checkpoint's weights and leaves them unchanged",
          "[eval][finetune]") {
  TempDir dir;
  const auto train = halves_set(200, 3), test = halves_set(60, 4);
  D::write_idx_images(dir.file("train-images-idx3-ubyte"), train.images, false);
  D::write_idx_labels(dir.file("train-labels-idx1-ubyte"), train.labels, false);
  D::write_idx_images(dir.file("t10k-images-idx3-ubyte"), test.images, false);
  D::write_idx_labels(dir.file("t10k-labels-idx1-ubyte"), test.labels, false);
  const auto options = E::EvalOptions()
                           .features(E::Features::RandomInit)
                           .encoder("convnet-s")
                           .protocol(E::Protocol::FineTune)
                           .data(dir.str())
                           .finetune_epochs(2)
                           .sgd_batch_size(50)
                           .seed(5);
  const auto both = E::evaluate(E::EvalOptions(options).label_fractions({0.5, 1.0}));
  const auto alone = E::evaluate(E::EvalOptions(options).label_fractions({1.0}));
  REQUIRE(both.fractions.size() == 2);
  CHECK(both.fractions[0].train_size == 100);
  CHECK(both.fractions[1].epochs == 2);
  CHECK(both.fractions[1].knn < 0);  // no kNN: the features change
  // The full-label row does not depend on the half-label row fine-tuned before it.
  CHECK(torch::equal(both.fractions[1].probe.test_logits, alone.fractions[0].probe.test_logits));
  CHECK(both.knn_k == 0);
  const auto text = E::to_text(both);
  CHECK(text.find("fine-tuning of random-init/convnet-s") == 0);
  CHECK(text.find("encoder and linear head end to end, Nesterov SGD on augmented views, 2 epochs") !=
        std::string::npos);
  CHECK(E::to_json(both).find("\"protocol\":\"finetune\"") != std::string::npos);
  CHECK(E::probe_json_name(E::Task::Classification, E::Features::Encoder, E::Protocol::FineTune) ==
        "probe-finetune.json");
}
