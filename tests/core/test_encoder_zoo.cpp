// The encoders for real images: parameter counts against the published figures, shapes per image size, the stem
// and patch-size choices, and the parts (stochastic depth, channel rounding, position-embedding resizing).
#include "sslkit/ssl/efficientnet.h"
#include "sslkit/ssl/encoders.h"
#include "sslkit/ssl/flops.h"
#include "sslkit/ssl/resnet.h"
#include "sslkit/ssl/vit.h"

#include <catch2/catch.hpp>

namespace {

int64_t parameter_count(const ssl::EncoderImpl& encoder) {
  int64_t count = 0;
  for (const auto& p : encoder.parameters()) count += p.numel();
  return count;
}

ssl::Encoder make(const std::string& name, int64_t channels, int64_t size) {
  return ssl::make_encoder(name, ssl::EncoderOptions(channels).image_size(size));
}

}  // namespace

TEST_CASE("Parameter counts equal the published models without their classifiers", "[core][encoders]") {
  // torchvision's num_params (ImageNet stem, 3 channels) less the classifier Linear(D, 1000): resnet18 11,689,512
  // - 513,000; resnet34 21,797,672 - 513,000; resnet50 25,557,032 - 2,049,000 (the 23.5 M);
  // efficientnet_b0 5,288,548 - 1,281,000 (the paper's 5.3 M with its classifier, about 4.0 M without).
  CHECK(parameter_count(*make("resnet18", 3, 224)) == 11176512);
  CHECK(parameter_count(*make("resnet34", 3, 224)) == 21284672);
  CHECK(parameter_count(*make("resnet50", 3, 224)) == 23508032);
  CHECK(parameter_count(*make("efficientnet-b0", 3, 224)) == 4007548);
  // timm's vit_tiny_patch16_224 5,717,416 - head 193,000 and vit_small_patch16_224 22,050,664 - 385,000 (DeiT).
  CHECK(parameter_count(*make("vit-tiny", 3, 224)) == 5524416);
  CHECK(parameter_count(*make("vit-small", 3, 224)) == 21665664);
  // The CIFAR stem's conv3x3 replaces the conv7x7: 3*64*(49 - 9) fewer weights.
  CHECK(parameter_count(*make("resnet18", 3, 32)) == 11176512 - 3 * 64 * 40);
}

TEST_CASE("Forward FLOPs equal torchvision's published GFLOPS at 224 px", "[core][encoders][flops]") {
  // torchvision's model tables give multiply-adds at 224x224 with the classifier, to two decimals: resnet18 1.81,
  // resnet34 3.66, resnet50 4.09, efficientnet_b0 0.39 (the classifier adds at most 0.002). Two FLOPs each.
  const auto gmacs = [](const std::string& name) {
    auto encoder = make(name, 3, 224);
    return static_cast<double>(ssl::encoder_flops_per_image(*encoder, {3, 224, 224})) / 2e9;
  };
  CHECK(gmacs("resnet18") == Approx(1.81).margin(0.006));
  CHECK(gmacs("resnet34") == Approx(3.66).margin(0.006));
  CHECK(gmacs("resnet50") == Approx(4.09).margin(0.006));
  CHECK(gmacs("efficientnet-b0") == Approx(0.39).margin(0.006));
}

TEST_CASE("A ViT's FLOPs are its patch embedding, projections, attention products and MLPs", "[core][encoders][flops]") {
  // vit-tiny on 28x28x1 with 4 px patches: N = 49 patches, T = 50 tokens, D = 192. Per block, multiply-adds:
  // qkv T*D*3D + q k^T T*T*D + attention v T*T*D + projection T*D*D + MLP 2*T*D*4D = 12 T D^2 + 2 T^2 D.
  const int64_t t = 50, d = 192;
  const int64_t per_block = 12 * t * d * d + 2 * t * t * d;
  const int64_t patch_embedding = 49 * d * 16;
  auto vit = make("vit-tiny", 1, 28);
  CHECK(ssl::encoder_flops_per_image(*vit, {1, 28, 28}) == 2 * (12 * per_block + patch_embedding));
}

TEST_CASE("Every encoder maps each image size to its features and feature map", "[core][encoders]") {
  struct Case {
    std::string name;
    int64_t channels, size, map_side;
  };
  // Map sides: CIFAR-stem ResNets halve 3 times (28 -> 4); ImageNet-stem ones 5 times (96 -> 3); EfficientNets 5
  // times (28 -> 1, 64 -> 2, 96 -> 3); ViTs are the patch grid (28 / 4, 64 / 4, 96 / 16).
  const std::vector<Case> cases{
      {"resnet18", 1, 28, 4},        {"resnet18", 3, 96, 3},        {"resnet34", 3, 64, 8},
      {"resnet50", 3, 96, 3},        {"efficientnet-b0", 1, 28, 1}, {"efficientnet-b1", 3, 64, 2},
      {"efficientnet-b2", 3, 96, 3}, {"efficientnet-b3", 3, 64, 2}, {"vit-tiny", 1, 28, 7},
      {"vit-tiny", 3, 64, 16},       {"vit-small", 3, 96, 6}};
  torch::manual_seed(0);
  for (const auto& c : cases) {
    INFO(c.name << " on " << c.channels << "x" << c.size << "x" << c.size);
    auto encoder = make(c.name, c.channels, c.size);
    encoder->eval();
    torch::NoGradGuard no_grad;
    const auto images = torch::randn({2, c.channels, c.size, c.size});
    const auto features = encoder->forward(images);
    CHECK(features.sizes() == torch::IntArrayRef{2, encoder->feature_dim()});
    CHECK(torch::isfinite(features).all().item<bool>());
    CHECK(encoder->feature_map(images).sizes() ==
          torch::IntArrayRef{2, encoder->feature_dim(), c.map_side, c.map_side});
  }
  const std::vector<std::pair<std::string, int64_t>> dims{{"resnet34", 512},         {"resnet50", 2048},
                                                          {"efficientnet-b0", 1280}, {"efficientnet-b1", 1408},
                                                          {"efficientnet-b2", 1536}, {"efficientnet-b3", 1696},
                                                          {"vit-tiny", 192},         {"vit-small", 384}};
  for (const auto& [name, dim] : dims) CHECK(make(name, 1, 28)->feature_dim() == dim);
}

TEST_CASE("The ResNet stem is picked by image size unless chosen, and only ResNets take one", "[core][encoders]") {
  CHECK(make("resnet18", 1, 28)->stem() == "cifar");
  CHECK(make("resnet18", 1, 95)->stem() == "cifar");
  CHECK(make("resnet50", 3, 96)->stem() == "imagenet");
  CHECK(ssl::make_encoder("resnet34", ssl::EncoderOptions(3).image_size(224).stem("cifar"))->stem() == "cifar");
  CHECK(ssl::make_encoder("resnet18", ssl::EncoderOptions(1).stem("imagenet"))->stem() == "imagenet");
  CHECK(make("convnet-w", 1, 224)->stem().empty());
  CHECK_THROWS_WITH(ssl::make_encoder("resnet18", ssl::EncoderOptions(1).stem("vgg")),
                    Catch::Contains("encoder resnet18: unknown stem 'vgg': expected auto, cifar or imagenet"));
  CHECK_THROWS_WITH(ssl::make_encoder("convnet-w", ssl::EncoderOptions(1).stem("imagenet")),
                    Catch::Contains("encoder convnet-w has no stem choice, got stem 'imagenet' (resnet18, resnet34 "
                                    "and resnet50 have one)"));
  CHECK_THROWS_WITH(ssl::make_encoder("resnet18", ssl::EncoderOptions(1).patch_size(4)),
                    Catch::Contains("encoder resnet18 has no patch size, got patch size 4 (the vit encoders have one)"));
}

TEST_CASE("The ViT patch size is picked by image size unless chosen, and other sizes interpolate positions",
          "[core][encoders][vit]") {
  CHECK(make("vit-tiny", 1, 28)->patch_size() == 4);
  CHECK(make("vit-tiny", 3, 96)->patch_size() == 16);
  CHECK(make("convnet-s", 1, 28)->patch_size() == 0);
  auto vit = ssl::make_encoder("vit-tiny", ssl::EncoderOptions(1).image_size(28).patch_size(7));
  CHECK(vit->patch_size() == 7);
  CHECK_THROWS_WITH(ssl::make_encoder("vit-tiny", ssl::EncoderOptions(1).image_size(28).patch_size(32)),
                    Catch::Contains("encoder vit-tiny: patch size 32 is larger than the 28 px images"));
  CHECK_THROWS_WITH(ssl::make_encoder("vit-tiny", ssl::EncoderOptions(1).patch_size(-1)),
                    Catch::Contains("encoder vit-tiny: patch size must be >= 0 (0: by image size), got -1"));
  // Built for 28 px (a 7x7 grid): multi-crop's 12 px crops (3x3) and 56 px images (14x14) go through it.
  auto tiny = make("vit-tiny", 1, 28);
  tiny->eval();
  torch::NoGradGuard no_grad;
  for (const int64_t side : {12, 28, 56}) {
    INFO(side << " px");
    CHECK(tiny->forward(torch::randn({2, 1, side, side})).sizes() == torch::IntArrayRef{2, 192});
  }
  CHECK_THROWS_WITH(tiny->forward(torch::randn({1, 1, 3, 3})), Catch::Contains("smaller than"));
  // Bicubic interpolation reproduces a constant grid: with every position embedding equal and the same patch
  // everywhere, each embedded patch of a 14x14 grid equals those of the 7x7 grid the embeddings were learned for.
  auto& vit_impl = dynamic_cast<ssl::VisionTransformerImpl&>(*tiny);
  vit_impl.named_parameters()["position"].fill_(0.25);
  const auto patch = torch::rand({1, 1, 4, 4});
  const auto native = vit_impl.embed_patches(patch.repeat({1, 1, 7, 7}));
  const auto resized = vit_impl.embed_patches(patch.repeat({1, 1, 14, 14}));
  REQUIRE(resized.sizes() == torch::IntArrayRef{1, 196, 192});
  // float32 rounding of the 16-tap bicubic sums of 0.25: measured max |diff| ~1e-7.
  CHECK(torch::allclose(resized, native.select(1, 0).unsqueeze(1).expand_as(resized), 0, 1e-6));
}

TEST_CASE("EfficientNet's parts: channel rounding, compound depth, stochastic depth", "[core][encoders]") {
  // The reference code's round_filters: nearest multiple of 8, at least 8, bumped up when more than 10% below.
  CHECK(ssl::round_channels(32) == 32);
  CHECK(ssl::round_channels(35.2) == 32);
  CHECK(ssl::round_channels(387.2) == 384);
  CHECK(ssl::round_channels(3) == 8);
  CHECK(ssl::round_channels(43.9) == 40);   // 40 >= 0.9 * 43.9
  CHECK(ssl::round_channels(20.1) == 24);   // int(24.1) // 8 * 8 = 24
  CHECK(ssl::round_channels(11.9) == 16);   // 8 < 0.9 * 11.9 = 10.7, bumped to 16
  // Blocks of B0 (16 in the 7 stages) and of B3 (depth 1.2^3 = 1.728, each stage's count rounded up: 31).
  const auto blocks = [](const std::string& name) {
    int64_t count = 0;
    for (const auto& m : make(name, 3, 64)->modules()) count += m->as<ssl::MBConvImpl>() != nullptr;
    return count;
  };
  CHECK(blocks("efficientnet-b0") == 16);
  CHECK(blocks("efficientnet-b3") == 2 + 4 + 4 + 6 + 6 + 7 + 2);
  // Stochastic depth: rows kept or zeroed whole, kept ones scaled by 1 / (1 - p); identity in eval mode.
  torch::manual_seed(4);
  const auto branch = torch::ones({4000, 2, 3, 3});
  const auto dropped = ssl::stochastic_depth(branch, 0.25, /*training=*/true);
  const auto row_values = dropped.flatten(1);
  CHECK(torch::equal(row_values.amin(1), row_values.amax(1)));
  CHECK(torch::logical_or(row_values.select(1, 0).eq(0), row_values.select(1, 0).eq(1 / 0.75)).all().item<bool>());
  // Kept fraction 0.75 of 4000 rows: binomial sd sqrt(4000 * 0.75 * 0.25) / 4000 = 0.0068; 4 sd is 0.028.
  CHECK(row_values.select(1, 0).ne(0).to(torch::kDouble).mean().item<double>() == Approx(0.75).margin(0.028));
  CHECK(torch::equal(ssl::stochastic_depth(branch, 0.25, /*training=*/false), branch));
}
