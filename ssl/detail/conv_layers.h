#pragma once
// Building blocks the convolutional encoders share; internal to sslkit_core.
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

namespace ssl::detail {

/// A bias-free k x k convolution padded to keep the size at stride 1 ("same" padding k / 2).
inline torch::nn::Conv2d conv_same(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups = 1) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).groups(groups).bias(false));
}

/// Appends conv k x k (bias-free) + BatchNorm + ReLU to `seq`.
inline void add_conv_bn_relu(torch::nn::Sequential& seq, int64_t in, int64_t out, int64_t stride,
                             int64_t kernel = 3) {
  seq->push_back(conv_same(in, out, kernel, stride));
  seq->push_back(torch::nn::BatchNorm2d(out));
  seq->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(true)));
}

/// A shortcut for a residual block: empty (identity) when the shape is kept, else conv1x1 + BatchNorm.
inline torch::nn::Sequential projection_shortcut(int64_t in, int64_t out, int64_t stride) {
  torch::nn::Sequential shortcut;
  if (stride != 1 || in != out) {
    shortcut->push_back(conv_same(in, out, 1, stride));
    shortcut->push_back(torch::nn::BatchNorm2d(out));
  }
  return shortcut;
}

}  // namespace ssl::detail
