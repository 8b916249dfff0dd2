#include "sslkit/trainers/precision.h"

#include <ATen/autocast_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/DeviceGuard.h>
#include <torch/version.h>

#include <fstream>
#include <sstream>

namespace ssl::trainers {
namespace {

// LibTorch 2.4 replaced the per-device autocast functions by ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocast_enabled(c10::DeviceType type) { return at::autocast::is_autocast_enabled(type); }
void set_autocast_enabled(c10::DeviceType type, bool on) { at::autocast::set_autocast_enabled(type, on); }
torch::ScalarType autocast_dtype(c10::DeviceType type) { return at::autocast::get_autocast_dtype(type); }
void set_autocast_dtype(c10::DeviceType type, torch::ScalarType dtype) { at::autocast::set_autocast_dtype(type, dtype); }
#else
bool autocast_enabled(c10::DeviceType type) {
  return type == c10::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
}
void set_autocast_enabled(c10::DeviceType type, bool on) {
  if (type == c10::kCPU) at::autocast::set_cpu_enabled(on);
  else at::autocast::set_enabled(on);
}
torch::ScalarType autocast_dtype(c10::DeviceType type) {
  return type == c10::kCPU ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
}
void set_autocast_dtype(c10::DeviceType type, torch::ScalarType dtype) {
  if (type == c10::kCPU) at::autocast::set_autocast_cpu_dtype(dtype);
  else at::autocast::set_autocast_gpu_dtype(dtype);
}
#endif

}  // namespace

Precision parse_precision(const std::string& name) {
  if (name == "auto") return Precision::Auto;
  if (name == "fp32") return Precision::FP32;
  if (name == "bf16") return Precision::BF16;
  if (name == "fp16") return Precision::FP16;
  TORCH_CHECK_VALUE(false, "unknown precision '", name, "': expected one of auto, fp32, bf16, fp16");
}

std::string to_string(Precision precision) {
  switch (precision) {
    case Precision::BF16: return "bf16";
    case Precision::FP16: return "fp16";
    case Precision::Auto: return "auto";
    default: return "fp32";
  }
}

bool cpuinfo_has_fast_bf16(const std::string& cpuinfo) {
  std::istringstream lines(cpuinfo);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream flags(line.substr(line.find(':') == std::string::npos ? line.size() : line.find(':') + 1));
    for (std::string flag; flags >> flag;) {
      if (flag == "avx512_bf16" || flag == "amx_bf16") return true;
    }
    return false;  // the first processor's flags speak for all
  }
  return false;
}

bool has_fast_bf16(torch::Device device) {
  if (device.is_cuda()) {
    const c10::DeviceGuard guard(device);
    return at::detail::getCUDAHooks().supportsBFloat16ConvolutionWithCuDNNv8();
  }
  static const bool cpu = [] {
    std::ifstream in("/proc/cpuinfo");
    std::ostringstream text;
    text << in.rdbuf();
    return cpuinfo_has_fast_bf16(text.str());
  }();
  return device.is_cpu() && cpu;
}

Precision check_precision(Precision precision, torch::Device device, bool bf16_faster_on_cpu) {
  TORCH_CHECK(device.is_cpu() || device.is_cuda(), "precision ", to_string(precision), " on device ", device.str(),
              ": only cpu and cuda are supported");
  TORCH_CHECK(!(precision == Precision::FP16 && device.is_cpu()),
              "precision fp16 needs a CUDA device (on CPU use bf16 or fp32)");
  if (precision == Precision::Auto) {
    const bool bf16 = has_fast_bf16(device) && (device.is_cuda() || bf16_faster_on_cpu);
    return bf16 ? Precision::BF16 : Precision::FP32;
  }
  return precision;
}

AutocastGuard::AutocastGuard(Precision precision, torch::Device device) {
  if (precision == Precision::FP32) return;
  active_ = true;
  was_cpu_ = autocast_enabled(c10::kCPU);
  was_cuda_ = autocast_enabled(c10::kCUDA);
  cpu_dtype_ = autocast_dtype(c10::kCPU);
  cuda_dtype_ = autocast_dtype(c10::kCUDA);
  const auto dtype = precision == Precision::BF16 ? torch::kBFloat16 : torch::kHalf;
  set_autocast_dtype(device.type(), dtype);
  set_autocast_enabled(device.type(), true);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast_enabled(c10::kCPU, was_cpu_);
  set_autocast_enabled(c10::kCUDA, was_cuda_);
  set_autocast_dtype(c10::kCPU, cpu_dtype_);
  set_autocast_dtype(c10::kCUDA, cuda_dtype_);
}

Fp32Scope::Fp32Scope() : was_cpu_(autocast_enabled(c10::kCPU)), was_cuda_(autocast_enabled(c10::kCUDA)) {
  set_autocast_enabled(c10::kCPU, false);
  set_autocast_enabled(c10::kCUDA, false);
}

Fp32Scope::~Fp32Scope() {
  set_autocast_enabled(c10::kCPU, was_cpu_);
  set_autocast_enabled(c10::kCUDA, was_cuda_);
}

LossScaler::LossScaler(LossScalerOptions options) : options_(options), scale_(options.initial_scale()) {
  TORCH_CHECK(scale_ > 0 && options_.growth_factor() > 1 && options_.backoff_factor() > 0 &&
                  options_.backoff_factor() < 1 && options_.growth_interval() > 0,
              "loss scaler: need scale > 0, growth > 1, 0 < backoff < 1, interval > 0; got ", scale_, ", ",
              options_.growth_factor(), ", ", options_.backoff_factor(), ", ", options_.growth_interval());
}

bool LossScaler::unscale(const std::vector<torch::Tensor>& params) const {
  torch::NoGradGuard no_grad;
  torch::Tensor non_finite;
  for (const auto& p : params) {
    if (!p.grad().defined()) continue;
    auto g = p.mutable_grad();
    g.mul_(1.0 / scale_);
    auto bad = g.isfinite().logical_not().any();
    non_finite = non_finite.defined() ? non_finite.logical_or(bad) : bad;
  }
  return !non_finite.defined() || !non_finite.item<bool>();
}

void LossScaler::update(bool finite) {
  if (!finite) {
    scale_ *= options_.backoff_factor();
    growth_tracker_ = 0;
  } else if (++growth_tracker_ >= options_.growth_interval()) {
    scale_ *= options_.growth_factor();
    growth_tracker_ = 0;
  }
}

void LossScaler::restore(double scale, int64_t growth_tracker) {
  TORCH_CHECK(scale > 0 && growth_tracker >= 0, "loss scaler: saved scale ", scale, " / tracker ", growth_tracker,
              " are invalid");
  scale_ = scale;
  growth_tracker_ = growth_tracker;
}

}  // namespace ssl::trainers
