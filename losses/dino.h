#pragma once
#include <ATen/core/Tensor.h>
#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <vector>

namespace ssl::losses {

/// Options for `dino` (Caron et al. 2021), defaults as facebookresearch/dino.
struct DINOOptions {
  /// tau_s dividing the student logits before the log-softmax; > 0 (paper: 0.1, the official `student_temp`).
  TORCH_ARG(double, student_temperature) = 0.1;
  /// tau_t dividing the centred teacher logits before the softmax; > 0 (paper: 0.04 after warm-up from 0.04).
  TORCH_ARG(double, teacher_temperature) = 0.04;
};

/// DINO's cross-entropy between sharpened teacher and student distributions, as facebookresearch/dino
/// `DINOLoss.forward` without its center update (that is `dino_center_update`):
///   student: V_s >= 2 crops of logits [N, K], the global crops first; teacher: the V_t <= V_s global crops [N, K];
///   log p_s = log_softmax(student[s] / tau_s), q_t = softmax((teacher[t] - center) / tau_t), detached;
///   loss    = sum over pairs (t, s) with s != t of mean_n (-sum_k q_t[n][k] log p_s[n][k]), divided by the number
///             of pairs V_t * V_s - V_t.
/// `center` [K] is the running mean of the teacher outputs. Only the student receives gradients.
at::Tensor dino(const std::vector<at::Tensor>& student, const std::vector<at::Tensor>& teacher,
                const at::Tensor& center, const DINOOptions& options = {});

/// DINO's center update, facebookresearch/dino `DINOLoss.update_center`, without gradient: returns
///   center * momentum + mean(teacher rows) * (1 - momentum)
/// with the mean over every row of every teacher crop [N, K] (the official concatenated teacher_output), in the
/// center's dtype. The official default momentum is 0.9, in [0, 1]. Under data parallelism, `all_reduce_sum` sums a
/// tensor in place over the `world_size` ranks (e.g. a process group's all-reduce); it is applied to the [K] sum of
/// the local teacher rows, which is then divided by N_rows * world_size, as the official code. Assign the result:
/// `center = dino_center_update(center, teacher, 0.9)`.
at::Tensor dino_center_update(const at::Tensor& center, const std::vector<at::Tensor>& teacher, double momentum = 0.9,
                              const std::function<void(at::Tensor&)>& all_reduce_sum = nullptr,
                              int64_t world_size = 1);

/// Module wrapper of `dino`; the center stays with the caller.
class DINOLossImpl : public torch::nn::Cloneable<DINOLossImpl> {
 public:
  explicit DINOLossImpl(DINOOptions options = {});
  /// Validates the options; holds no parameters.
  void reset() override;
  /// Prints the options.
  void pretty_print(std::ostream& stream) const override;
  /// Calls `dino(student, teacher, center, options)`.
  at::Tensor forward(const std::vector<at::Tensor>& student, const std::vector<at::Tensor>& teacher,
                     const at::Tensor& center);
  /// The options this module was built with.
  DINOOptions options;
};
TORCH_MODULE(DINOLoss);

}  // namespace ssl::losses
