#pragma once
#include <ATen/core/Tensor.h>
#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

namespace ssl::losses {

// Variational lower bounds on the mutual information I(X; Y), in nats, from a critic score matrix
// scores[i][j] = f(x_i, y_j) of shape [N, N] whose diagonal holds the N positive pairs (x_i, y_i) ~ p(x, y)
// and whose off-diagonal entries stand for samples of p(x) p(y). Formulas as in Poole et al. 2019,
// "On Variational Bounds of Mutual Information". Maximize a bound to train the critic (minimize its negative).

/// InfoNCE bound log N + (1/N) sum_i [scores_ii - logsumexp_j scores_ij]; never above log N.
at::Tensor mi_infonce(const at::Tensor& scores);

/// NWJ (f-divergence / MINE-f) bound E_p[f] - e^{-1} E_{p(x)p(y)}[e^f] (Nguyen, Wainwright & Jordan 2010);
/// its optimal critic is f = 1 + log p(x, y) / (p(x) p(y)). Needs N >= 2.
at::Tensor mi_nwj(const at::Tensor& scores);

/// Donsker-Varadhan bound E_p[f] - log E_{p(x)p(y)}[e^f] (MINE's objective without the gradient correction,
/// Belghazi et al. 2018). Needs N >= 2.
at::Tensor mi_dv(const at::Tensor& scores);

/// Jensen-Shannon objective of Deep InfoMax (Hjelm et al. 2019), E_p[-softplus(-f)] - E_{p(x)p(y)}[softplus(f)]:
/// a bound on a JS divergence, not nats of MI. Its optimal critic is f = log p(x, y) / (p(x) p(y)), so the MI
/// estimate of a critic trained with it is `mi_nwj(scores + 1)` (Poole et al. 2019, Sec. 2.3). Needs N >= 2.
at::Tensor mi_jsd(const at::Tensor& scores);

/// Options for `MINE`.
struct MINEOptions {
  /// Decay of the moving average of E_{p(x)p(y)}[e^f] that replaces the minibatch denominator in the gradient
  /// (Belghazi et al. use 1 - alpha with a small alpha); in [0, 1), 0 disables the correction.
  TORCH_ARG(double, ema_decay) = 0.99;
};

/// MINE (Belghazi et al. 2018): the Donsker-Varadhan bound with the moving-average gradient correction. Its
/// value is `mi_dv(scores)`; its gradient is that of E_p[f] - E_{p(x)p(y)}[e^f] / m, with m the exponential
/// moving average of the minibatch E_{p(x)p(y)}[e^f] (this batch included), which reduces the bias of the
/// minibatch gradient of the log. In training mode each forward updates m; in eval mode m is only read (this batch's value before any training step).
class MINEImpl : public torch::nn::Cloneable<MINEImpl> {
 public:
  explicit MINEImpl(MINEOptions options = {});
  /// Validates the options and registers the moving-average state (a float64 buffer, empty until the first step).
  void reset() override;
  /// Prints the options.
  void pretty_print(std::ostream& stream) const override;
  /// The bound for `scores` [N, N], N >= 2, with the corrected gradient.
  at::Tensor forward(const at::Tensor& scores);
  /// log of the moving average m, as a float64 0-dim tensor (-inf before the first training step).
  at::Tensor log_moving_average() const;
  /// The options this module was built with.
  MINEOptions options;

 private:
  at::Tensor log_ema_;
};
TORCH_MODULE(MINE);

}  // namespace ssl::losses
