#include "sslkit/losses/dino.h"

#include "sslkit/losses/detail/check.h"
#include "sslkit/losses/detail/ops.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <string>

namespace ssl::losses {
namespace {

void check_options(const DINOOptions& options, const char* function) {
  detail::check_positive(options.student_temperature(), function, "student_temperature");
  detail::check_positive(options.teacher_temperature(), function, "teacher_temperature");
}

// Every crop a [N, K] floating-point tensor of the same shape, dtype and device as the first teacher crop.
void check_crops(const std::vector<at::Tensor>& crops, const at::Tensor& like, const char* function,
                 const char* name) {
  for (size_t i = 0; i < crops.size(); ++i) {
    const auto label = std::string(name) + "[" + std::to_string(i) + "]";
    detail::check_embeddings(crops[i], function, label.c_str(), 2);
    detail::check_same_shape(crops[i], like, function, label.c_str(), "teacher[0]");
  }
}

void check_center(const at::Tensor& center, const at::Tensor& like, const char* function) {
  TORCH_CHECK(center.defined(), function, ": center is an undefined tensor");
  TORCH_CHECK(center.dim() == 1 && center.size(0) == like.size(1), function, ": center must have shape [",
              like.size(1), "] (K of the teacher crops ", like.sizes(), "), got ", center.sizes());
  TORCH_CHECK(center.is_floating_point(), function, ": center must be a floating-point tensor, got ",
              center.scalar_type());
  TORCH_CHECK(center.device() == like.device(), function, ": center and teacher[0] must be on the same device, got ",
              center.device(), " and ", like.device());
}

}  // namespace

at::Tensor dino(const std::vector<at::Tensor>& student, const std::vector<at::Tensor>& teacher,
                const at::Tensor& center, const DINOOptions& options) {
  TORCH_CHECK(!teacher.empty(), "dino: teacher holds no crops");
  TORCH_CHECK(student.size() >= 2 && student.size() >= teacher.size(), "dino: student needs at least 2 crops and ",
              "one per teacher crop (global crops first), got ", student.size(), " student and ", teacher.size(),
              " teacher crops");
  check_crops(teacher, teacher[0], "dino", "teacher");
  check_crops(student, teacher[0], "dino", "student");
  check_center(center, teacher[0], "dino");
  check_options(options, "dino");

  const auto shift = detail::at_least_float(center.detach());
  std::vector<at::Tensor> log_p;
  for (const auto& s : student) {
    log_p.push_back(at::log_softmax(detail::at_least_float(s) / options.student_temperature(), -1));
  }
  at::Tensor total;
  int64_t pairs = 0;
  for (size_t t = 0; t < teacher.size(); ++t) {
    const auto centred = detail::at_least_float(teacher[t].detach()) - shift;
    const auto q = at::softmax(centred / options.teacher_temperature(), -1);
    for (size_t s = 0; s < student.size(); ++s) {
      if (s == t) continue;  // the student and the teacher saw the same crop
      const auto term = (-q * log_p[s]).sum(-1).mean();
      total = total.defined() ? total + term : term;
      ++pairs;
    }
  }
  return total / static_cast<double>(pairs);
}

at::Tensor dino_center_update(const at::Tensor& center, const std::vector<at::Tensor>& teacher, double momentum,
                              const std::function<void(at::Tensor&)>& all_reduce_sum, int64_t world_size) {
  TORCH_CHECK(!teacher.empty(), "dino_center_update: teacher holds no crops");
  check_crops(teacher, teacher[0], "dino_center_update", "teacher");
  check_center(center, teacher[0], "dino_center_update");
  TORCH_CHECK(std::isfinite(momentum) && momentum >= 0 && momentum <= 1,
              "dino_center_update: momentum must be in [0, 1], got ", momentum);
  TORCH_CHECK(world_size >= 1, "dino_center_update: world_size must be >= 1, got ", world_size);
  TORCH_CHECK(world_size == 1 || all_reduce_sum, "dino_center_update: world_size ", world_size,
              " needs an all_reduce_sum");

  at::NoGradGuard no_grad;
  auto batch_sum = detail::at_least_float(at::cat(teacher, 0).detach()).sum(0);
  if (all_reduce_sum) all_reduce_sum(batch_sum);
  const auto rows = static_cast<double>(teacher.size()) * static_cast<double>(teacher[0].size(0));
  const auto batch_center = (batch_sum / (rows * static_cast<double>(world_size))).to(center.scalar_type());
  return center.detach() * momentum + batch_center * (1 - momentum);
}

DINOLossImpl::DINOLossImpl(DINOOptions options_) : options(options_) { reset(); }

void DINOLossImpl::reset() { check_options(options, "DINOLoss"); }

void DINOLossImpl::pretty_print(std::ostream& stream) const {
  stream << "ssl::losses::DINOLoss(student_temperature=" << options.student_temperature()
         << ", teacher_temperature=" << options.teacher_temperature() << ")";
}

at::Tensor DINOLossImpl::forward(const std::vector<at::Tensor>& student, const std::vector<at::Tensor>& teacher,
                                 const at::Tensor& center) {
  return dino(student, teacher, center, options);
}

}  // namespace ssl::losses
