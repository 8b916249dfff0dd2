#include "sslkit/trainers/train_benchmark.h"

#include "sslkit/ssl/device.h"
#include "sslkit/ssl/flops.h"
#include "sslkit/trainers/optim.h"
#include "sslkit/trainers/precision.h"

#include <ATen/Parallel.h>

#ifdef SSLKIT_WITH_CUDA_STATS
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>

namespace ssl::trainers {
namespace {

using Clock = std::chrono::steady_clock;

void synchronize(torch::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index() < 0 ? -1 : device.index());
}

/// Seconds `fn` takes for `repeats` calls after `warmup` untimed ones, with the device drained at both ends.
template <typename Fn>
double time_calls(torch::Device device, int64_t warmup, int64_t repeats, Fn&& fn) {
  for (int64_t i = 0; i < warmup; ++i) fn(i);
  synchronize(device);
  const auto start = Clock::now();
  for (int64_t i = 0; i < repeats; ++i) fn(warmup + i);
  synchronize(device);
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

double matmul_gflops(torch::Device device, int64_t n, torch::ScalarType dtype) {
  const auto options = torch::TensorOptions().device(device).dtype(dtype);
  const auto a = torch::randn({n, n}, options);
  const auto b = torch::randn({n, n}, options);
  torch::NoGradGuard no_grad;
  const int64_t repeats = device.is_cuda() ? 50 : 5;
  const double seconds = time_calls(device, 1, repeats, [&](int64_t) { torch::mm(a, b); });
  return 2.0 * static_cast<double>(n) * n * n * repeats / seconds / 1e9;
}

namespace {

int64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // reported in kB
  }
  return 0;
}

// Training FLOPs per image: 3 x the encoder's forward FLOPs summed over the views and their patches.
double training_flops_per_image(const data::ViewMaker& maker, EncoderImpl& encoder, const data::Source& images) {
  double flops = 0;
  for (int64_t v = 0; v < maker.num_views(); ++v) {
    const auto view_shape = maker.shape_of_view(v, images.channels(), images.height(), images.width());
    const std::vector<int64_t> image_shape(view_shape.end() - 3, view_shape.end());
    const int64_t patches = view_shape.size() > 3 ? view_shape[0] : 1;
    flops += 3.0 * static_cast<double>(patches) * static_cast<double>(encoder_flops_per_image(encoder, image_shape));
  }
  return flops;
}

// Peak CUDA memory allocated on a CUDA device, else the process's peak resident memory.
void measure_peak_memory(torch::Device device, TrainBenchmarkResult& result) {
#ifdef SSLKIT_WITH_CUDA_STATS
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index());
    result.peak_memory_bytes = stats.allocated_bytes[0].peak;
    result.memory_kind = "CUDA allocated";
    return;
  }
#endif
  result.peak_memory_bytes = peak_rss_bytes();
  result.memory_kind = "RSS";
}

// The first `count` batches of `epoch` on `device`, made before any timing.
std::vector<data::Batch> prepare_batches(const data::Loader& loader, int64_t epoch, int64_t count, torch::Device device) {
  std::vector<data::Batch> prepared;
  for (int64_t step = 0; step < count; ++step) {
    auto batch = loader.make_batch(epoch, step);
    for (auto& view : batch.views) view = view.to(device);
    if (batch.targets.defined()) batch.targets = batch.targets.to(device);
    prepared.push_back(std::move(batch));
  }
  return prepared;
}

// One training step as the loop takes it: autocast forward, backward, optimizer step.
void timed_step(Method& method, torch::optim::Optimizer& optimizer, const data::Batch& batch, Precision precision,
                torch::Device device) {
  StepOutput out;
  {
    AutocastGuard autocast(precision, device);
    out = method.step(batch);
  }
  optimizer.zero_grad();
  out.loss.backward();
  optimizer.step();
}

// The three measurements, `options.rounds()` times in rotating order, into `result`; the loader is restarted (its
// workers joined) before each, so none pays for another's prefetching.
void measure_in_rounds(const TrainBenchmarkOptions& options, data::Loader& loader,
                       const std::vector<data::Batch>& prepared,
                       const std::function<void(const data::Batch&)>& train_step, torch::Device device,
                       TrainBenchmarkResult& result) {
  const double images = static_cast<double>(options.steps() * options.config().batch_size());
  const auto measure_data = [&](int64_t round) {
    loader.start_epoch(1 + options.rounds() + round);
    result.data_only.rounds.push_back(images / time_calls(device, options.warmup_steps(), options.steps(), [&](int64_t) {
      TORCH_CHECK(loader.next(), "bench train: the loader ran dry");
    }));
  };
  const auto measure_compute = [&](int64_t) {
    loader.start_epoch(0, loader.batches_per_epoch());
    result.compute_only.rounds.push_back(images / time_calls(device, options.warmup_steps(), options.steps(), [&](int64_t i) {
      train_step(prepared[static_cast<size_t>(i)]);
    }));
  };
  const auto measure_end_to_end = [&](int64_t round) {
    loader.start_epoch(1 + round);
    result.end_to_end.rounds.push_back(images / time_calls(device, options.warmup_steps(), options.steps(), [&](int64_t) {
      auto batch = loader.next();
      TORCH_CHECK(batch, "bench train: the loader ran dry");
      train_step(*batch);
    }));
  };
  const std::function<void(int64_t)> measurements[] = {measure_data, measure_compute, measure_end_to_end};
  for (int64_t round = 0; round < options.rounds(); ++round) {
    for (int64_t k = 0; k < 3; ++k) measurements[(round + k) % 3](round);
  }
  loader.start_epoch(0, loader.batches_per_epoch());
}

}  // namespace

double Throughput::median() const {
  if (rounds.empty()) return 0;
  auto sorted = rounds;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

double Throughput::low() const { return rounds.empty() ? 0 : *std::min_element(rounds.begin(), rounds.end()); }

double Throughput::high() const { return rounds.empty() ? 0 : *std::max_element(rounds.begin(), rounds.end()); }

TrainBenchmarkResult run_train_benchmark(const TrainBenchmarkOptions& options) {
  const PretrainOptions& config = options.config();
  TORCH_CHECK_VALUE(options.steps() > 0, "bench train: steps must be > 0, got ", options.steps());
  TORCH_CHECK_VALUE(options.warmup_steps() >= 0, "bench train: warmup steps must be >= 0, got ", options.warmup_steps());
  TORCH_CHECK_VALUE(options.rounds() > 0, "bench train: rounds must be > 0, got ", options.rounds());
  const torch::Device device = resolve_device(config.device());
  check_precision(config.loop().precision(), device);
  torch::manual_seed(config.seed());

  const auto train_set = data::head(data::open_source(config.data(), data::Split::Train, config.source()),
                                    config.max_images());
  const data::Normalization norm = data::compute_normalization(*train_set);
  std::unique_ptr<Method> method = make_method(config, *train_set);
  Encoder encoder = method->encoder();
  const Precision precision = check_precision(config.loop().precision(), device, encoder->bf16_faster_on_cpu());
  method->to(device);
  method->train(true);
  auto optimizer = make_optimizer(method->modules(), config.loop().optimizer());
  const auto maker = method->view_maker(norm);
  data::Loader loader(train_set, maker,
                      data::LoaderOptions(config.batch_size())
                          .workers(config.workers())
                          .prefetch(config.prefetch())
                          .seed(config.seed())
                          .device(device));
  const int64_t needed = options.warmup_steps() + options.steps();
  TORCH_CHECK(loader.batches_per_epoch() >= needed, "bench train: ", needed, " steps need ", needed * config.batch_size(),
              " images, but the data has ", train_set->size(), " at batch size ", config.batch_size());

  auto train_step = [&](const data::Batch& batch) { timed_step(*method, *optimizer, batch, precision, device); };

  TrainBenchmarkResult result;
  result.device = device.str();
  result.precision = to_string(precision);
  result.threads = at::get_num_threads();

  // Epochs 1..rounds feed the end-to-end rounds, epoch 0 the prepared batches, the rest the data-only rounds.
  measure_in_rounds(options, loader, prepare_batches(loader, 0, needed, device), train_step, device, result);

  result.flops_per_image = training_flops_per_image(*maker, *encoder, *train_set);
  result.matmul_peak_gflops = matmul_gflops(device, options.matmul_size());
  if (has_fast_bf16(device)) result.bf16_matmul_peak_gflops = matmul_gflops(device, options.matmul_size(), torch::kBFloat16);
  result.step_peak_gflops = precision == Precision::BF16 && result.bf16_matmul_peak_gflops > 0
                                ? result.bf16_matmul_peak_gflops
                                : result.matmul_peak_gflops;
  measure_peak_memory(device, result);
  return result;
}

std::string format_train_table(const TrainBenchmarkOptions& options, const TrainBenchmarkResult& r) {
  const PretrainOptions& c = options.config();
  char line[256];
  std::ostringstream out;
  std::snprintf(line, sizeof line,
                "%s / %s, batch %lld, %s on %s, %lld threads, %lld loader workers, %lld rounds of %lld timed steps "
                "(after %lld untimed) per measurement\n",
                c.method().c_str(), c.encoder().c_str(), static_cast<long long>(c.batch_size()), r.precision.c_str(),
                r.device.c_str(), static_cast<long long>(r.threads), static_cast<long long>(c.workers()),
                static_cast<long long>(options.rounds()), static_cast<long long>(options.steps()),
                static_cast<long long>(options.warmup_steps()));
  out << line;
  const bool bf16_peak = r.step_peak_gflops == r.bf16_matmul_peak_gflops && r.bf16_matmul_peak_gflops > 0;
  const auto gflops = [&](double ips) { return ips * r.flops_per_image / 1e9; };
  std::snprintf(line, sizeof line, "%-26s %12s %15s %10s %13s\n", "measurement", "images/s", "rounds min-max",
                "GFLOP/s", bf16_peak ? "of bf16 peak" : "of fp32 peak");
  out << line;
  const auto row = [&](const char* name, const Throughput& t, bool flops) {
    char range[48];
    std::snprintf(range, sizeof range, "%.0f-%.0f", t.low(), t.high());
    if (flops) {
      std::snprintf(line, sizeof line, "%-26s %12.0f %15s %10.1f %12.0f%%\n", name, t.median(), range,
                    gflops(t.median()), 100.0 * gflops(t.median()) / r.step_peak_gflops);
    } else {
      std::snprintf(line, sizeof line, "%-26s %12.0f %15s\n", name, t.median(), range);
    }
    out << line;
  };
  row("end-to-end", r.end_to_end, true);
  row("compute-only", r.compute_only, true);
  row("data-only", r.data_only, false);
  std::vector<double> ratios;
  for (size_t i = 0; i < r.end_to_end.rounds.size() && i < r.compute_only.rounds.size(); ++i) {
    ratios.push_back(100.0 * r.end_to_end.rounds[i] / r.compute_only.rounds[i]);
  }
  const Throughput ratio{ratios};
  std::snprintf(line, sizeof line, "%-26s %11.1f%% %8.1f-%.1f%% (per round)\n", "end-to-end / compute-only",
                100.0 * r.end_to_end.median() / r.compute_only.median(), ratio.low(), ratio.high());
  out << line;
  std::snprintf(line, sizeof line, "%-26s %12.1f MFLOP (views x 3 x encoder forward)\n", "FLOPs per image",
                r.flops_per_image / 1e6);
  out << line;
  std::snprintf(line, sizeof line, "%-26s %12.1f GFLOP/s (fp32 %lld^3 matmul)\n", "matmul peak", r.matmul_peak_gflops,
                static_cast<long long>(options.matmul_size()));
  out << line;
  if (r.bf16_matmul_peak_gflops > 0) {
    std::snprintf(line, sizeof line, "%-26s %12.1f GFLOP/s (bf16 %lld^3 matmul)\n", "bf16 matmul peak",
                  r.bf16_matmul_peak_gflops, static_cast<long long>(options.matmul_size()));
    out << line;
  }
  std::snprintf(line, sizeof line, "%-26s %12.1f MiB (%s)\n", "peak memory",
                static_cast<double>(r.peak_memory_bytes) / (1024.0 * 1024.0), r.memory_kind.c_str());
  out << line;
  return out.str();
}

namespace {

// Encoder `name` on the benchmark's input shape. The stem applies to the encoders that have one (the resnets), which
// the others show by refusing any stem but "auto"; an unknown stem is refused for all of them before.
Encoder make_benchmark_encoder(const std::string& name, const EncoderBenchmarkOptions& options) {
  const auto plain = EncoderOptions(options.channels()).image_size(options.image_size());
  if (options.stem() == "auto") return make_encoder(name, plain);
  try {
    return make_encoder(name, EncoderOptions(plain).stem(options.stem()));
  } catch (const c10::ValueError&) {
    return make_encoder(name, plain);
  }
}

}  // namespace

std::vector<EncoderBenchmarkRow> run_encoder_benchmark(const EncoderBenchmarkOptions& options,
                                                       double* matmul_peak_gflops) {
  TORCH_CHECK_VALUE(options.batch_size() > 1 && options.steps() > 0, "bench encoders: batch size must be > 1 and ",
                    "steps > 0, got ", options.batch_size(), " and ", options.steps());
  TORCH_CHECK_VALUE(options.matmul_size() > 0, "bench encoders: matmul size must be > 0, got ", options.matmul_size());
  const auto& stem = options.stem();
  TORCH_CHECK_VALUE(stem == "auto" || stem == "cifar" || stem == "imagenet", "bench encoders: unknown stem '", stem,
                    "': expected auto, cifar or imagenet");
  const torch::Device device = resolve_device(options.device());
  std::vector<Precision> precisions;
  for (const Precision p : options.precisions()) precisions.push_back(check_precision(p, device));
  const auto names = options.encoders().empty() ? encoder_names() : options.encoders();
  std::vector<EncoderBenchmarkRow> rows;
  for (const auto& name : names) {
    torch::manual_seed(static_cast<int64_t>(options.seed()));
    Encoder encoder = make_benchmark_encoder(name, options);
    EncoderBenchmarkRow row;
    row.encoder = name;
    row.feature_dim = encoder->feature_dim();
    for (const auto& p : encoder->parameters()) row.parameters += p.numel();
    row.forward_flops = encoder_flops_per_image(*encoder, {options.channels(), options.image_size(), options.image_size()});
    encoder->to(device);
    encoder->train();
    const auto images = torch::randn({options.batch_size(), options.channels(), options.image_size(), options.image_size()},
                                     torch::TensorOptions().device(device));
    for (const Precision precision : precisions) {
      const double seconds = time_calls(device, 1, options.steps(), [&](int64_t) {
        torch::Tensor features;
        {
          AutocastGuard autocast(precision, device);
          features = encoder->forward(images);
        }
        encoder->zero_grad();
        features.to(torch::kFloat).square().mean().backward();
      });
      row.images_per_second.push_back(static_cast<double>(options.steps() * options.batch_size()) / seconds);
    }
    rows.push_back(std::move(row));
  }
  if (matmul_peak_gflops) *matmul_peak_gflops = matmul_gflops(device, options.matmul_size());
  return rows;
}

std::string format_encoder_table(const EncoderBenchmarkOptions& options, const std::vector<EncoderBenchmarkRow>& rows,
                                 double matmul_peak_gflops) {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line,
                "encoders on %lldx%lldx%lld images, forward + backward at batch %lld on %s, %d threads; fp32 matmul "
                "peak %.1f GFLOP/s\n",
                static_cast<long long>(options.channels()), static_cast<long long>(options.image_size()),
                static_cast<long long>(options.image_size()), static_cast<long long>(options.batch_size()),
                resolve_device(options.device()).str().c_str(), at::get_num_threads(), matmul_peak_gflops);
  out << line;
  std::string header = "| encoder | features | parameters | forward MFLOP |";
  std::string rule = "|---|---:|---:|---:|";
  for (const Precision p : options.precisions()) {
    header += " images/s " + to_string(p) + " |";
    rule += "---:|";
  }
  out << header << "\n" << rule << "\n";
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, "| %s | %lld | %.2f M | %.1f |", r.encoder.c_str(),
                  static_cast<long long>(r.feature_dim), static_cast<double>(r.parameters) / 1e6,
                  static_cast<double>(r.forward_flops) / 1e6);
    out << line;
    for (const double ips : r.images_per_second) {
      std::snprintf(line, sizeof line, " %.0f |", ips);
      out << line;
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace ssl::trainers
