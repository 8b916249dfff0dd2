#include "sslkit/trainers/distributed.h"

#include <torch/autograd.h>
#include <torch/version.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>

#ifdef SSLKIT_WITH_DISTRIBUTED
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#endif

namespace ssl::trainers {
namespace {

// Sends this process's stderr to /dev/null for its lifetime: c10d's TCPStore logs each failed bind or
// connection attempt through glog ("Logging before InitGoogleLogging", socket warnings), which would bury
// the one error line that `connect` throws when joining fails.
class QuietStderr {
 public:
  QuietStderr() : saved_(::dup(STDERR_FILENO)) {
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved_ >= 0 && null >= 0) ::dup2(null, STDERR_FILENO);
    if (null >= 0) ::close(null);
  }
  ~QuietStderr() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
  }
  QuietStderr(const QuietStderr&) = delete;
  QuietStderr& operator=(const QuietStderr&) = delete;

 private:
  int saved_;
};

int64_t env_int(const char* name, int64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text, &end, 10);
  TORCH_CHECK(errno == 0 && end != text && *end == '\0', "environment variable ", name, "='", text,
              "' is not an integer");
  return value;
}

std::string first_line(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10_error != nullptr ? c10_error->what_without_backtrace() : e.what();
  const auto end = text.find('\n');
  if (end != std::string::npos) text.resize(end);
  return text;
}

}  // namespace

DistributedOptions distributed_options_from_env() {
  DistributedOptions options;
  options.rank(env_int("RANK", options.rank()))
      .world_size(env_int("WORLD_SIZE", options.world_size()))
      .local_rank(env_int("LOCAL_RANK", options.local_rank()))
      .master_port(env_int("MASTER_PORT", options.master_port()));
  if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr && *addr != '\0') options.master_addr(addr);
  return options;
}

Backend parse_backend(const std::string& name) {
  if (name == "auto") return Backend::Auto;
  if (name == "gloo") return Backend::Gloo;
  if (name == "nccl") return Backend::NCCL;
  TORCH_CHECK_VALUE(false, "unknown backend '", name, "': expected one of auto, gloo, nccl");
}

std::string to_string(Backend backend) {
  switch (backend) {
    case Backend::Auto: return "auto";
    case Backend::Gloo: return "gloo";
    case Backend::NCCL: return "nccl";
  }
  return "auto";
}

void validate(const DistributedOptions& o) {
  TORCH_CHECK_VALUE(o.world_size() >= 1, "world size must be >= 1, got ", o.world_size());
  TORCH_CHECK_VALUE(o.rank() >= 0 && o.rank() < o.world_size(), "rank must be in 0..", o.world_size() - 1,
              " for world size ", o.world_size(), ", got ", o.rank());
  TORCH_CHECK_VALUE(o.local_rank() >= 0, "local rank must be >= 0, got ", o.local_rank());
  TORCH_CHECK_VALUE(o.master_port() >= 1 && o.master_port() <= 65535, "master port must be in 1..65535, got ",
              o.master_port());
  TORCH_CHECK_VALUE(!o.master_addr().empty(), "master address is empty");
  TORCH_CHECK_VALUE(o.timeout_seconds() > 0, "dist-timeout must be > 0 seconds, got ", o.timeout_seconds());
}

bool distributed_available() {
#ifdef SSLKIT_WITH_DISTRIBUTED
  return true;
#else
  return false;
#endif
}

torch::Device rank_device(torch::Device device, bool explicit_index, const DistributedOptions& options) {
  if (!device.is_cuda() || explicit_index || options.world_size() == 1) return device;
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(options.local_rank()));
}

#ifdef SSLKIT_WITH_DISTRIBUTED

// c10d's process groups derive from c10d::Backend since LibTorch 2.0, from c10d::ProcessGroup before.
#if TORCH_VERSION_MAJOR >= 2
using C10dGroup = c10d::Backend;
#else
using C10dGroup = c10d::ProcessGroup;
#endif

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<C10dGroup> group;
  torch::Device device = torch::kCPU;
  std::string where;  // "rank R of N"
  double timeout_seconds = 0;

  // Runs a collective and waits for it; a c10d failure becomes one line naming this rank.
  void run(const char* what, const std::function<c10::intrusive_ptr<c10d::Work>()>& start) const {
    try {
      start()->wait();
    } catch (const std::exception& e) {
      TORCH_CHECK(false, where, ": ", what, " failed (a rank died, or did not answer within ", timeout_seconds,
                  " s): ", first_line(e));
    }
  }
  // The tensor on the group's device (NCCL needs CUDA tensors, Gloo takes both), contiguous.
  torch::Tensor on_device(const torch::Tensor& t) const { return t.to(device).contiguous(); }
};

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl, int64_t rank, int64_t world_size)
    : impl_(std::move(impl)), rank_(rank), world_size_(world_size) {}

ProcessGroup::~ProcessGroup() = default;

std::shared_ptr<ProcessGroup> ProcessGroup::connect(const DistributedOptions& options, torch::Device device) {
  validate(options);
  // A peer that died closes its sockets: writing to them must fail with EPIPE (and then one error line),
  // not kill this process with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  auto impl = std::make_unique<Impl>();
  impl->device = device;
  impl->timeout_seconds = options.timeout_seconds();
  impl->where = "rank " + std::to_string(options.rank()) + " of " + std::to_string(options.world_size());
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(options.timeout_seconds() * 1000));
  const Backend backend =
      options.backend() == Backend::Auto ? (device.is_cuda() ? Backend::NCCL : Backend::Gloo) : options.backend();
  const std::string address = options.master_addr() + ":" + std::to_string(options.master_port());
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<uint16_t>(options.master_port());
    store_options.isServer = options.rank() == 0;
    store_options.numWorkers = static_cast<size_t>(options.world_size());
    store_options.timeout = timeout;
    {
      QuietStderr quiet;
      impl->store = c10::make_intrusive<c10d::TCPStore>(options.master_addr(), store_options);
    }
    const int rank = static_cast<int>(options.rank()), size = static_cast<int>(options.world_size());
    if (backend == Backend::Gloo) {
      auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
      // Gloo's own address: GLOO_SOCKET_IFNAME's interface as in PyTorch, loopback for a local job, else the
      // address this machine's hostname resolves to.
      const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
      const bool local = options.master_addr() == "127.0.0.1" || options.master_addr() == "localhost";
      gloo_options->devices.push_back(
          interface != nullptr && *interface != '\0' ? c10d::ProcessGroupGloo::createDeviceForInterface(interface)
          : local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                  : c10d::ProcessGroupGloo::createDefaultDevice());
      impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, rank, size, gloo_options);
    } else {
#ifdef USE_C10D_NCCL
      TORCH_CHECK(device.is_cuda(), "backend nccl needs a CUDA device, got ", device.str());
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = timeout;
      impl->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, rank, size, nccl_options);
#else
      TORCH_CHECK(false, "backend nccl is not available: this LibTorch was built without NCCL (use the gloo backend)");
#endif
    }
  } catch (const std::exception& e) {
    TORCH_CHECK(false, impl->where, ": could not join the job at ", address, " within ", options.timeout_seconds(),
                " s (did every rank start?): ", first_line(e));
  }
  std::shared_ptr<ProcessGroup> group(new ProcessGroup(std::move(impl), options.rank(), options.world_size()));
  group->barrier();
  return group;
}

void ProcessGroup::all_reduce(std::vector<torch::Tensor>& tensors) {
  for (auto& tensor : tensors) all_reduce(tensor);
}

void ProcessGroup::all_reduce(torch::Tensor& tensor) {
  std::vector<torch::Tensor> buffer{impl_->on_device(tensor)};
  impl_->run("all-reduce", [&] { return impl_->group->allreduce(buffer); });
  if (!buffer[0].is_same(tensor)) tensor.copy_(buffer[0]);
}

void ProcessGroup::all_reduce_max(torch::Tensor& tensor) {
  std::vector<torch::Tensor> buffer{impl_->on_device(tensor)};
  c10d::AllreduceOptions max;
  max.reduceOp = c10d::ReduceOp::MAX;
  impl_->run("all-reduce", [&] { return impl_->group->allreduce(buffer, max); });
  if (!buffer[0].is_same(tensor)) tensor.copy_(buffer[0]);
}

torch::Tensor ProcessGroup::all_gather(const torch::Tensor& tensor) {
  std::vector<torch::Tensor> input{impl_->on_device(tensor.detach())};
  std::vector<std::vector<torch::Tensor>> output(1);
  for (int64_t r = 0; r < world_size_; ++r) output[0].push_back(torch::empty_like(input[0]));
  impl_->run("all-gather", [&] { return impl_->group->allgather(output, input); });
  return torch::cat(output[0]).to(tensor.device());
}

void ProcessGroup::broadcast(std::vector<torch::Tensor>& tensors, int64_t root) {
  c10d::BroadcastOptions from;
  from.rootRank = root;
  for (auto& tensor : tensors) {
    std::vector<torch::Tensor> buffer{impl_->on_device(tensor)};
    impl_->run("broadcast", [&] { return impl_->group->broadcast(buffer, from); });
    if (!buffer[0].is_same(tensor)) tensor.copy_(buffer[0]);
  }
}

void ProcessGroup::barrier() {
  // A one-element all-reduce: c10d's NCCL barrier guesses a device from the rank, this uses the group's.
  auto token = torch::zeros({1}, torch::TensorOptions().device(impl_->device));
  all_reduce(token);
}

#else  // built without c10d

struct ProcessGroup::Impl {};

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl, int64_t rank, int64_t world_size)
    : impl_(std::move(impl)), rank_(rank), world_size_(world_size) {}

ProcessGroup::~ProcessGroup() = default;

std::shared_ptr<ProcessGroup> ProcessGroup::connect(const DistributedOptions& options, torch::Device) {
  validate(options);
  TORCH_CHECK(false, "world size ", options.world_size(),
              " needs distributed support, but this sslkit was built without it (-DSSLKIT_WITH_DISTRIBUTED=OFF)");
  return nullptr;
}

void ProcessGroup::all_reduce(std::vector<torch::Tensor>&) {}
void ProcessGroup::all_reduce(torch::Tensor&) {}
void ProcessGroup::all_reduce_max(torch::Tensor&) {}
torch::Tensor ProcessGroup::all_gather(const torch::Tensor& tensor) { return tensor; }
void ProcessGroup::broadcast(std::vector<torch::Tensor>&, int64_t) {}
void ProcessGroup::barrier() {}

#endif

namespace {

// Forward: all-gather along dim 0. Backward: the incoming gradient summed over the ranks, this rank's rows.
struct AllGatherWithGrad : torch::autograd::Function<AllGatherWithGrad> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, int64_t group_address) {
    auto* group = reinterpret_cast<ProcessGroup*>(group_address);
    ctx->saved_data["group"] = group_address;
    ctx->saved_data["rows"] = x.size(0);
    return group->all_gather(x);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* group = reinterpret_cast<ProcessGroup*>(ctx->saved_data["group"].toInt());
    const int64_t rows = ctx->saved_data["rows"].toInt();
    auto total = grads[0].contiguous().clone();
    group->all_reduce(total);
    return {total.narrow(0, group->rank() * rows, rows), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor all_gather_with_grad(const torch::Tensor& x, ProcessGroup* group) {
  if (group == nullptr) return x;
  return AllGatherWithGrad::apply(x, reinterpret_cast<int64_t>(group));
}

void average_gradients(const std::vector<torch::Tensor>& params, ProcessGroup& group, int64_t bucket_bytes) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> bucket;
  int64_t bytes = 0;
  auto flush = [&] {
    if (bucket.empty()) return;
    std::vector<torch::Tensor> flat_parts;
    for (const auto& g : bucket) flat_parts.push_back(g.reshape({-1}));
    auto flat = torch::cat(flat_parts);
    group.all_reduce(flat);
    flat.div_(static_cast<double>(group.world_size()));
    int64_t offset = 0;
    for (auto& g : bucket) {
      g.copy_(flat.narrow(0, offset, g.numel()).view_as(g));
      offset += g.numel();
    }
    bucket.clear();
    bytes = 0;
  };
  for (const auto& p : params) {
    const auto& g = p.grad();
    if (!g.defined()) continue;
    if (!bucket.empty() && (g.scalar_type() != bucket[0].scalar_type() || g.device() != bucket[0].device() ||
                            bytes + g.nbytes() > static_cast<size_t>(bucket_bytes))) {
      flush();
    }
    bucket.push_back(g);
    bytes += static_cast<int64_t>(g.nbytes());
  }
  flush();
}

void broadcast_modules(const std::vector<std::shared_ptr<torch::nn::Module>>& modules, ProcessGroup& group) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> tensors;
  for (const auto& module : modules) {
    for (const auto& p : module->parameters()) tensors.push_back(p);
    for (const auto& b : module->buffers()) tensors.push_back(b);
  }
  group.broadcast(tensors);
}

}  // namespace ssl::trainers
