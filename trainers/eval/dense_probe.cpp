#include "sslkit/trainers/eval/dense_probe.h"

#include "sslkit/data/rng.h"
#include "sslkit/data/sources/source.h"

#include <torch/nn/functional/upsampling.h>

namespace ssl::eval {
namespace {

void check_masks(const torch::Tensor& images, const torch::Tensor& masks, const char* split) {
  TORCH_CHECK(images.dim() == 4 && images.scalar_type() == torch::kUInt8, "dense probe: ", split,
              " images must be uint8 [N, H, W, C], got ", images.sizes());
  TORCH_CHECK(masks.dim() == 3 && masks.size(0) == images.size(0) && masks.size(1) == images.size(1) &&
                  masks.size(2) == images.size(2),
              "dense probe: ", split, " masks must be [N, H, W] = [", images.size(0), ", ", images.size(1), ", ",
              images.size(2), "], got ", masks.sizes());
}

}  // namespace

DenseFeatures encoder_dense_features(EncoderImpl& encoder) {
  return [&encoder](const torch::Tensor& images) {
    namespace F = torch::nn::functional;
    return F::interpolate(encoder.feature_map(images),
                          F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{images.size(2), images.size(3)})
                              .mode(torch::kBilinear)
                              .align_corners(false));
  };
}

DenseFeatures raw_dense_features() {
  return [](const torch::Tensor& images) { return images; };
}

torch::Tensor threshold_masks(const torch::Tensor& images, int64_t threshold) {
  return data::threshold_masks(images, threshold).to(torch::kInt64);
}

DenseProbeResult dense_probe(const DenseFeatures& features, const torch::Tensor& train_images,
                             const torch::Tensor& train_masks, const torch::Tensor& test_images,
                             const torch::Tensor& test_masks, const data::Normalization& norm, torch::Device device,
                             const DenseProbeOptions& options) {
  check_masks(train_images, train_masks, "train");
  check_masks(test_images, test_masks, "test");
  TORCH_CHECK(options.pixels_per_image() > 0 && options.batch_size() > 0,
              "dense probe: pixels per image and batch size must be > 0, got ", options.pixels_per_image(), " and ",
              options.batch_size());
  torch::NoGradGuard no_grad;
  const int64_t classes =
      std::max(train_masks.max().item<int64_t>(), test_masks.max().item<int64_t>()) + 1;
  const int64_t h = train_images.size(1), w = train_images.size(2);
  const int64_t n_train = options.max_train_images() > 0
                              ? std::min(options.max_train_images(), train_images.size(0))
                              : train_images.size(0);

  // Training pixels: `pixels_per_image` positions per image, drawn with (seed, image) so they never depend
  // on the batch size.
  std::vector<torch::Tensor> sampled_x, sampled_y;
  const auto masks_flat = train_masks.reshape({train_masks.size(0), h * w}).to(torch::kInt64);
  for (int64_t first = 0; first < n_train; first += options.batch_size()) {
    const int64_t count = std::min(options.batch_size(), n_train - first);
    std::vector<int64_t> positions(static_cast<size_t>(count * options.pixels_per_image()));
    for (int64_t b = 0; b < count; ++b) {
      data::Rng rng(options.seed(), 0, static_cast<uint64_t>(first + b), /*stream=*/0xde45e);
      for (int64_t p = 0; p < options.pixels_per_image(); ++p) {
        positions[static_cast<size_t>(b * options.pixels_per_image() + p)] = rng.integer(0, h * w - 1);
      }
    }
    auto index = torch::tensor(positions).view({count, options.pixels_per_image()});
    auto x = data::to_float_images(train_images.narrow(0, first, count), norm).to(device);
    auto f = features(x).to(torch::kFloat).cpu().flatten(2);  // [B, D, H*W]
    sampled_x.push_back(f.gather(2, index.unsqueeze(1).expand({count, f.size(1), options.pixels_per_image()}))
                            .permute({0, 2, 1})
                            .reshape({-1, f.size(1)}));
    sampled_y.push_back(masks_flat.narrow(0, first, count).gather(1, index).reshape({-1}));
  }
  const auto train_x = torch::cat(sampled_x), train_y = torch::cat(sampled_y);
  const LinearClassifier model = fit_linear_classifier(train_x, train_y, classes, options.linear());

  DenseProbeResult result;
  result.feature_dim = train_x.size(1);
  result.train_pixels = train_x.size(0);
  result.weight_decay = model.weight_decay;
  result.confusion = torch::zeros({classes, classes}, torch::kInt64);
  const auto mean = model.mean.to(device).view({1, -1, 1, 1}), stddev = model.stddev.to(device).view({1, -1, 1, 1});
  const auto weight = model.weight.to(device), bias = model.bias.to(device);
  for (int64_t first = 0; first < test_images.size(0); first += options.batch_size()) {
    const int64_t count = std::min(options.batch_size(), test_images.size(0) - first);
    auto x = data::to_float_images(test_images.narrow(0, first, count), norm).to(device);
    auto f = (features(x).to(torch::kFloat) - mean) / stddev;                       // [B, D, H, W]
    auto logits = torch::matmul(f.permute({0, 2, 3, 1}), weight) + bias;            // [B, H, W, K]
    auto predicted = logits.argmax(3).cpu().reshape({-1});
    result.confusion += confusion_matrix(predicted, test_masks.narrow(0, first, count).reshape({-1}), classes);
  }
  result.scores = segmentation_scores(result.confusion);
  return result;
}

}  // namespace ssl::eval
