#pragma once
#include "sslkit/data/dataset.h"
#include "sslkit/ssl/checkpoint.h"
#include "sslkit/ssl/encoders.h"

#include <torch/torch.h>

#include <string>

namespace ssl::testing {

/// A checkpoint of a fresh `name` encoder for `channels`-channel images, its BatchNorm running statistics moved away
/// from 0 / 1 so that eval mode differs from training mode, with a recorded normalization.
inline ssl::Checkpoint random_checkpoint(const std::string& name, int64_t channels, ssl::data::Normalization norm) {
  torch::manual_seed(6);
  auto encoder = ssl::make_encoder(name, ssl::EncoderOptions(channels));
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

}  // namespace ssl::testing
