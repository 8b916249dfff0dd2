#include "errors.h"
#include "export_helpers.h"
#include "temp_dir.h"

#include "sslkit/ssl/checkpoint.h"
#include "sslkit/trainers/export/export.h"
#include "sslkit/trainers/export/onnx.h"

#include <catch2/catch.hpp>
#include <onnx/onnx_pb.h>
#include <opencv2/dnn.hpp>

#include <filesystem>
#include <fstream>
#include <map>

using ssl::testing::error_message;
using ssl::testing::random_checkpoint;
using ssl::testing::reference_features;
using ssl::testing::TempDir;
namespace X = ssl::exporter;

namespace {

// The features OpenCV's DNN module computes from the ONNX file for `images` [N, C, H, W].
torch::Tensor opencv_features(const std::string& path, const torch::Tensor& images) {
  cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
  const auto input = images.contiguous();
  const std::vector<int> sizes(input.sizes().begin(), input.sizes().end());
  net.setInput(cv::Mat(static_cast<int>(sizes.size()), sizes.data(), CV_32F, input.data_ptr<float>()));
  const cv::Mat out = net.forward();
  REQUIRE(out.type() == CV_32F);
  REQUIRE(out.dims == 2);
  return torch::from_blob(const_cast<float*>(out.ptr<float>()), {out.size[0], out.size[1]}).clone();
}

onnx::ModelProto read_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  onnx::ModelProto model;
  REQUIRE(model.ParseFromIstream(&in));
  return model;
}

}  // namespace

TEST_CASE("ONNX export: OpenCV's DNN module runs every encoder's file to the features of the LibTorch encoder",
          "[export][onnx]") {
  // Tolerance: OpenCV runs its own float32 convolutions and matrix products on weights with each BatchNorm folded
  // in (computed in float64, rounded once), so the features differ from LibTorch's by rounding only: measured max
  // |diff| 1.2e-7 (convnet-s), 2.4e-7 (convnet-w, resnet18) on 2026-12-02, 3.4e-6 (resnet50, ImageNet stem),
  // 9.2e-7 (efficientnet-b1), 2.4e-6 (vit-tiny), 2.7e-6 (vit-small) on 2026-12-03; the issue asks for 1e-4.
  TempDir dir;
  const ssl::data::Normalization norm{{0.3f, 0.5f, 0.2f}, {0.25f, 0.4f, 0.3f}};
  for (const auto& [name, stem] : ssl::testing::exportable_encoders()) {
    INFO(name << " with stem " << stem);
    const auto checkpoint = random_checkpoint(name, 3, norm, stem);
    const std::string path = dir.file(name + "-" + stem + ".onnx");
    X::export_onnx(checkpoint, path);
    torch::manual_seed(3);
    const auto images = torch::rand({3, 3, 28, 28});
    const auto expected = reference_features(checkpoint, norm, images);
    const auto exported = opencv_features(path, images);
    REQUIRE(exported.sizes() == expected.sizes());
    CHECK((exported - expected).abs().max().item<double>() <= 1e-4);

    const auto model = read_model(path);
    CHECK(model.opset_import(0).version() == 13);
    std::map<std::string, std::string> properties;
    for (const auto& property : model.metadata_props()) properties[property.key()] = property.value();
    CHECK(properties == std::map<std::string, std::string>{
                            {"encoder", name},
                            {"method", "simclr"},
                            {"normalization", ssl::data::to_string(norm)},
                            {"in_channels", "3"},
                            {"image_size", "28"},
                            {"feature_dim", std::to_string(expected.size(1))},
                            {"sslkit_version", model.producer_version()}});
    const auto& input = model.graph().input(0).type().tensor_type().shape();
    CHECK(input.dim(0).dim_param() == "N");
    CHECK(input.dim(2).dim_value() == 28);
    // Every BatchNorm of the encoder is folded into its convolution: the one BatchNormalization is the input's.
    int64_t batch_norms = 0;
    for (const auto& node : model.graph().node()) batch_norms += node.op_type() == "BatchNormalization";
    CHECK(batch_norms == 1);
    CHECK(model.graph().node(0).op_type() == "BatchNormalization");
  }
}

TEST_CASE("ONNX export: a fixed batch and image size shape the input; OpenCV runs them", "[export][onnx]") {
  TempDir dir;
  const ssl::data::Normalization norm{{0.28f}, {0.35f}};
  const auto checkpoint = random_checkpoint("convnet-s", 1, norm);
  const std::string path = dir.file("fixed.onnx");
  X::export_onnx(checkpoint, path, X::OnnxOptions().batch(2).image_size(32));
  const auto model = read_model(path);
  const auto& input = model.graph().input(0).type().tensor_type().shape();
  CHECK(input.dim(0).dim_value() == 2);
  CHECK(input.dim(1).dim_value() == 1);
  CHECK(input.dim(3).dim_value() == 32);
  const auto images = torch::rand({2, 1, 32, 32});
  // Tolerance as above: measured 1.2e-7 for this shape on 2026-12-02.
  CHECK((opencv_features(path, images) - reference_features(checkpoint, norm, images)).abs().max().item<double>() <=
        1e-4);
}

TEST_CASE("ONNX export: a ViT's graph for another image size adds its interpolated position embeddings, as OpenCV "
          "shows",
          "[export][onnx]") {
  // Tolerance as above: measured 1.9e-6 on 2026-12-03 (28 px checkpoint, 20 px input: 5x5 patches instead of 7x7),
  // and 4.1e-3 with the table interpolated with align_corners true.
  TempDir dir;
  const ssl::data::Normalization norm{{0.3f, 0.5f, 0.2f}, {0.25f, 0.4f, 0.3f}};
  const auto checkpoint = random_checkpoint("vit-tiny", 3, norm);
  const std::string path = dir.file("vit-20.onnx");
  X::export_onnx(checkpoint, path, X::OnnxOptions().image_size(20));
  torch::manual_seed(4);
  const auto images = torch::rand({2, 3, 20, 20});
  const auto difference = (opencv_features(path, images) - reference_features(checkpoint, norm, images)).abs().max();
  CHECK(difference.item<double>() <= 1e-4);
  CHECK(error_message([&] {
          X::export_onnx(checkpoint, dir.file("never.onnx"), X::OnnxOptions().image_size(3), "checkpoint 'V'");
        }) == "checkpoint 'V': cannot export encoder 'vit-tiny' to ONNX: image size 3 is smaller than its 4 px "
              "patches");
  CHECK_FALSE(std::filesystem::exists(dir.file("never.onnx")));
}

TEST_CASE("ONNX export refuses bad options and checkpoints in one line, leaving nothing behind", "[export][onnx]") {
  TempDir dir;
  const auto checkpoint = random_checkpoint("convnet-s", 1, {{0.28f}, {0.35f}});
  const auto out = dir.file("never.onnx");
  CHECK(error_message([&] { X::export_onnx(checkpoint, out, X::OnnxOptions().batch(-1)); }) ==
        "ONNX batch must be >= 0 (0: dynamic), got -1");
  CHECK(error_message([&] { X::export_onnx(checkpoint, out, X::OnnxOptions().image_size(-3)); }) ==
        "ONNX image size must be >= 0 (0: the checkpoint's), got -3");
  auto no_norm = checkpoint;
  no_norm.metadata.normalization.clear();
  CHECK(error_message([&] { X::export_onnx(no_norm, out, {}, "checkpoint 'P'"); }) ==
        "checkpoint 'P': records no input normalization, which the exported extractor applies; retrain or re-save it "
        "with a current sslkit");
  CHECK_FALSE(std::filesystem::exists(out));

  std::filesystem::create_directories(dir.file("run"));
  ssl::save_checkpoint(checkpoint, dir.file("run/checkpoint.pt"));
  const auto result = X::export_encoder(
      X::ExportOptions().checkpoint(dir.file("run")).out(dir.file("e.onnx")).format(X::ExportFormat::kOnnx));
  CHECK(result.feature_dim == 256);
  CHECK(result.bytes == static_cast<int64_t>(std::filesystem::file_size(dir.file("e.onnx"))));
  CHECK(X::onnx_available());
}
