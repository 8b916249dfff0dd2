#pragma once
#include <c10/core/Device.h>

#include <cstdint>
#include <string>

namespace ssl {

/// The kinds of device a run may ask for.
enum class DeviceKind {
  Auto,  ///< the first CUDA device when one is usable, else the CPU
  CPU,   ///< the CPU
  CUDA,  ///< a CUDA device
};

/// A device as the user asked for it, before it is resolved against the hardware present.
struct DeviceSpec {
  /// What kind of device.
  DeviceKind kind = DeviceKind::Auto;
  /// The CUDA device index the user named (cuda:N), or -1 when none was named.
  int index = -1;
  /// The spec as text: "auto", "cpu", "cuda" or "cuda:N".
  std::string str() const;
};

/// Parses "auto", "cpu", "cuda" or "cuda:N"; throws one line with the spec and the valid forms otherwise.
DeviceSpec parse_device(const std::string& spec);

/// The device `spec` names on this machine; throws one line when it names a missing GPU.
c10::Device resolve_device(const DeviceSpec& spec);

/// Parses and resolves a device spec in one step (see `parse_device` and `resolve_device`).
c10::Device resolve_device(const std::string& spec);

/// Sets LibTorch's intra-op thread count; `threads` <= 0 means all hardware threads. Returns the count set.
int set_threads(int threads);

/// Makes glibc's malloc keep the memory that tensors free for the next allocations instead of handing it back to
/// the kernel: blocks under 32 MiB come from the heap rather than from their own mmap, and the heap's free top is
/// returned only beyond 1 GiB. With glibc's defaults every training step faulted the pages of its activations in
/// anew (a third of the step's time on 2 cores). Process-wide; call it once at start-up, before the threads that
/// allocate. Does nothing without glibc or where the environment sets MALLOC_MMAP_THRESHOLD_ or
/// MALLOC_TRIM_THRESHOLD_ (the user's settings win). Returns whether it changed the settings.
bool keep_freed_memory();

/// Memory the kernel reports as available to new allocations (MemAvailable), in bytes; -1 when unknown.
int64_t available_memory_bytes();

/// Refuses (one line naming `what`) a request for `bytes` of memory when more than `available` bytes (>= 0)
/// are asked for; nothing is checked when `available` is -1 (unknown).
void check_memory(double bytes, int64_t available, const std::string& what);

}  // namespace ssl
