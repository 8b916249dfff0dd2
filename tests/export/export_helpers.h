#pragma once
#include "sslkit/data/dataset.h"
#include "sslkit/ssl/checkpoint.h"
#include "sslkit/ssl/encoders.h"

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace ssl::testing {

/// A checkpoint of a fresh `name` encoder for `channels`-channel images, its BatchNorm running statistics moved away
/// from 0 / 1 so that eval mode differs from training mode, with a recorded normalization.
inline ssl::Checkpoint random_checkpoint(const std::string& name, int64_t channels, ssl::data::Normalization norm,
                                         const std::string& stem = "auto") {
  torch::manual_seed(6);
  auto encoder = ssl::make_encoder(name, ssl::EncoderOptions(channels).stem(stem));
  {
    torch::NoGradGuard no_grad;
    for (auto& item : encoder->named_buffers()) {
      if (item.key().find("running_mean") != std::string::npos) item.value().uniform_(-0.5, 0.5);
      if (item.key().find("running_var") != std::string::npos) item.value().uniform_(0.5, 2.0);
    }
  }
  auto checkpoint = ssl::make_checkpoint(name, *encoder, channels, 28);
  checkpoint.metadata.normalization = ssl::data::to_string(norm);
  checkpoint.metadata.method = "simclr";
  return checkpoint;
}

/// The encoder's eval-mode features of the normalized images: what `sslkit embed` computes.
inline torch::Tensor reference_features(const ssl::Checkpoint& checkpoint, const ssl::data::Normalization& norm,
                                        const torch::Tensor& images) {
  auto encoder = ssl::rebuild_encoder(checkpoint);
  encoder->eval();
  torch::NoGradGuard no_grad;
  const int64_t c = images.size(1);
  return encoder->forward((images - torch::tensor(norm.mean).view({1, c, 1, 1})) /
                          torch::tensor(norm.stddev).view({1, c, 1, 1}));
}

/// The encoders the exporters write, by registry name and ResNet stem: the convnets, every ResNet with both stems,
/// EfficientNet-B0 and B1 (B2 and B3 stack more blocks of the same kinds) and both Vision Transformers.
inline std::vector<std::pair<std::string, std::string>> exportable_encoders() {
  return {{"convnet-s", "auto"},       {"convnet-w", "auto"},       {"resnet18", "cifar"}, {"resnet18", "imagenet"},
          {"resnet34", "cifar"},       {"resnet50", "cifar"},       {"resnet50", "imagenet"},
          {"efficientnet-b0", "auto"}, {"efficientnet-b1", "auto"}, {"vit-tiny", "auto"},  {"vit-small", "auto"}};
}

}  // namespace ssl::testing
