#include "sslkit/ssl/device.h"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/cuda.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ssl {

std::string DeviceSpec::str() const {
  switch (kind) {
    case DeviceKind::Auto: return "auto";
    case DeviceKind::CPU: return "cpu";
    case DeviceKind::CUDA: return index >= 0 ? "cuda:" + std::to_string(index) : "cuda";
  }
  return "auto";
}

DeviceSpec parse_device(const std::string& spec) {
  if (spec == "auto") return {DeviceKind::Auto, -1};
  if (spec == "cpu") return {DeviceKind::CPU, -1};
  const std::string prefix = "cuda";
  TORCH_CHECK_VALUE(spec.compare(0, prefix.size(), prefix) == 0,
              "invalid device '", spec, "': expected auto, cpu, cuda or cuda:N");
  if (spec.size() == prefix.size()) return {DeviceKind::CUDA, -1};
  const std::string rest = spec.substr(prefix.size());
  TORCH_CHECK_VALUE(rest.size() >= 2 && rest.size() <= 6 && rest[0] == ':' &&
                  rest.find_first_not_of("0123456789", 1) == std::string::npos,
              "invalid device '", spec, "': expected auto, cpu, cuda or cuda:N");
  return {DeviceKind::CUDA, std::stoi(rest.substr(1))};
}

c10::Device resolve_device(const DeviceSpec& spec) {
  if (spec.kind == DeviceKind::Auto) {
    return torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  }
  if (spec.kind == DeviceKind::CPU) return c10::Device(c10::kCPU);
  const int index = spec.index >= 0 ? spec.index : 0;
  const int count = static_cast<int>(torch::cuda::device_count());
  TORCH_CHECK(count > 0, "device '", spec.str(), "' requested but no CUDA device is available (this LibTorch build ",
              torch::cuda::is_available() ? "sees none" : "has no usable CUDA", "); choose the cpu or auto device");
  TORCH_CHECK(index < count, "device '", spec.str(), "' requested but only ", count, " CUDA device(s) exist");
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

c10::Device resolve_device(const std::string& spec) { return resolve_device(parse_device(spec)); }

int set_threads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  return threads;
}

bool keep_freed_memory() {
#if defined(__GLIBC__)
  const bool user_set =
      std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr || std::getenv("MALLOC_TRIM_THRESHOLD_") != nullptr;
  if (user_set) return false;
  constexpr int kMmapThreshold = 32 << 20;  // glibc's largest on 64-bit (half its 64 MiB heap size)
  constexpr int kTrimThreshold = 1 << 30;
  return mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1;
#else
  return false;
#endif
}

int64_t available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);) {
    long long kilobytes = 0;
    if (std::sscanf(line.c_str(), "MemAvailable: %lld kB", &kilobytes) == 1) return kilobytes * 1024;
  }
  return -1;
}

void check_memory(double bytes, int64_t available, const std::string& what) {
  if (available < 0 || bytes <= static_cast<double>(available)) return;
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  char text[128];
  std::snprintf(text, sizeof text, "%.1f GiB, more than the %.1f GiB of memory available", bytes / kGiB,
                static_cast<double>(available) / kGiB);
  TORCH_CHECK_VALUE(false, what, " needs ", text);
}

}  // namespace ssl
