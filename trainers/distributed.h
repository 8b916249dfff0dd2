#pragma once
// Multi-process data parallelism on LibTorch's c10d (Gloo on CPU, NCCL on CUDA). Every c10d call of sslkit is in
// distributed.cpp; this header names no c10d type, so it compiles where sslkit is built without distributed support.
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

namespace ssl::trainers {

/// The collective library of a process group.
enum class Backend {
  Auto,  ///< NCCL on CUDA, Gloo on CPU
  Gloo,  ///< Gloo (CPU tensors; CUDA tensors through host copies)
  NCCL,  ///< NCCL (CUDA tensors only)
};

/// Parses "auto", "gloo" or "nccl"; throws one line listing them otherwise.
Backend parse_backend(const std::string& name);

/// The name `parse_backend` reads.
std::string to_string(Backend backend);

/// Where this process sits in a multi-process job and how it reaches the others (torchrun / SLURM conventions).
struct DistributedOptions {
  /// This process's rank, in 0..world_size-1 (RANK).
  TORCH_ARG(int64_t, rank) = 0;
  /// Processes in the job (WORLD_SIZE); 1 is the single-process path.
  TORCH_ARG(int64_t, world_size) = 1;
  /// Rank on this machine (LOCAL_RANK): a CUDA run uses cuda:LOCAL_RANK.
  TORCH_ARG(int64_t, local_rank) = 0;
  /// Host of rank 0, which serves the rendezvous store (MASTER_ADDR).
  TORCH_ARG(std::string, master_addr) = "127.0.0.1";
  /// TCP port of the rendezvous store on rank 0 (MASTER_PORT).
  TORCH_ARG(int64_t, master_port) = 29500;
  /// Collective backend.
  TORCH_ARG(Backend, backend) = Backend::Auto;
  /// Seconds a rank waits for the others (to join, or in a collective) before it fails.
  TORCH_ARG(double, timeout_seconds) = 300;
  /// Replace BatchNorm layers by SyncBatchNorm (statistics over the global batch).
  TORCH_ARG(bool, sync_batch_norm) = false;
};

/// The options from the environment: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT (unset: the defaults;
/// a malformed value throws naming the variable).
DistributedOptions distributed_options_from_env();

/// Throws with the offending value when `options` are inconsistent (rank outside 0..world_size-1, bad port, ...).
void validate(const DistributedOptions& options);

/// Whether this build of sslkit has c10d support (CMake option SSLKIT_WITH_DISTRIBUTED).
bool distributed_available();

/// The device rank `options.local_rank()` trains on: cuda:LOCAL_RANK when `device` is CUDA without an index
/// chosen by the user (`explicit_index` false), else `device`.
torch::Device rank_device(torch::Device device, bool explicit_index, const DistributedOptions& options);

/// A c10d process group: collectives over the ranks of one job on tensors of one device. Every rank must call
/// the same collectives in the same order. Failures (a rank that died, the timeout) throw one line naming the
/// rank and the cause.
class ProcessGroup {
 public:
  /// Joins the job: rank 0 serves a TCP store at master_addr:master_port, the others connect to it; blocks
  /// until all `world_size` ranks have joined or throws after `timeout_seconds`.
  static std::shared_ptr<ProcessGroup> connect(const DistributedOptions& options, torch::Device device);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  /// This process's rank.
  int64_t rank() const { return rank_; }
  /// Processes in the group.
  int64_t world_size() const { return world_size_; }
  /// Sums each tensor over the ranks, in place (contiguous tensors).
  void all_reduce(std::vector<torch::Tensor>& tensors);
  /// Sums `tensor` over the ranks, in place.
  void all_reduce(torch::Tensor& tensor);
  /// Element-wise maximum over the ranks, in place.
  void all_reduce_max(torch::Tensor& tensor);
  /// The ranks' tensors (equal shapes) concatenated along dim 0 in rank order; no gradient.
  torch::Tensor all_gather(const torch::Tensor& tensor);
  /// Copies rank `root`'s tensors into every rank's, in place.
  void broadcast(std::vector<torch::Tensor>& tensors, int64_t root = 0);
  /// Returns once every rank has called it.
  void barrier();

 private:
  struct Impl;
  ProcessGroup(std::unique_ptr<Impl> impl, int64_t rank, int64_t world_size);
  std::unique_ptr<Impl> impl_;
  int64_t rank_ = 0, world_size_ = 1;
};

/// The ranks' `x` [B, ...] concatenated to [world_size B, ...] in rank order, differentiable: the backward pass
/// sums the incoming gradients over the ranks and returns each rank the rows of its own `x`. When every rank
/// computes the same loss L over the gathered tensor, rank r's gradient is world_size dL/dx_r, which the
/// gradient averaging (sum / world_size) of `average_gradients` turns into exactly the single-process dL/dtheta.
/// Returns `x` when `group` is null.
torch::Tensor all_gather_with_grad(const torch::Tensor& x, ProcessGroup* group);

/// Averages the gradients of `params` over the ranks (sum / world_size), in buckets of at most `bucket_bytes`:
/// each bucket's gradients are flattened into one tensor, all-reduced, and copied back. Parameters without a
/// gradient are skipped (the same ones on every rank: the ranks run the same code).
void average_gradients(const std::vector<torch::Tensor>& params, ProcessGroup& group,
                       int64_t bucket_bytes = int64_t{25} << 20);

/// Copies rank 0's parameters and buffers of `modules` into every rank's.
void broadcast_modules(const std::vector<std::shared_ptr<torch::nn::Module>>& modules, ProcessGroup& group);

}  // namespace ssl::trainers
