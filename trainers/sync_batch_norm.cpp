#include "sslkit/trainers/sync_batch_norm.h"

#include "sslkit/ssl/encoders.h"

#include <torch/autograd.h>
#include <torch/nn/functional/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>

namespace ssl::trainers {
namespace {

namespace F = torch::nn::functional;

// The dims a BatchNorm reduces over (all but the channel dim 1) and the shape [1, C, 1, ...] of per-channel values.
std::vector<int64_t> reduce_dims(const torch::Tensor& x) {
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

std::vector<int64_t> channel_shape(const torch::Tensor& x) {
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[1] = x.size(1);
  return shape;
}

ProcessGroup* group_at(const c10::IValue& address) { return reinterpret_cast<ProcessGroup*>(address.toInt()); }

// y = (x - mean) / sqrt(var + eps) * weight + bias with mean and (biased) var over the global batch:
// forward all-reduces [sum x, sum x^2, count] per channel; backward all-reduces [sum dy, sum dy x_hat], since
// dx = weight / sqrt(var + eps) (dy - sum(dy) / n - x_hat sum(dy x_hat) / n) with the sums over the global batch.
struct SyncBatchNormFunction : torch::autograd::Function<SyncBatchNormFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input,
                               const torch::Tensor& weight, const torch::Tensor& bias, torch::Tensor running_mean,
                               torch::Tensor running_var, double momentum, double eps, int64_t group_address) {
    ProcessGroup* group = group_at(group_address);
    const auto compute = at::promote_types(input.scalar_type(), torch::kFloat);
    const auto x = input.to(compute);
    const auto dims = reduce_dims(x);
    const auto shape = channel_shape(x);
    const int64_t channels = x.size(1);
    auto stats = torch::cat({x.sum(dims), (x * x).sum(dims),
                             torch::full({1}, static_cast<double>(x.numel() / channels), x.options())});
    if (group != nullptr) group->all_reduce(stats);
    const auto count = stats[2 * channels];
    const auto mean = stats.narrow(0, 0, channels) / count;
    const auto var = (stats.narrow(0, channels, channels) / count - mean * mean).clamp_min(0);
    const auto invstd = (var + eps).rsqrt();
    const auto x_hat = (x - mean.view(shape)) * invstd.view(shape);
    const auto y = x_hat * weight.to(compute).view(shape) + bias.to(compute).view(shape);
    if (running_mean.numel() > 0) {
      const double n = count.item<double>();
      running_mean.mul_(1 - momentum).add_(mean.to(running_mean.dtype()), momentum);
      running_var.mul_(1 - momentum).add_((var * (n / std::max(n - 1, 1.0))).to(running_var.dtype()), momentum);
    }
    ctx->save_for_backward({x_hat, invstd, weight, count});
    ctx->saved_data["group"] = group_address;
    return y.to(input.scalar_type());
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x_hat = saved[0], &invstd = saved[1], &weight = saved[2], &count = saved[3];
    ProcessGroup* group = group_at(ctx->saved_data["group"]);
    const auto dy = grads[0].to(x_hat.scalar_type());
    const auto dims = reduce_dims(x_hat);
    const auto shape = channel_shape(x_hat);
    const int64_t channels = x_hat.size(1);
    const auto sum_dy = dy.sum(dims);
    const auto sum_dy_x_hat = (dy * x_hat).sum(dims);
    auto sums = torch::cat({sum_dy, sum_dy_x_hat});
    if (group != nullptr) group->all_reduce(sums);
    const auto mean_dy = sums.narrow(0, 0, channels) / count;
    const auto mean_dy_x_hat = sums.narrow(0, channels, channels) / count;
    const auto dx = (weight.to(x_hat.scalar_type()) * invstd).view(shape) *
                    (dy - mean_dy.view(shape) - x_hat * mean_dy_x_hat.view(shape));
    return {dx.to(grads[0].scalar_type()),
            sum_dy_x_hat.to(weight.scalar_type()),
            sum_dy.to(weight.scalar_type()),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor sync_batch_norm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                              torch::Tensor running_mean, torch::Tensor running_var, double momentum, double eps,
                              ProcessGroup* group) {
  TORCH_CHECK(x.dim() >= 2, "sync_batch_norm needs an input [N, C, ...], got ", x.sizes());
  const auto channel_options = torch::TensorOptions().dtype(torch::kFloat).device(x.device());
  const auto w = weight.defined() ? weight : torch::ones({x.size(1)}, channel_options);
  const auto b = bias.defined() ? bias : torch::zeros({x.size(1)}, channel_options);
  const auto none = torch::empty({0}, channel_options);
  return SyncBatchNormFunction::apply(x, w, b, running_mean.defined() ? running_mean : none,
                                      running_var.defined() ? running_var : none, momentum, eps,
                                      reinterpret_cast<int64_t>(group));
}

SyncBatchNormImpl::SyncBatchNormImpl(const torch::nn::BatchNormOptions& options, torch::Tensor weight,
                                     torch::Tensor bias, torch::Tensor running_mean, torch::Tensor running_var,
                                     torch::Tensor num_batches_tracked, std::shared_ptr<ProcessGroup> group)
    : torch::nn::Module("SyncBatchNorm"), options(options), group_(std::move(group)) {
  TORCH_CHECK(options.momentum().has_value(),
              "SyncBatchNorm needs a BatchNorm momentum (the cumulative average, momentum = None, is not supported)");
  if (options.affine()) {
    // Frozen layers (moco's key encoder) stay frozen.
    weight_ = register_parameter("weight", weight, weight.requires_grad());
    bias_ = register_parameter("bias", bias, bias.requires_grad());
  }
  if (options.track_running_stats()) {
    running_mean_ = register_buffer("running_mean", running_mean);
    running_var_ = register_buffer("running_var", running_var);
    num_batches_tracked_ = register_buffer("num_batches_tracked", num_batches_tracked);
  }
}

torch::Tensor SyncBatchNormImpl::forward(const torch::Tensor& x) {
  if (!is_training() && options.track_running_stats()) {
    return F::detail::batch_norm(x, running_mean_, running_var_, weight_, bias_, false, *options.momentum(),
                                 options.eps());
  }
  if (is_training() && options.track_running_stats()) {
    torch::NoGradGuard no_grad;
    num_batches_tracked_.add_(1);
  }
  return sync_batch_norm(x, weight_, bias_, running_mean_, running_var_, *options.momentum(), options.eps(),
                         group_.get());
}

namespace {

// A SyncBatchNorm taking over the BatchNorm `module` holds, or null when it holds none.
template <typename BatchNorm>
SyncBatchNorm take_over(const std::shared_ptr<torch::nn::Module>& module, const std::shared_ptr<ProcessGroup>& group) {
  auto* bn = module->as<BatchNorm>();
  if (bn == nullptr) return nullptr;
  return SyncBatchNorm(bn->options, bn->weight, bn->bias, bn->running_mean, bn->running_var, bn->num_batches_tracked,
                       group);
}

// A SyncBatchNorm taking over `module` when it is a BatchNorm of any dimension, else null.
SyncBatchNorm take_over_batch_norm(const std::shared_ptr<torch::nn::Module>& module,
                                   const std::shared_ptr<ProcessGroup>& group) {
  SyncBatchNorm sync = take_over<torch::nn::BatchNorm1dImpl>(module, group);
  if (!sync) sync = take_over<torch::nn::BatchNorm2dImpl>(module, group);
  if (!sync) sync = take_over<torch::nn::BatchNorm3dImpl>(module, group);
  return sync;
}

}  // namespace

int64_t convert_sync_batch_norm(const std::vector<std::shared_ptr<torch::nn::Module>>& modules,
                                const std::shared_ptr<ProcessGroup>& group) {
  int64_t replaced = 0;
  for (const auto& root : modules) {
    for (const auto& module : root->modules()) {
      if (auto* sequential = module->as<torch::nn::SequentialImpl>()) {
        int64_t index = 0;
        for (auto it = sequential->begin(); it != sequential->end(); ++it, ++index) {
          const SyncBatchNorm sync = take_over_batch_norm(it->ptr(), group);
          if (!sync) continue;
          // The Sequential's forward runs its AnyModule list; its children (names "0", "1", ...) serve
          // parameters() and state dicts: both must hold the replacement.
          *it = torch::nn::AnyModule(sync);
          sequential->replace_module(std::to_string(index), sync);
          ++replaced;
        }
      } else if (auto* members = dynamic_cast<BatchNormMembers*>(module.get())) {
        for (const auto& child : module->named_children()) {
          const SyncBatchNorm sync = take_over_batch_norm(child.value(), group);
          if (!sync) continue;
          members->replace_batch_norm(child.key(), torch::nn::AnyModule(sync));
          ++replaced;
        }
      }
    }
    for (const auto& item : root->named_modules()) {
      TORCH_CHECK(!is_batch_norm(*item.value()), "cannot synchronize BatchNorm '", item.key(), "' of ", root->name(),
                  ": only BatchNorm layers held in a Sequential or by an ssl::BatchNormMembers module can be replaced");
    }
  }
  return replaced;
}

bool has_sync_batch_norm(const std::vector<std::shared_ptr<torch::nn::Module>>& modules) {
  for (const auto& root : modules)
    for (const auto& module : root->modules())
      if (module->as<SyncBatchNormImpl>() != nullptr) return true;
  return false;
}

}  // namespace ssl::trainers
