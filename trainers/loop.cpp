#include "sslkit/trainers/loop.h"

#include "sslkit/ssl/files.h"
#include "sslkit/ssl/json.h"
#include "sslkit/ssl/progress.h"
#include "sslkit/trainers/distributed.h"
#include "sslkit/trainers/eval/metrics.h"
#include "sslkit/trainers/optim.h"
#include "sslkit/trainers/plot.h"
#include "sslkit/trainers/precision.h"
#include "sslkit/trainers/eval/probe.h"
#include "sslkit/trainers/schedule.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace ssl::trainers {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::atomic<int> g_stop_signal{0};

extern "C" void record_stop_signal(int signal) { g_stop_signal.store(signal); }

/// Catches SIGINT and SIGTERM for its lifetime so the loop can stop after a step; a second signal of the same
/// kind gets the default action (SA_RESETHAND), so a stuck run can still be killed; interrupted system calls
/// restart (SA_RESTART), so a checkpoint being written is not cut short. Restores the old handlers.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal.store(0);
    struct sigaction action {};
    action.sa_handler = record_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND | SA_RESTART;
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  /// The signal received so far, or 0.
  int received() const { return g_stop_signal.load(); }

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

torch::Tensor bytes_tensor(const std::string& bytes) {
  auto tensor = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kUInt8);
  std::memcpy(tensor.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  return tensor;
}

std::string tensor_bytes(const torch::Tensor& tensor) {
  const auto t = tensor.contiguous().cpu();
  return std::string(reinterpret_cast<const char*>(t.data_ptr<uint8_t>()), static_cast<size_t>(t.numel()));
}

const torch::Tensor& trainer_entry(const TensorDict& state, const std::string& name, const std::string& what) {
  const torch::Tensor* found = state.find(name);
  TORCH_CHECK(found != nullptr, what, ": the trainer state has no '", name, "'");
  return *found;
}

std::string describe_precision(Precision precision, torch::Device device) {
  if (precision == Precision::FP32) return "fp32";
  std::string text = to_string(precision) + (device.is_cuda() ? " (CUDA autocast" : " (CPU autocast");
  return text + (precision == Precision::FP16 ? ", dynamic loss scaling)" : ")");
}

}  // namespace

double knn_monitor_accuracy(EncoderImpl& encoder, const KnnMonitorData& data, torch::Device device) {
  auto train = eval::extract_features(encoder, data.train.images, data.norm, device);
  auto test = eval::extract_features(encoder, data.test.images, data.norm, device);
  return eval::knn_accuracy(train, data.train.labels, test, data.test.labels, data.options);
}

PretrainResult train_loop(Method& method, data::Loader& loader, const PretrainOptions& options,
                          const std::map<std::string, std::string>& metadata, const KnnMonitorData* monitor,
                          const Checkpoint* resume_from, std::shared_ptr<ProcessGroup> group) {
  const torch::Device device = loader.options().device();
  // Data parallel: every rank runs this loop on its shard of each batch; rank 0 alone writes the run directory.
  ProcessGroup* const ranks = group && group->world_size() > 1 ? group.get() : nullptr;
  const int64_t world_size = ranks != nullptr ? ranks->world_size() : 1;
  const bool writer = ranks == nullptr || ranks->rank() == 0;
  TORCH_CHECK(loader.options().num_shards() == world_size && loader.options().shard() == (ranks ? ranks->rank() : 0),
              "train_loop: the loader reads shard ", loader.options().shard(), " of ", loader.options().num_shards(),
              ", but this is rank ", ranks ? ranks->rank() : 0, " of ", world_size);
  method.set_process_group(ranks != nullptr ? group : nullptr);
  const int64_t global_batch = loader.options().batch_size() * world_size;
  const Precision precision = check_precision(parse_precision(options.precision()), device);
  auto optimizer = make_optimizer(method.modules(), options.optimizer());
  std::vector<torch::Tensor> params;
  for (const auto& group : optimizer->param_groups())
    params.insert(params.end(), group.params().begin(), group.params().end());
  std::optional<LossScaler> scaler;
  if (precision == Precision::FP16) scaler.emplace();

  const int64_t steps_per_epoch = loader.batches_per_epoch();
  const int64_t total_steps = steps_per_epoch * options.epochs();
  const double budget_seconds = options.max_minutes() * 60.0;
  const std::filesystem::path dir(options.out_dir());
  const std::string checkpoint_path = (dir / "checkpoint.pt").string();
  const std::string metrics_path = (dir / "metrics.jsonl").string();
  const std::string csv_path = (dir / "metrics.csv").string();

  int64_t step = 0;
  double elapsed_before = 0;
  if (resume_from != nullptr) {
    const std::string what = "cannot resume from '" + checkpoint_path + "'";
    const auto trainer = resume_from->modules.find("trainer");
    TORCH_CHECK(trainer != resume_from->modules.end(), what, ": it holds no trainer state");
    const int64_t saved_world_size =
        resume_from->metadata.count("trainer.world_size") > 0 ? resume_from->meta_int("trainer.world_size") : 1;
    TORCH_CHECK(saved_world_size == world_size, what, ": it was written with world size ", saved_world_size,
                ", this run has world size ", world_size, " (resume with the same number of processes)");
    TORCH_CHECK(resume_from->meta_int("trainer.steps_per_epoch") == steps_per_epoch, what, ": it was written with ",
                resume_from->meta("trainer.steps_per_epoch"), " steps per epoch, this data gives ", steps_per_epoch);
    step = resume_from->meta_int("step");
    elapsed_before = std::stod(resume_from->meta("trainer.elapsed_s"));
    load_module_state(*method.encoder(), resume_from->encoder, what);
    auto extra = resume_from->modules;
    extra.erase("trainer");
    method.load_extra_state(extra);
    const TensorDict& state = trainer->second;
    std::istringstream archive_bytes(tensor_bytes(trainer_entry(state, "optimizer", what)));
    torch::serialize::InputArchive archive;
    archive.load_from(archive_bytes, device);
    optimizer->load(archive);
    at::Generator cpu_rng = at::globalContext().defaultGenerator(torch::kCPU);  // a handle on the global one
    cpu_rng.set_state(trainer_entry(state, "cpu_rng", what));
    if (device.is_cuda() && state.contains("cuda_rng")) {
      at::Generator cuda_rng = at::globalContext().defaultGenerator(device);
      cuda_rng.set_state(state["cuda_rng"]);
    }
    if (scaler) {
      const auto saved = trainer_entry(state, "loss_scale", what).to(torch::kDouble);
      scaler->restore(saved[0].item<double>(), static_cast<int64_t>(saved[1].item<double>()));
    }
    if (writer) eval::truncate_metrics(metrics_path, step);
  }
  std::ofstream metrics;
  if (writer) {
    metrics.open(metrics_path, resume_from != nullptr ? std::ios::app : std::ios::trunc);
    TORCH_CHECK(metrics, "cannot write '", metrics_path, "'");
  }
  if (ranks != nullptr) broadcast_modules(method.modules(), *ranks);

  PretrainResult result;
  result.device = device.str();
  result.precision = describe_precision(precision, device);
  result.checkpoint = checkpoint_path;
  result.resumed_from_step = step;
  result.rank = ranks != nullptr ? ranks->rank() : 0;
  const auto start = Clock::now();
  auto elapsed = [&] { return elapsed_before + seconds_since(start); };

  int64_t last_checkpoint_step = -1;
  auto write_checkpoint = [&] {
    if (!writer) {
      last_checkpoint_step = step;
      return;
    }
    const auto begin = Clock::now();
    Checkpoint checkpoint;
    checkpoint.metadata = metadata;
    checkpoint.metadata["method"] = method.name();
    checkpoint.metadata["epoch"] = std::to_string(step / steps_per_epoch);
    checkpoint.metadata["step"] = std::to_string(step);
    checkpoint.metadata["precision"] = to_string(precision);
    checkpoint.metadata["trainer.steps_per_epoch"] = std::to_string(steps_per_epoch);
    if (world_size > 1) checkpoint.metadata["trainer.world_size"] = std::to_string(world_size);
    std::ostringstream elapsed_text;
    elapsed_text.precision(17);
    elapsed_text << elapsed();
    checkpoint.metadata["trainer.elapsed_s"] = elapsed_text.str();
    checkpoint.encoder = module_state(*method.encoder());
    checkpoint.modules = method.extra_state();
    TensorDict trainer;
    torch::serialize::OutputArchive archive;
    optimizer->save(archive);
    std::ostringstream archive_bytes;
    archive.save_to(archive_bytes);
    trainer.insert("optimizer", bytes_tensor(archive_bytes.str()));
    trainer.insert("cpu_rng", at::globalContext().defaultGenerator(torch::kCPU).get_state());
    if (device.is_cuda()) trainer.insert("cuda_rng", at::globalContext().defaultGenerator(device).get_state());
    if (scaler) {
      trainer.insert("loss_scale", torch::tensor({scaler->scale(), static_cast<double>(scaler->growth_tracker())},
                                                 torch::kDouble));
    }
    checkpoint.modules["trainer"] = std::move(trainer);
    save_checkpoint(checkpoint, checkpoint_path);
    metrics.flush();
    eval::write_metrics_csv(metrics_path, csv_path);
    last_checkpoint_step = step;
    ++result.checkpoints;
    result.checkpoint_seconds += seconds_since(begin);
  };

  ProgressLine progress(options.progress() && writer);
  if (options.progress() && writer) {
    std::fprintf(stderr, "sslkit pretrain: %s, batch %lld, %lld epochs of %lld steps%s, %s on %s, %d threads%s\n",
                 method.name().c_str(), static_cast<long long>(loader.options().batch_size()),
                 static_cast<long long>(options.epochs()), static_cast<long long>(steps_per_epoch),
                 budget_seconds > 0 ? (" or " + format_duration(budget_seconds)).c_str() : "",
                 result.precision.c_str(), device.str().c_str(), at::get_num_threads(),
                 step > 0 ? (", resuming at step " + std::to_string(step)).c_str() : "");
    if (world_size > 1) {
      std::fprintf(stderr, "sslkit pretrain: %lld processes, global batch %lld (each rank %lld)%s\n",
                   static_cast<long long>(world_size), static_cast<long long>(global_batch),
                   static_cast<long long>(loader.options().batch_size()),
                   options.distributed().sync_batch_norm() ? ", synchronized BatchNorm" : "");
    }
  }

  StopSignals signals;
  double window_loss = 0;
  int64_t window_steps = 0;
  const int64_t images_before = step * global_batch;
  double synced_elapsed = elapsed_before;  // data parallel: the slowest rank's clock at the last step's end
  bool stop = step >= total_steps || (options.max_steps() > 0 && step >= options.max_steps());
  method.train(true);
  for (int64_t epoch = step / steps_per_epoch; epoch < options.epochs() && !stop; ++epoch) {
    result.epochs = epoch + 1;
    loader.start_epoch(epoch, step - epoch * steps_per_epoch);
    while (auto batch = loader.next()) {
      const double progress_fraction =
          std::max(static_cast<double>(step) / static_cast<double>(total_steps),
                   budget_seconds > 0 ? (ranks != nullptr ? synced_elapsed : elapsed()) / budget_seconds : 0.0);
      const double lr = options.optimizer().lr() * warmup_cosine(progress_fraction, options.warmup_fraction());
      set_learning_rate(*optimizer, lr);

      optimizer->zero_grad();
      StepOutput out;
      {
        AutocastGuard autocast(precision, device);
        out = method.step(*batch);
      }
      const double loss = out.loss.detach().to(torch::kDouble).item<double>();
      if (!std::isfinite(loss)) {
        const int64_t good = last_checkpoint_step >= 0 ? last_checkpoint_step : resume_from ? result.resumed_from_step : -1;
        const char* value = std::isnan(loss) ? "nan" : loss > 0 ? "inf" : "-inf";
        TORCH_CHECK(false, "loss is ", value, " at step ", step + 1, " (epoch ", epoch + 1, "); ",
                    good >= 0 ? "the last checkpoint '" + checkpoint_path + "' (step " + std::to_string(good) + ") is intact"
                              : std::string("no checkpoint was written"));
      }
      (scaler ? out.loss * scaler->scale() : out.loss).backward();
      if (ranks != nullptr) average_gradients(params, *ranks);
      const bool finite = scaler ? scaler->unscale(params) : true;
      double grad_norm = -1;
      if (finite) {
        if (options.clip_grad_norm() > 0) grad_norm = torch::nn::utils::clip_grad_norm_(params, options.clip_grad_norm());
        optimizer->step();
      }
      if (scaler) scaler->update(finite);
      ++step;

      double now = elapsed();
      double step_loss = loss;
      int signal = signals.received();
      if (ranks != nullptr) {  // every rank takes the same decisions: mean loss, slowest clock, any signal
        const auto all = ranks->all_gather(torch::tensor({loss, now, static_cast<double>(signal)}, torch::kDouble))
                             .view({world_size, 3});
        step_loss = all.select(1, 0).mean().item<double>();
        now = synced_elapsed = all.select(1, 1).max().item<double>();
        signal = static_cast<int>(all.select(1, 2).max().item<double>());
      }
      window_loss += step_loss;
      ++window_steps;
      const double images_per_second =
          static_cast<double>(step * global_batch - images_before) / std::max(seconds_since(start), 1e-9);
      const bool end_of_epoch = batch->step + 1 == steps_per_epoch;
      stop = (budget_seconds > 0 && now >= budget_seconds) || (options.max_steps() > 0 && step >= options.max_steps()) ||
             signal != 0;
      if (monitor != nullptr && end_of_epoch && writer) {
        result.knn_accuracy = knn_monitor_accuracy(*method.encoder(), *monitor, device);
      }
      if (writer && (step % options.log_every() == 0 || stop || end_of_epoch)) {
        result.final_loss = window_loss / static_cast<double>(window_steps);
        JsonObject row;
        row.add("epoch", epoch).add("step", step).add("loss", result.final_loss).add("lr", lr);
        for (const auto& [key, value] : out.metrics) row.add(key, value);
        if (grad_norm >= 0) row.add("grad_norm", grad_norm);
        if (scaler) row.add("loss_scale", scaler->scale());
        if (monitor != nullptr && end_of_epoch) row.add("knn_accuracy", result.knn_accuracy);
        row.add("images_per_second", images_per_second).add("elapsed_s", now);
        metrics << row.str() << "\n" << std::flush;
        window_loss = 0;
        window_steps = 0;
      }
      if ((options.checkpoint_every() > 0 && step % options.checkpoint_every() == 0) || end_of_epoch || stop) {
        write_checkpoint();
      }

      const double remaining_steps_time = static_cast<double>(total_steps - step) /
                                          std::max(images_per_second, 1e-9) * global_batch;
      const double eta = budget_seconds > 0 ? std::min(budget_seconds - now, remaining_steps_time) : remaining_steps_time;
      std::ostringstream line;
      line.setf(std::ios::fixed);
      line.precision(4);
      line << "epoch " << epoch + 1 << "/" << options.epochs() << " step " << batch->step + 1 << "/"
           << steps_per_epoch << " loss " << step_loss;
      line.precision(1);
      if (monitor != nullptr && result.knn_accuracy >= 0) line << " knn " << 100 * result.knn_accuracy << "%";
      line.precision(0);
      line << " " << images_per_second << " img/s ETA " << format_duration(eta);
      progress.update(line.str(), stop || end_of_epoch);
      if (signal != 0) result.signal = signal;
      if (stop) break;
    }
  }
  if (last_checkpoint_step != step) write_checkpoint();
  if (writer) plot_metrics(metrics_path, (dir / "metrics.png").string());
  result.steps = step;
  result.seconds = seconds_since(start);
  result.images_per_second =
      static_cast<double>(step * global_batch - images_before) / std::max(result.seconds, 1e-9);
  if (window_steps > 0) result.final_loss = window_loss / static_cast<double>(window_steps);
  return result;
}

}  // namespace ssl::trainers
