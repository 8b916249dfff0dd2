#include "sslkit/ssl/convolution.h"

#include <torch/autograd.h>

namespace ssl {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Output side of a convolution of `kernel` at `stride` and `padding` over `size` input pixels.
int64_t output_side(int64_t size, int64_t kernel, int64_t stride, int64_t padding) {
  return (size + 2 * padding - kernel) / stride + 1;
}

class Im2colConv2d : public torch::autograd::Function<Im2colConv2d> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input, const torch::Tensor& weight,
                               int64_t stride, int64_t padding) {
    const int64_t n = input.size(0), out_channels = weight.size(0);
    const int64_t kernel_h = weight.size(2), kernel_w = weight.size(3);
    const int64_t out_h = output_side(input.size(2), kernel_h, stride, padding);
    const int64_t out_w = output_side(input.size(3), kernel_w, stride, padding);
    // Rows are the N·H'·W' output positions, so the product is the output's [N, H', W', out] (channels-last) view.
    const auto columns = at::im2col(input, {kernel_h, kernel_w}, {1, 1}, {padding, padding}, {stride, stride})
                             .transpose(1, 2)
                             .reshape({n * out_h * out_w, -1});
    const auto matrix = weight.to(input.scalar_type()).reshape({out_channels, -1});
    ctx->save_for_backward({columns, matrix});
    ctx->saved_data["input_sizes"] = input.sizes();
    ctx->saved_data["memory_format"] = static_cast<int64_t>(input.suggest_memory_format());
    ctx->saved_data["weight_sizes"] = weight.sizes();
    ctx->saved_data["weight_dtype"] = weight.scalar_type();
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    const auto output = at::mm(columns, matrix.t()).view({n, out_h, out_w, out_channels}).permute({0, 3, 1, 2});
    return output.contiguous(input.suggest_memory_format());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& columns = saved[0];
    const auto& matrix = saved[1];
    const auto input_sizes = ctx->saved_data["input_sizes"].toIntVector();
    const auto weight_sizes = ctx->saved_data["weight_sizes"].toIntVector();
    const int64_t stride = ctx->saved_data["stride"].toInt();
    const int64_t padding = ctx->saved_data["padding"].toInt();
    const auto grad_output = grads[0].to(columns.scalar_type());
    const int64_t n = grad_output.size(0), positions = grad_output.size(2) * grad_output.size(3);
    // Free when grad_output is channels-last, as it is for a channels-last output.
    const auto rows = grad_output.permute({0, 2, 3, 1}).reshape({n * positions, matrix.size(0)});
    torch::Tensor grad_input, grad_weight;
    if (ctx->needs_input_grad(0)) {
      const auto memory_format = static_cast<c10::MemoryFormat>(ctx->saved_data["memory_format"].toInt());
      // col2im adds up to (k / stride)² overlapping entries per pixel: in at least float, so that bf16 rounds once.
      const auto sum_dtype = at::promote_types(columns.scalar_type(), torch::kFloat);
      const auto grad_columns = at::mm(rows, matrix).to(sum_dtype).view({n, positions, -1}).transpose(1, 2);
      grad_input = at::col2im(grad_columns, {input_sizes[2], input_sizes[3]}, {weight_sizes[2], weight_sizes[3]},
                              {1, 1}, {padding, padding}, {stride, stride})
                       .to(columns.scalar_type())
                       .contiguous(memory_format);
    }
    if (ctx->needs_input_grad(1)) {
      grad_weight = at::mm(rows.t(), columns).view(weight_sizes).to(ctx->saved_data["weight_dtype"].toScalarType());
    }
    return {grad_input, grad_weight, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor conv2d_im2col(const torch::Tensor& input, const torch::Tensor& weight, int64_t stride,
                            int64_t padding) {
  TORCH_CHECK(input.dim() == 4 && weight.dim() == 4 && weight.size(1) == input.size(1),
              "conv2d_im2col: expected input [N, C, H, W] and weight [out, C, kH, kW], got ", input.sizes(), " and ",
              weight.sizes());
  TORCH_CHECK(stride >= 1 && padding >= 0, "conv2d_im2col: expected stride >= 1 and padding >= 0, got ", stride,
              " and ", padding);
  return Im2colConv2d::apply(input, weight, stride, padding);
}

bool im2col_conv_pays(const torch::Tensor& input, const torch::Tensor& weight, int64_t stride, int64_t padding) {
  if (!input.is_cpu() || input.scalar_type() != torch::kBFloat16 || weight.size(1) != input.size(1) ||
      !weight.requires_grad() || !torch::GradMode::is_enabled()) {
    return false;
  }
  const int64_t positions = output_side(input.size(2), weight.size(2), stride, padding) *
                            output_side(input.size(3), weight.size(3), stride, padding);
  return weight.size(0) >= 4096 || (weight.size(0) >= 1024 && positions <= 4);
}

}  // namespace ssl
