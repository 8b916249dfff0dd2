#include "errors.h"
#include "export_helpers.h"
#include "temp_dir.h"

#include "sslkit/data/dataset.h"
#include "sslkit/ssl/checkpoint.h"
#include "sslkit/trainers/export/export.h"
#include "sslkit/trainers/export/torchscript.h"

#include <catch2/catch.hpp>
#include <torch/script.h>

#include <filesystem>

using ssl::testing::error_message;
using ssl::testing::random_checkpoint;
using ssl::testing::TempDir;
namespace X = ssl::exporter;

TEST_CASE("TorchScript export: every encoder's file returns the features of the normalized images in eval mode",
          "[export]") {
  // Tolerance: the file runs the same float32 kernels on the same weights (stored contiguous instead of
  // channels-last), so the features agree to float rounding; measured 1.2e-7 (convnets) and 2.4e-7 (resnet18) on
  // 2026-12-01, 1.4e-6 (resnet50, ImageNet stem), 1.8e-7 (efficientnet-b1) and 0 (the ViTs: the same ops in the
  // same order) on 2026-12-03; the issue asks for 1e-4.
  TempDir dir;
  const ssl::data::Normalization norm{{0.3f, 0.5f, 0.2f}, {0.25f, 0.4f, 0.3f}};
  for (const auto& [name, stem] : ssl::testing::exportable_encoders()) {
    INFO(name << " with stem " << stem);
    const auto checkpoint = random_checkpoint(name, 3, norm, stem);
    const std::string path = dir.file(name + "-" + stem + ".pt");
    X::export_torchscript(checkpoint, path);
    auto loaded = torch::jit::load(path);
    const auto images = torch::rand({4, 3, 28, 28});
    const auto exported = loaded.forward({images}).toTensor();

    auto encoder = ssl::rebuild_encoder(checkpoint);
    encoder->eval();
    torch::NoGradGuard no_grad;
    const auto mean = torch::tensor(norm.mean).view({1, 3, 1, 1}), stddev = torch::tensor(norm.stddev).view({1, 3, 1, 1});
    const auto expected = encoder->forward((images - mean) / stddev);
    REQUIRE(exported.sizes() == expected.sizes());
    CHECK((exported - expected).abs().max().item<double>() <= 1e-4);
    // Another image size goes through too (global average pooling; a ViT interpolates its position embeddings).
    CHECK(loaded.forward({torch::rand({2, 3, 36, 36})}).toTensor().sizes() == std::vector<int64_t>{2, encoder->feature_dim()});

    CHECK(loaded.attr("encoder").toStringRef() == name);
    CHECK(loaded.attr("method").toStringRef() == "simclr");
    CHECK(loaded.attr("normalization").toStringRef() == ssl::data::to_string(norm));
    CHECK(loaded.attr("in_channels").toInt() == 3);
    CHECK(loaded.attr("image_size").toInt() == 28);
    CHECK(loaded.attr("feature_dim").toInt() == encoder->feature_dim());
    CHECK(loaded.attr("sslkit_version").toStringRef().size() > 0);
    CHECK(error_message([&] { loaded.forward({torch::rand({2, 1, 28, 28})}); }).find(
              "sslkit feature extractor: expected float images [N, 3, H, W] in [0, 1]") != std::string::npos);
  }
}

TEST_CASE("TorchScript export: a ViT's file interpolates its position embeddings for another image size as the "
          "encoder does, and refuses images smaller than a patch",
          "[export]") {
  // Tolerance as above: the file runs the encoder's bicubic interpolation (upsample_bicubic2d, align_corners false)
  // on the same weights; measured 0 on 2026-12-03 (28 px checkpoint, 20 px images: 5x5 patches instead of 7x7),
  // and 4.3e-3 with align_corners true.
  TempDir dir;
  const ssl::data::Normalization norm{{0.3f, 0.5f, 0.2f}, {0.25f, 0.4f, 0.3f}};
  const auto checkpoint = random_checkpoint("vit-tiny", 3, norm);
  const std::string path = dir.file("vit.pt");
  X::export_torchscript(checkpoint, path);
  auto loaded = torch::jit::load(path);
  torch::manual_seed(5);
  const auto images = torch::rand({2, 3, 20, 20});
  const auto expected = ssl::testing::reference_features(checkpoint, norm, images);
  const auto exported = loaded.forward({images}).toTensor();
  REQUIRE(exported.sizes() == expected.sizes());
  CHECK((exported - expected).abs().max().item<double>() <= 1e-4);
  CHECK(error_message([&] { loaded.forward({torch::rand({2, 3, 3, 28})}); }).find(
            "sslkit feature extractor: expected float images [N, 3, H, W] in [0, 1], H and W >= 4") !=
        std::string::npos);
}

TEST_CASE("export_encoder reads a run directory, writes atomically and refuses what it cannot export in one line",
          "[export]") {
  TempDir dir;
  const auto checkpoint = random_checkpoint("convnet-s", 1, {{0.28f}, {0.35f}});
  std::filesystem::create_directories(dir.file("run"));
  ssl::save_checkpoint(checkpoint, dir.file("run/checkpoint.pt"));
  const auto result = X::export_encoder(X::ExportOptions().checkpoint(dir.file("run")).out(dir.file("e.pt")));
  CHECK(result.checkpoint_path == dir.file("run/checkpoint.pt"));
  CHECK(result.encoder == "convnet-s");
  CHECK(result.feature_dim == 256);
  CHECK(result.bytes == static_cast<int64_t>(std::filesystem::file_size(dir.file("e.pt"))));

  CHECK(error_message([] { X::parse_export_format("onnx2"); }) == "unknown export format 'onnx2': expected torchscript or onnx");
  auto no_norm = checkpoint;
  no_norm.metadata.normalization.clear();
  CHECK(error_message([&] { X::export_torchscript(no_norm, dir.file("never.pt"), "checkpoint 'P'"); }) ==
        "checkpoint 'P': records no input normalization, which the exported extractor applies; retrain or re-save it "
        "with a current sslkit");
  CHECK_FALSE(std::filesystem::exists(dir.file("never.pt")));
  const auto missing = dir.file("absent");
  CHECK(error_message([&] { X::export_encoder(X::ExportOptions().checkpoint(missing).out(dir.file("never.pt"))); })
            .find(missing) != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.file("never.pt")));
}

TEST_CASE("export_encoder writes the encoder weights named: an EMA network the checkpoint holds, or the trained one",
          "[export]") {
  // Tolerance: as the first test (the same float32 kernels on the same weights; measured 1.2e-7 for convnets).
  TempDir dir;
  const ssl::data::Normalization norm{{0.5f}, {0.25f}};
  auto checkpoint = random_checkpoint("convnet-s", 1, norm);
  auto teacher = random_checkpoint("convnet-s", 1, norm);
  for (auto& item : teacher.encoder) item.value() = item.value() * 0.5;
  checkpoint.modules["teacher_encoder"] = teacher.encoder;
  const std::string path = dir.file("c.pt");
  ssl::save_checkpoint(checkpoint, path);
  const auto images = torch::rand({2, 1, 28, 28});
  for (const auto* source : {&teacher, &checkpoint}) {
    const std::string weights = source == &teacher ? "teacher_encoder" : ssl::kTrainedEncoder;
    INFO(weights);
    X::export_encoder(X::ExportOptions().checkpoint(path).weights(weights).out(dir.file(weights + ".pt")));
    const auto exported = torch::jit::load(dir.file(weights + ".pt")).forward({images}).toTensor();
    CHECK((exported - ssl::testing::reference_features(*source, norm, images)).abs().max().item<double>() <= 1e-4);
  }
  CHECK(error_message([&] {
          X::export_encoder(X::ExportOptions().checkpoint(path).weights("target_encoder").out(dir.file("x.pt")));
        }) == "checkpoint '" + path + "': it holds no weights named 'target_encoder' (encoder, teacher_encoder)");
  CHECK_FALSE(std::filesystem::exists(dir.file("x.pt")));
}
