#pragma once
#include <torch/types.h>

namespace ssl {

/// conv2d(input, weight) with square `stride` and `padding` (no bias, dilation 1, one group) computed as im2col and
/// one matmul, [N·H'·W', C·kH·kW] · weight [out, C·kH·kW]ᵀ, and differentiated as matmuls and col2im instead of
/// oneDNN's convolution kernels. The weight is cast to `input`'s dtype as autocast would and its gradient returned
/// in the weight's own dtype; the output and the input gradient keep the input's memory format.
torch::Tensor conv2d_im2col(const torch::Tensor& input, const torch::Tensor& weight, int64_t stride, int64_t padding);

/// Whether `conv2d_im2col` is the faster way to train a convolution of `weight` on `input` at `stride` and
/// `padding`: bf16 on a CPU with 4096 or more output channels, or 1024 or more on an output of at most 2x2, where
/// LibTorch 1.13's oneDNN kernels took 1.2-2.3x the matmuls' time (docs/results.md); never on an accelerator, in
/// fp32, or without a weight gradient.
bool im2col_conv_pays(const torch::Tensor& input, const torch::Tensor& weight, int64_t stride, int64_t padding);

}  // namespace ssl
