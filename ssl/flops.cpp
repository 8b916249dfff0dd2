#include "sslkit/ssl/flops.h"

#include <ATen/record_function.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <cstring>

namespace ssl {
namespace {

thread_local int64_t counted_flops = 0;

int64_t product(c10::IntArrayRef sizes) {
  int64_t n = 1;
  for (const int64_t s : sizes) n *= s;
  return n;
}

/// aten::convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups).
int64_t convolution_flops(c10::ArrayRef<const c10::IValue> in) {
  if (in.size() < 9 || !in[0].isTensor() || !in[1].isTensor()) return 0;
  const auto input = in[0].toTensor().sizes();
  const auto weight = in[1].toTensor().sizes();
  if (in[6].toBool()) return 0;  // transposed convolutions are not used by sslkit's encoders
  const auto stride = in[3].toIntVector();
  const auto padding = in[4].toIntVector();
  const auto dilation = in[5].toIntVector();
  const int64_t spatial = static_cast<int64_t>(weight.size()) - 2;
  int64_t outputs = input[0] * weight[0];
  for (int64_t d = 0; d < spatial; ++d) {
    const auto pick = [&](const std::vector<int64_t>& v) { return v.size() == 1 ? v[0] : v[d]; };
    outputs *= (input[2 + d] + 2 * pick(padding) - pick(dilation) * (weight[2 + d] - 1) - 1) / pick(stride) + 1;
  }
  // Each output sums over (C_in / groups) * kernel taps: weight[1] * prod(kernel).
  return 2 * outputs * product(weight.slice(1));
}

/// Matrix products: aten::mm(a, b), aten::addmm(c, a, b), aten::bmm(a, b). Linear layers and matmul
/// decompose into these, so counting them (and not aten::linear) counts each product once.
int64_t matrix_product_flops(c10::ArrayRef<const c10::IValue> in, size_t first) {
  if (in.size() < first + 2 || !in[first].isTensor() || !in[first + 1].isTensor()) return 0;
  const auto a = in[first].toTensor().sizes();
  const auto b = in[first + 1].toTensor().sizes();
  if (a.size() < 2 || b.size() < 2) return 0;
  return 2 * product(a) * b[b.size() - 1];
}

std::unique_ptr<at::ObserverContext> on_operator(const at::RecordFunction& fn) {
  const char* name = fn.name();
  if (std::strcmp(name, "aten::convolution") == 0) {
    counted_flops += convolution_flops(fn.inputs());
  } else if (std::strcmp(name, "aten::mm") == 0 || std::strcmp(name, "aten::bmm") == 0) {
    counted_flops += matrix_product_flops(fn.inputs(), 0);
  } else if (std::strcmp(name, "aten::addmm") == 0) {
    counted_flops += matrix_product_flops(fn.inputs(), 1);
  }
  return nullptr;
}

}  // namespace

int64_t count_flops(const std::function<void()>& fn) {
  counted_flops = 0;
  const auto handle = at::addThreadLocalCallback(
      at::RecordFunctionCallback(on_operator).needsInputs(true).scopes({at::RecordScope::FUNCTION}));
  try {
    fn();
  } catch (...) {
    at::removeCallback(handle);
    throw;
  }
  at::removeCallback(handle);
  return counted_flops;
}

int64_t encoder_flops_per_image(EncoderImpl& encoder, const std::vector<int64_t>& image_shape) {
  TORCH_CHECK(image_shape.size() == 3, "image shape must be [C, H, W], got ", image_shape.size(), " dimensions");
  std::vector<int64_t> batch_shape{1};
  batch_shape.insert(batch_shape.end(), image_shape.begin(), image_shape.end());
  const auto device = encoder.parameters().empty() ? torch::Device(torch::kCPU) : encoder.parameters()[0].device();
  const auto images = torch::zeros(batch_shape, torch::TensorOptions().device(device));
  torch::NoGradGuard no_grad;
  const bool was_training = encoder.is_training();
  encoder.eval();
  const int64_t flops = count_flops([&] { encoder.forward(images); });
  encoder.train(was_training);
  return flops;
}

}  // namespace ssl
