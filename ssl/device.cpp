#include "sslkit/ssl/device.h"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/cuda.h>

#include <thread>

namespace ssl {

c10::Device resolve_device(const std::string& spec) {
  if (spec == "auto") {
    return torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  }
  if (spec == "cpu") return c10::Device(c10::kCPU);
  const std::string prefix = "cuda";
  TORCH_CHECK(spec.compare(0, prefix.size(), prefix) == 0,
              "invalid device '", spec, "': expected auto, cpu, cuda or cuda:N");
  int index = 0;
  if (spec.size() > prefix.size()) {
    const std::string rest = spec.substr(prefix.size());
    TORCH_CHECK(rest.size() >= 2 && rest[0] == ':' && rest.find_first_not_of("0123456789", 1) == std::string::npos,
                "invalid device '", spec, "': expected auto, cpu, cuda or cuda:N");
    index = std::stoi(rest.substr(1));
  }
  const int count = static_cast<int>(torch::cuda::device_count());
  TORCH_CHECK(count > 0, "device '", spec, "' requested but no CUDA device is available (this LibTorch build ",
              torch::cuda::is_available() ? "sees none" : "has no usable CUDA", "); use --device cpu or auto");
  TORCH_CHECK(index < count, "device '", spec, "' requested but only ", count, " CUDA device(s) exist");
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

int set_threads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  return threads;
}

}  // namespace ssl
