// sslkit embed's library side: features streamed to HDF5 equal the encoder's, a probe on stored features equals
// the probe on the checkpoint, and masks stored in HDF5 drive the dense probe.
#include "sslkit/data/sources/feature_file.h"
#include "sslkit/data/sources/hdf5.h"
#include "sslkit/ssl/checkpoint.h"
#include "sslkit/trainers/eval/dense_probe.h"
#include "sslkit/trainers/eval/embed.h"
#include "sslkit/trainers/eval/probe.h"

#include "errors.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <filesystem>

namespace D = ssl::data;
namespace E = ssl::eval;
using ssl::testing::error_message;
using ssl::testing::TempDir;

namespace {

// Images whose brightness follows the label (4 classes), so a probe has something to find.
D::ImageSet brightness_set(int64_t n, uint64_t seed) {
  torch::manual_seed(static_cast<int64_t>(seed));
  D::ImageSet set;
  set.labels = torch::randint(0, 4, {n}, torch::kInt64);
  auto noise = torch::randint(0, 60, {n, 28, 28, 1}, torch::kInt64);
  set.images = (set.labels.view({n, 1, 1, 1}) * 60 + noise).to(torch::kUInt8).contiguous();
  set.origin = "brightness";
  return set;
}

}  // namespace

TEST_CASE("Embedded features round trip through HDF5 and a probe on them equals the probe on the checkpoint",
          "[eval][embed]") {
  TempDir dir;
  const auto train = brightness_set(200, 1), test = brightness_set(70, 2);
  auto encoder = E::random_init_encoder("convnet-s", 1, 28, 3);
  auto checkpoint = ssl::make_checkpoint("convnet-s", *encoder, 1, 28);
  checkpoint.metadata.method = "simclr";
  checkpoint.metadata.normalization = D::to_string(D::compute_normalization(train));
  ssl::save_checkpoint(checkpoint, dir.file("checkpoint.pt"));
  const auto loaded = ssl::load_checkpoint(dir.file("checkpoint.pt"));

  const auto train_source = std::make_shared<D::MemorySource>(train);
  const auto test_source = std::make_shared<D::MemorySource>(test);
  const auto model =
      E::make_feature_model(E::Features::Encoder, loaded, dir.file("checkpoint.pt"), ssl::kTrainedEncoder, "",
                             *train_source, 0);
  CHECK(model.described == "simclr/convnet-s");
  D::FeatureAttributes attributes;
  attributes.text["model"] = model.described;
  const auto options = E::EmbedOptions().batch_size(64);
  int64_t last_done = 0, last_total = 0;
  const auto written = E::embed_to_file(model, {train_source}, dir.file("train.h5"), attributes, options,
                                        [&](int64_t done, int64_t total) { last_done = done, last_total = total; });
  E::embed_to_file(model, {test_source}, dir.file("test.h5"), attributes, options);
  E::embed_to_file(model, {train_source, test_source}, dir.file("all.h5"), attributes, options);
  CHECK(written.rows == 200);
  CHECK(written.labelled);
  CHECK((last_done == 200 && last_total == 200));

  // The stored rows are the encoder's output on the same images (each part batched from its first image).
  const auto expected_train = E::extract_features(*model.encoder, train.images, model.norm, torch::kCPU, 64);
  const auto expected_test = E::extract_features(*model.encoder, test.images, model.norm, torch::kCPU, 64);
  const auto train_file = D::read_feature_file(dir.file("train.h5"), true);
  const auto test_file = D::read_feature_file(dir.file("test.h5"), true);
  const auto all_file = D::read_feature_file(dir.file("all.h5"), true);
  CHECK(written.feature_dim == expected_train.size(1));
  CHECK(torch::equal(train_file.features, expected_train));
  CHECK(torch::equal(train_file.labels, train.labels));
  CHECK(torch::equal(all_file.features, torch::cat({expected_train, expected_test})));
  CHECK(torch::equal(all_file.labels, torch::cat({train.labels, test.labels})));
  CHECK(train_file.attributes.text.at("model") == "simclr/convnet-s");
  CHECK(train_file.attributes.integers.at("feature_dim") == expected_train.size(1));

  // The probe path of sslkit probe --checkpoint: a freshly rebuilt encoder, extraction in batches of 64.
  const auto rebuilt =
      E::make_feature_model(E::Features::Encoder, loaded, dir.file("checkpoint.pt"), ssl::kTrainedEncoder, "",
                             *train_source, 0);
  const auto probe_options = E::LinearProbeOptions().validation_size(40).max_iterations(30).seed(7);
  const auto from_checkpoint = E::linear_probe(rebuilt(train.images, torch::kCPU, 64), train.labels,
                                               rebuilt(test.images, torch::kCPU, 64), test.labels, probe_options);
  const auto from_files =
      E::linear_probe(train_file.features, train_file.labels, test_file.features, test_file.labels, probe_options);
  CHECK(from_files.test_accuracy == from_checkpoint.test_accuracy);
  CHECK(from_files.weight_decay == from_checkpoint.weight_decay);
  CHECK(torch::equal(from_files.test_logits, from_checkpoint.test_logits));
  CHECK(from_files.test_accuracy > 0.9);  // brightness classes are easy: the equality is not one of chance runs
}

TEST_CASE("Raw-pixel features embed as the probe's raw baseline; a failed embed leaves no file",
          "[eval][embed]") {
  TempDir dir;
  const auto train = brightness_set(50, 4);
  const auto source = std::make_shared<D::MemorySource>(train);
  const auto model = E::make_feature_model(E::Features::Raw, std::nullopt, "", ssl::kTrainedEncoder, "", *source, 0);
  E::embed_to_file(model, {source}, dir.file("raw.h5"), {}, E::EmbedOptions().batch_size(16));
  CHECK(torch::equal(D::read_feature_file(dir.file("raw.h5"), true).features,
                     E::raw_pixel_features(train.images, model.norm)));
  // Parts of different image sizes: refused before anything is written.
  D::ImageSet small = train;
  small.images = train.images.narrow(1, 0, 20).contiguous();
  CHECK(error_message([&] {
          E::embed_to_file(model, {source, std::make_shared<D::MemorySource>(small)}, dir.file("x.h5"), {});
        }) == "embed: images of 'brightness' are 20x28x1 but those of 'brightness' are 28x28x1");
  CHECK(std::distance(std::filesystem::directory_iterator(dir.str()), std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("Masks stored in HDF5 drive the dense probe's PA, MPA and mIoU", "[eval][embed][dense]") {
  // Train: 8 images 4x4 whose mask is exactly "pixel is bright" (200 vs 0), so a per-pixel probe on raw pixels
  // learns brightness. Test: one image with bright pixels 0..5 but a stored mask of 0..3 and 10..11: the probe
  // predicts brightness, the truth is the file's mask. Rows = truth: background 10 pixels (2 predicted
  // foreground: 4, 5), foreground 6 pixels (2 predicted background: 10, 11).
  // PA = 12/16; MPA = (8/10 + 4/6) / 2; IoU background 8/12, foreground 4/8.
  TempDir dir;
  torch::manual_seed(9);
  const auto train_masks = torch::randint(0, 2, {8, 4, 4}, torch::kUInt8);
  const auto train_images = (train_masks * 200).view({8, 4, 4, 1}).contiguous();
  auto test_images = torch::zeros({1, 4, 4, 1}, torch::kUInt8);
  test_images.view({16}).narrow(0, 0, 6).fill_(200);
  auto test_masks = torch::zeros({1, 4, 4}, torch::kUInt8);
  test_masks.view({16}).narrow(0, 0, 4).fill_(1);
  test_masks.view({16}).narrow(0, 10, 2).fill_(1);
  auto write = [&](const std::string& path, const torch::Tensor& images, const torch::Tensor& masks) {
    D::Hdf5Writer writer(path, 4, 4, 1, false, {}, D::Hdf5WriteOptions().masks(true));
    writer.append(images.data_ptr<uint8_t>(), nullptr, images.size(0), masks.data_ptr<uint8_t>());
    writer.finish();
  };
  write(dir.file("train.h5"), train_images, train_masks);
  write(dir.file("test.h5"), test_images, test_masks);
  const auto train = D::materialize(*D::open_source(dir.file("train.h5"), D::Split::Train));
  const auto test = D::materialize(*D::open_test_source(dir.file("test.h5")));
  REQUIRE((train.masks.defined() && test.masks.defined()));
  CHECK(torch::equal(test.masks, test_masks.to(torch::kInt64)));
  const auto result = E::dense_probe(E::raw_dense_features(), train.images, train.masks, test.images, test.masks,
                                     D::compute_normalization(train), torch::kCPU,
                                     E::DenseProbeOptions().max_train_images(0).pixels_per_image(16));
  CHECK(torch::equal(result.confusion, torch::tensor({8, 2, 2, 4}, torch::kInt64).view({2, 2})));
  CHECK(result.scores.pixel_accuracy == Approx(0.75));
  CHECK(result.scores.mean_pixel_accuracy == Approx((0.8 + 4.0 / 6) / 2));
  CHECK(result.scores.mean_iou == Approx((8.0 / 12 + 0.5) / 2));
}
