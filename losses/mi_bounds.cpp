#include "sslkit/losses/mi_bounds.h"

#include "sslkit/losses/detail/ops.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <limits>

namespace ssl::losses {
namespace {

/// Validates a critic score matrix and returns it in float32 or wider.
at::Tensor check_scores(const at::Tensor& scores, const char* function, int64_t min_n) {
  TORCH_CHECK(scores.defined(), function, ": scores is an undefined tensor");
  TORCH_CHECK(scores.dim() == 2 && scores.size(0) == scores.size(1), function,
              ": scores must be a square [N, N] matrix (diagonal = positive pairs), got shape ", scores.sizes());
  TORCH_CHECK(scores.is_floating_point(), function, ": scores must be a floating-point tensor, got ",
              scores.scalar_type());
  TORCH_CHECK(scores.size(0) >= min_n, function, ": needs a batch of at least ", min_n,
              " pairs (the off-diagonal entries are the negatives), got shape ", scores.sizes());
  return detail::at_least_float(scores);
}

}  // namespace

at::Tensor mi_infonce(const at::Tensor& scores) {
  const auto s = check_scores(scores, "mi_infonce", 1);
  return std::log(static_cast<double>(s.size(0))) - detail::cross_entropy_rows(s).mean();
}

at::Tensor mi_nwj(const at::Tensor& scores) {
  const auto s = check_scores(scores, "mi_nwj", 2);
  return s.diagonal().mean() - at::exp(detail::logmeanexp_offdiag(s) - 1.0);
}

at::Tensor mi_dv(const at::Tensor& scores) {
  const auto s = check_scores(scores, "mi_dv", 2);
  return s.diagonal().mean() - detail::logmeanexp_offdiag(s);
}

at::Tensor mi_jsd(const at::Tensor& scores) {
  const auto s = check_scores(scores, "mi_jsd", 2);
  const int64_t n = s.size(0);
  const auto diagonal = s.diagonal();
  const auto offdiag_softplus = (at::softplus(s).sum() - at::softplus(diagonal).sum()) / static_cast<double>(n * (n - 1));
  return -at::softplus(-diagonal).mean() - offdiag_softplus;
}

MINEImpl::MINEImpl(MINEOptions options_) : options(options_) { reset(); }

void MINEImpl::reset() {
  TORCH_CHECK_VALUE(options.ema_decay() >= 0 && options.ema_decay() < 1, "MINE: ema_decay must be in [0, 1), got ",
              options.ema_decay());
  log_ema_ = register_buffer("log_ema", at::full({}, -std::numeric_limits<double>::infinity(),
                                                 at::TensorOptions().dtype(at::kDouble)));
}

void MINEImpl::pretty_print(std::ostream& stream) const {
  stream << "ssl::losses::MINE(ema_decay=" << options.ema_decay() << ")";
}

at::Tensor MINEImpl::log_moving_average() const { return log_ema_.detach().clone(); }

at::Tensor MINEImpl::forward(const at::Tensor& scores) {
  const auto s = check_scores(scores, "MINE", 2);
  const auto log_marginal = detail::logmeanexp_offdiag(s);  // log E_{p(x)p(y)}[e^f] of this batch
  // The state follows the scores' device (set_data keeps it the registered buffer); no host sync below.
  if (log_ema_.device() != s.device()) log_ema_.set_data(log_ema_.to(s.device()));
  const auto current = log_marginal.detach().to(at::kDouble);
  const auto empty = at::isinf(log_ema_);
  if (is_training()) {
    const double decay = options.ema_decay();
    // log(decay m + (1 - decay) e^current), in the log domain so that large critics cannot overflow;
    // the first step starts the average at the current value.
    const auto blended = decay == 0 ? current : at::logaddexp(log_ema_ + std::log(decay), current + std::log1p(-decay));
    log_ema_.copy_(at::where(empty, current, blended));
  }
  // In eval mode before any training step there is no average yet: use this batch's value.
  const auto log_ema = at::where(at::isinf(log_ema_), current, log_ema_).to(s.scalar_type());
  // Value: log_marginal. Gradient: e^{log_marginal - log m} d log_marginal = d E[e^f] / m.
  const auto ratio = at::exp(log_marginal - log_ema);
  const auto corrected = log_marginal.detach() + (ratio - ratio.detach());
  return s.diagonal().mean() - corrected;
}

}  // namespace ssl::losses
