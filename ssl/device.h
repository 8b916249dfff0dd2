#pragma once
#include <c10/core/Device.h>

#include <string>

namespace ssl {

/// Resolves a device spec: "auto" (the first CUDA device when one is usable, else CPU), "cpu", "cuda"
/// or "cuda:N". Throws with the spec and the valid forms when it is malformed or names a missing GPU.
c10::Device resolve_device(const std::string& spec);

/// Sets LibTorch's intra-op thread count; `threads` <= 0 means all hardware threads. Returns the count set.
int set_threads(int threads);

}  // namespace ssl
