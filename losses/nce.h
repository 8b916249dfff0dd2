#pragma once
#include "sslkit/losses/reduction.h"

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

namespace ssl::losses {

/// Options for `nce`, noise-contrastive estimation (Gutmann & Hyvarinen 2010).
struct NCEOptions {
  /// Mean over the N data samples (the usual objective), sum, or none (a [N] tensor).
  TORCH_ARG(Reduction, reduction) = Reduction::Mean;
};

/// Binary NCE with K noise samples per data sample, from log-probabilities: with the logit
/// Delta(x) = log p_model(x) - log(K p_noise(x)), sample i's loss is
///   l_i = -[log sigmoid(Delta(x_i)) + sum_k log sigmoid(-Delta(x'_ik))].
/// log_model_data [N] and log_model_noise [N, K] are the model's log-(unnormalized) probabilities of the data
/// and noise samples; log_noise_data and log_noise_noise are the noise distribution's log-probabilities of
/// the same samples and broadcast to [N] and [N, K] (a 0-dim tensor for uniform noise).
/// To pass probabilities p, pass log(p). For instance discrimination with a memory bank (Wu et al. 2018):
/// log_model = v.f / tau - log Z (the log of the non-parametric softmax numerator over Z) and
/// log_noise = -log(n_data) for the uniform noise over the n_data instances.
at::Tensor nce(const at::Tensor& log_model_data, const at::Tensor& log_model_noise, const at::Tensor& log_noise_data,
               const at::Tensor& log_noise_noise, const NCEOptions& options = {});

/// Module wrapper of `nce`.
class NCELossImpl : public torch::nn::Cloneable<NCELossImpl> {
 public:
  explicit NCELossImpl(NCEOptions options = {});
  /// Holds no parameters and has nothing to validate.
  void reset() override;
  /// Prints the options.
  void pretty_print(std::ostream& stream) const override;
  /// Calls `nce(log_model_data, log_model_noise, log_noise_data, log_noise_noise, options)`.
  at::Tensor forward(const at::Tensor& log_model_data, const at::Tensor& log_model_noise,
                     const at::Tensor& log_noise_data, const at::Tensor& log_noise_noise);
  /// The options this module was built with.
  NCEOptions options;
};
TORCH_MODULE(NCELoss);

}  // namespace ssl::losses
