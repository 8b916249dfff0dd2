#pragma once
#include <torch/arg.h>
#include <torch/types.h>

#include <string>
#include <vector>

namespace ssl::trainers {

/// Arithmetic of the forward pass: fp32, or autocast to bfloat16 / float16 (losses stay fp32); Auto is resolved by
/// `check_precision` to bf16 where the device runs it fast, fp32 elsewhere.
enum class Precision { FP32, BF16, FP16, Auto };

/// Parses "auto", "fp32", "bf16" or "fp16"; throws one line listing them.
Precision parse_precision(const std::string& name);

/// The name `parse_precision` reads.
std::string to_string(Precision precision);

/// Whether `cpuinfo` (the text of /proc/cpuinfo) lists a bf16 matrix instruction set: avx512_bf16 or amx_bf16.
bool cpuinfo_has_fast_bf16(const std::string& cpuinfo);

/// Whether `device` runs bf16 fast: a CPU with AVX512-BF16 or AMX-BF16 (read from /proc/cpuinfo once; false where
/// it cannot be read), a CUDA device of compute capability 8.0 or more (bf16 convolutions in cuDNN v8).
bool has_fast_bf16(torch::Device device);

/// Checks that `precision` can run on `device` (fp16 needs CUDA; bf16 runs on CPU through CPU autocast) and
/// returns it, Auto resolved to bf16 where `has_fast_bf16(device)` and, on a CPU, `bf16_faster_on_cpu` (the
/// encoder's `EncoderImpl::bf16_faster_on_cpu`), fp32 elsewhere; throws one line otherwise.
Precision check_precision(Precision precision, torch::Device device, bool bf16_faster_on_cpu = true);

/// Turns autocast on for `device`'s type at `precision` (nothing for fp32) for its lifetime, restoring the
/// previous state after. Works with the LibTorch 1.13 and 2.x autocast APIs.
class AutocastGuard {
 public:
  /// Enables autocast for `device` at `precision`.
  AutocastGuard(Precision precision, torch::Device device);
  /// Restores the autocast state found at construction.
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  bool was_cpu_ = false;
  bool was_cuda_ = false;
  torch::ScalarType cpu_dtype_ = torch::kBFloat16;
  torch::ScalarType cuda_dtype_ = torch::kHalf;
};

/// Suspends autocast on every device for its lifetime: a method computes its loss inside one, on
/// `.to(torch::kFloat)` inputs, so that losses stay in fp32 whatever the forward precision.
class Fp32Scope {
 public:
  /// Disables autocast on CPU and CUDA.
  Fp32Scope();
  /// Restores the autocast state found at construction.
  ~Fp32Scope();
  Fp32Scope(const Fp32Scope&) = delete;
  Fp32Scope& operator=(const Fp32Scope&) = delete;

 private:
  bool was_cpu_ = false;
  bool was_cuda_ = false;
};

/// Options of dynamic loss scaling for fp16 (the defaults of PyTorch's GradScaler).
struct LossScalerOptions {
  /// Scale at the start.
  TORCH_ARG(double, initial_scale) = 65536.0;
  /// Multiplier after `growth_interval` steps in a row with finite gradients.
  TORCH_ARG(double, growth_factor) = 2.0;
  /// Multiplier after a step whose gradients held an inf or NaN.
  TORCH_ARG(double, backoff_factor) = 0.5;
  /// Finite steps in a row before the scale grows.
  TORCH_ARG(int64_t, growth_interval) = 2000;
};

/// Dynamic loss scaling: the loss is multiplied by `scale()` before backward; `unscale` divides the gradients
/// back and says whether they are all finite; `update` backs off after a non-finite step (which the caller
/// skips) and grows the scale after `growth_interval` finite ones.
class LossScaler {
 public:
  /// A scaler starting at `options.initial_scale()`.
  explicit LossScaler(LossScalerOptions options = {});
  /// Current scale.
  double scale() const { return scale_; }
  /// Finite steps since the last change of scale.
  int64_t growth_tracker() const { return growth_tracker_; }
  /// Divides every defined gradient of `params` by the scale; returns true when all of them are finite.
  bool unscale(const std::vector<torch::Tensor>& params) const;
  /// Records the outcome of a step: backoff when `finite` is false, growth after enough finite steps.
  void update(bool finite);
  /// Restores a saved scale and tracker.
  void restore(double scale, int64_t growth_tracker);

 private:
  LossScalerOptions options_;
  double scale_;
  int64_t growth_tracker_ = 0;
};

}  // namespace ssl::trainers
