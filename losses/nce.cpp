#include "sslkit/losses/nce.h"

#include "sslkit/losses/detail/check.h"
#include "sslkit/losses/detail/ops.h"

#include <ATen/ATen.h>

#include <cmath>

namespace ssl::losses {
namespace {

/// True when `shape` broadcasts to `target` (trailing dimensions equal or 1).
bool broadcasts_to(at::IntArrayRef shape, at::IntArrayRef target) {
  if (shape.size() > target.size()) return false;
  for (size_t i = 1; i <= shape.size(); ++i) {
    const int64_t size = shape[shape.size() - i];
    if (size != 1 && size != target[target.size() - i]) return false;
  }
  return true;
}

void check_noise(const at::Tensor& log_noise, const char* name, at::IntArrayRef target, const at::Tensor& like) {
  TORCH_CHECK(log_noise.defined(), "nce: ", name, " is an undefined tensor");
  TORCH_CHECK(log_noise.is_floating_point(), "nce: ", name, " must be a floating-point tensor, got ",
              log_noise.scalar_type());
  TORCH_CHECK(broadcasts_to(log_noise.sizes(), target), "nce: ", name, " of shape ", log_noise.sizes(),
              " does not broadcast to ", target);
  TORCH_CHECK(log_noise.device() == like.device(), "nce: ", name, " must be on the device of the model ",
              "log-probabilities, got ", log_noise.device(), " and ", like.device());
}

}  // namespace

at::Tensor nce(const at::Tensor& log_model_data, const at::Tensor& log_model_noise, const at::Tensor& log_noise_data,
               const at::Tensor& log_noise_noise, const NCEOptions& options) {
  detail::check_embeddings(log_model_data, "nce", "log_model_data", 1);
  detail::check_embeddings(log_model_noise, "nce", "log_model_noise", 2);
  const int64_t n = log_model_data.size(0), k = log_model_noise.size(1);
  TORCH_CHECK(log_model_noise.size(0) == n && k > 0, "nce: log_model_noise must be [N, K] with N = ", n,
              " and K >= 1 to match log_model_data of shape ", log_model_data.sizes(), ", got ",
              log_model_noise.sizes());
  check_noise(log_noise_data, "log_noise_data", log_model_data.sizes(), log_model_data);
  check_noise(log_noise_noise, "log_noise_noise", log_model_noise.sizes(), log_model_data);

  const double log_k = std::log(static_cast<double>(k));
  const auto delta_data = detail::at_least_float(log_model_data) - (log_noise_data + log_k);
  const auto delta_noise = detail::at_least_float(log_model_noise) - (log_noise_noise + log_k);
  const auto per_sample = -(at::log_sigmoid(delta_data) + at::log_sigmoid(-delta_noise).sum(1));
  return reduce(per_sample, options.reduction());
}

NCELossImpl::NCELossImpl(NCEOptions options_) : options(options_) { reset(); }

void NCELossImpl::reset() {}

void NCELossImpl::pretty_print(std::ostream& stream) const {
  stream << "ssl::losses::NCELoss(reduction=" << to_string(options.reduction()) << ")";
}

at::Tensor NCELossImpl::forward(const at::Tensor& log_model_data, const at::Tensor& log_model_noise,
                                const at::Tensor& log_noise_data, const at::Tensor& log_noise_noise) {
  return nce(log_model_data, log_model_noise, log_noise_data, log_noise_noise, options);
}

}  // namespace ssl::losses
