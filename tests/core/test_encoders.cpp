#include "sslkit/ssl/device.h"
#include "sslkit/ssl/encoders.h"
#include "sslkit/ssl/heads.h"

#include <catch2/catch.hpp>

TEST_CASE("Every registered encoder maps [B,C,H,W] to [B,feature_dim]", "[core][encoders]") {
  const auto names = ssl::encoder_names();
  REQUIRE(names == std::vector<std::string>{"convnet-s", "convnet-w", "convnet-x", "convnet-xl", "resnet18",
                                            "resnet34", "resnet50", "efficientnet-b0", "efficientnet-b1",
                                            "efficientnet-b2", "efficientnet-b3", "vit-tiny", "vit-small"});
  for (const auto& name : names) {
    for (const int64_t channels : {1, 3}) {
      auto encoder = ssl::make_encoder(name, ssl::EncoderOptions(channels));
      auto out = encoder->forward(torch::randn({2, channels, 28, 28}));
      INFO(name << " with " << channels << " channels");
      CHECK(out.sizes() == torch::IntArrayRef{2, encoder->feature_dim()});
    }
  }
  CHECK(ssl::make_encoder("convnet-s", ssl::EncoderOptions(1))->feature_dim() == 256);
  CHECK(ssl::make_encoder("convnet-w", ssl::EncoderOptions(1))->feature_dim() == 1024);
  CHECK(ssl::make_encoder("resnet18", ssl::EncoderOptions(1))->feature_dim() == 512);
  // convnet-s: 28 -> 28 -> 14 -> 7 -> 4.
  auto map = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1))->feature_map(torch::randn({1, 1, 28, 28}));
  CHECK(map.sizes() == torch::IntArrayRef{1, 256, 4, 4});
}

TEST_CASE("convnet-s, convnet-w, convnet-x and convnet-xl have the documented layer widths", "[core][encoders]") {
  const auto count = [](const std::string& name) {
    int64_t parameters = 0;
    for (const auto& p : ssl::make_encoder(name, ssl::EncoderOptions(1))->parameters()) parameters += p.numel();
    return parameters;
  };
  // Convs (no bias): 9*(1*32 + 32*64 + 64*128 + 128*last); BatchNorm weight+bias: 2*(32+64+128+last).
  CHECK(count("convnet-s") == 9 * (32 + 32 * 64 + 64 * 128 + 128 * 256) + 2 * (32 + 64 + 128 + 256));
  CHECK(count("convnet-w") == 9 * (32 + 32 * 64 + 64 * 128 + 128 * 1024) + 2 * (32 + 64 + 128 + 1024));
  CHECK(count("convnet-x") == 9 * (32 + 32 * 64 + 64 * 128 + 128 * 2048) + 2 * (32 + 64 + 128 + 2048));
  CHECK(count("convnet-xl") == 9 * (32 + 32 * 64 + 64 * 128 + 128 * 4096) + 2 * (32 + 64 + 128 + 4096));
  const auto map = ssl::make_encoder("convnet-w", ssl::EncoderOptions(1))->feature_map(torch::randn({1, 1, 28, 28}));
  CHECK(map.sizes() == torch::IntArrayRef{1, 1024, 4, 4});
}

TEST_CASE("Channels-last encoders compute what NCHW ones do, and train with channels-last gradients",
          "[core][encoders]") {
  for (const std::string name : {"convnet-s", "resnet18"}) {
    INFO(name);
    torch::manual_seed(2);
    auto nhwc = ssl::make_encoder(name, ssl::EncoderOptions(3));
    torch::manual_seed(2);
    auto nchw = ssl::make_encoder(name, ssl::EncoderOptions(3).channels_last(false));
    int64_t four_d = 0;
    for (const auto& p : nhwc->named_parameters()) {
      INFO(p.key());
      const torch::Tensor reference = nchw->named_parameters()[p.key()];
      CHECK(torch::equal(p.value(), reference));
      if (p.value().dim() != 4) continue;
      ++four_d;
      CHECK(p.value().is_contiguous(torch::MemoryFormat::ChannelsLast));
      if (p.value().size(2) > 1) CHECK_FALSE(p.value().is_contiguous());  // 1x1 kernels are both
      CHECK(reference.is_contiguous());
    }
    CHECK(four_d > 0);
    const auto images = torch::randn({4, 3, 28, 28});
    const auto out = nhwc->forward(images);
    CHECK(torch::allclose(out, nchw->forward(images), 1e-4, 1e-5));
    out.sum().backward();
    const torch::Tensor weight = nhwc->parameters().front();
    REQUIRE(weight.grad().defined());
    CHECK(weight.grad().is_contiguous(torch::MemoryFormat::ChannelsLast));
  }
}

TEST_CASE("Channels-last weights have channels-last strides even where a dimension is 1, so convolutions run NHWC",
          "[core][encoders]") {
  // `contiguous(ChannelsLast)` leaves a [C, 1, k, k] stem, a 1x1 or a depthwise weight with its NCHW strides (they
  // pass as channels-last too); the convolution then computes NCHW, and EfficientNet, built only from such
  // weights, ran 2.6x slower on 28x28 images. Its first convolution decides the layout of everything after it.
  for (const auto& name : ssl::encoder_names()) {
    INFO(name);
    const int64_t size = name.rfind("efficientnet", 0) == 0 ? 64 : 28;
    auto encoder = ssl::make_encoder(name, ssl::EncoderOptions(1).image_size(size));
    for (const auto& p : encoder->named_parameters()) {
      if (p.value().dim() != 4) continue;
      INFO(p.key());
      CHECK(p.value().strides() == torch::empty(p.value().sizes(), torch::MemoryFormat::ChannelsLast).strides());
    }
    if (name.rfind("vit", 0) == 0) continue;  // a ViT's only convolution is its patch embedding
    torch::NoGradGuard no_grad;
    const auto map = encoder->feature_map(torch::randn({2, 1, size, size}));
    REQUIRE(map.size(2) > 1);
    CHECK(map.suggest_memory_format() == torch::MemoryFormat::ChannelsLast);
  }
}

TEST_CASE("Unknown encoders and devices are refused listing the valid choices", "[core][errors]") {
  CHECK_THROWS_WITH(ssl::make_encoder("vgg", ssl::EncoderOptions(1)),
                    Catch::Contains("unknown encoder 'vgg': expected one of convnet-s, convnet-w, convnet-x, "
                                    "convnet-xl, resnet18"));
  CHECK_THROWS_WITH(ssl::make_encoder("convnet-s", ssl::EncoderOptions(0)),
                    Catch::Contains("in_channels must be > 0, got 0"));
  CHECK_THROWS_WITH(ssl::ConvNetImpl(ssl::EncoderOptions(1), {}, "convnet-0"),
                    Catch::Contains("encoder convnet-0: expected at least one block width, got none"));
  CHECK_THROWS_WITH(ssl::resolve_device("gpu"), Catch::Contains("invalid device 'gpu': expected auto, cpu, cuda or cuda:N"));
  CHECK_THROWS_WITH(ssl::resolve_device("cuda:x"), Catch::Contains("invalid device 'cuda:x'"));
  CHECK(ssl::resolve_device("cpu") == c10::Device(c10::kCPU));
  if (!torch::cuda::is_available()) {
    CHECK(ssl::resolve_device("auto") == c10::Device(c10::kCPU));
    CHECK_THROWS_WITH(ssl::resolve_device("cuda:0"), Catch::Contains("no CUDA device is available"));
  }
}

TEST_CASE("Projection head maps in_dim to out_dim", "[core][heads]") {
  ssl::ProjectionHead head(ssl::ProjectionHeadOptions(256).hidden_dim(64).out_dim(16));
  CHECK(head->forward(torch::randn({3, 256})).sizes() == torch::IntArrayRef{3, 16});
  CHECK_THROWS_WITH(ssl::ProjectionHead(ssl::ProjectionHeadOptions(0)), Catch::Contains("widths must be > 0"));
}

TEST_CASE("Projection head: 3 layers with BatchNorm and an affine-free output BatchNorm (SimSiam's projector)",
          "[core][heads]") {
  torch::manual_seed(0);
  ssl::ProjectionHead head(
      ssl::ProjectionHeadOptions(32).hidden_dim(24).out_dim(16).layers(3).batch_norm(true).output_batch_norm(true));
  // Linear(32, 24) BN ReLU Linear(24, 24) BN ReLU Linear(24, 16) BN(affine=false): 2 + 2 x 2 + 2 parameters.
  CHECK(head->parameters().size() == 8);
  const auto z = head->forward(torch::randn({64, 32}));
  CHECK(z.sizes() == torch::IntArrayRef{64, 16});
  // Training mode: every output dimension is standardized over the batch (mean 0, biased variance 1 - eps).
  CHECK(z.mean(0).abs().max().item<double>() < 1e-5);
  CHECK(z.var(0, /*unbiased=*/false).sub(1).abs().max().item<double>() < 1e-2);
  // The 2-layer default keeps the parameter names of existing checkpoints.
  ssl::ProjectionHead two(ssl::ProjectionHeadOptions(32).batch_norm(true));
  std::vector<std::string> names;
  for (const auto& p : two->named_parameters()) names.push_back(p.key());
  CHECK(names == std::vector<std::string>{"mlp.0.weight", "mlp.1.weight", "mlp.1.bias", "mlp.3.weight", "mlp.3.bias"});
  CHECK_THROWS_WITH(ssl::ProjectionHead(ssl::ProjectionHeadOptions(8).layers(1)),
                    Catch::Contains("layers must be >= 2, got 1"));
}
