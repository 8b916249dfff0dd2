#include "sslkit/trainers/loop.h"

#include "sslkit/ssl/files.h"
#include "sslkit/ssl/json.h"
#include "sslkit/ssl/progress.h"
#include "sslkit/trainers/eval/metrics.h"
#include "sslkit/trainers/plot.h"
#include "sslkit/trainers/schedule.h"
#include "sslkit/trainers/sync_batch_norm.h"

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

/// What one optimizer step measured, agreed over the ranks of a data-parallel run.
struct StepRecord {
  int64_t epoch = 0;
  /// Step within the epoch, from 0.
  int64_t epoch_step = 0;
  double lr = 0;
  /// Mean loss over the ranks.
  double loss = 0;
  std::map<std::string, double> metrics;
  /// The clipped gradients' norm before clipping, or -1 when not clipped.
  double grad_norm = -1;
  /// Seconds of training so far (the slowest rank's).
  double elapsed = 0;
  /// A stop signal any rank received, or 0.
  int signal = 0;
  bool end_of_epoch = false;
};

/// The training loop's state and phases: set up (constructor), resume, announce, then per step `step`,
/// `log`, `checkpoint` and the stop decision, and `finish`.
class Trainer {
 public:
  Trainer(Method& method, data::Loader& loader, const LoopOptions& options,
          const CheckpointMetadata& metadata, const EpochMonitor& monitor,
          std::shared_ptr<ProcessGroup> group);
  /// Restores weights, method state, optimizer, RNG and loss scale from `checkpoint`.
  void resume(const Checkpoint& checkpoint);
  /// Runs the epochs until a budget, the schedule's end or a signal stops the run.
  PretrainResult run();

 private:
  void open_metrics();
  void announce() const;
  bool budget_reached(double elapsed) const;
  double progress() const;
  StepRecord step(const data::Batch& batch, int64_t epoch);
  void agree_over_ranks(StepRecord& record) const;
  void log(const StepRecord& record, bool stop);
  void show_progress(const StepRecord& record, bool stop);
  void checkpoint();
  TensorDict trainer_state() const;
  PretrainResult finish();

  Method& method_;
  data::Loader& loader_;
  const LoopOptions& options_;
  const CheckpointMetadata& metadata_;
  const EpochMonitor& monitor_;
  std::shared_ptr<ProcessGroup> group_;
  ProcessGroup* ranks_;  // the group when it has several ranks, else null
  int64_t world_size_;
  bool writer_;  // rank 0 (or the only process) writes the run directory
  torch::Device device_;
  Precision precision_;
  std::vector<int64_t> resizable_views_;  // the views progressive resizing downsamples (none when it is off)
  int64_t resize_multiple_ = 1;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<torch::Tensor> params_;
  std::optional<LossScaler> scaler_;
  int64_t steps_per_epoch_ = 0, total_steps_ = 0, global_batch_ = 0;
  double budget_seconds_ = 0;
  std::string checkpoint_path_, metrics_path_, csv_path_;
  std::ofstream metrics_;
  ProgressLine progress_;

  int64_t step_ = 0;
  bool resumed_ = false;
  double elapsed_before_ = 0;
  double synced_elapsed_ = 0;  // data parallel: the slowest rank's clock at the last step's end
  int64_t images_before_ = 0;
  int64_t last_checkpoint_step_ = -1;
  Clock::time_point start_;
  double window_loss_ = 0;
  int64_t window_steps_ = 0;
  PretrainResult result_;
};

Trainer::Trainer(Method& method, data::Loader& loader, const LoopOptions& options,
                 const CheckpointMetadata& metadata, const EpochMonitor& monitor,
                 std::shared_ptr<ProcessGroup> group)
    : method_(method),
      loader_(loader),
      options_(options),
      metadata_(metadata),
      monitor_(monitor),
      group_(std::move(group)),
      ranks_(group_ && group_->world_size() > 1 ? group_.get() : nullptr),
      world_size_(ranks_ != nullptr ? ranks_->world_size() : 1),
      writer_(ranks_ == nullptr || ranks_->rank() == 0),
      device_(loader.options().device()),
      precision_(check_precision(options.precision(), device_, method.encoder()->bf16_faster_on_cpu())),
      progress_(options.progress() && writer_) {
  validate(options);
  check_progressive_resize(options.progressive_resize(), loader.view_maker(), loader.source(), *method.encoder());
  if (options.progressive_resize().start_side() > 0) resizable_views_ = loader.view_maker().resizable_views();
  resize_multiple_ = resize_multiple(*method.encoder());
  TORCH_CHECK(loader.options().num_shards() == world_size_ && loader.options().shard() == (ranks_ ? ranks_->rank() : 0),
              "train_loop: the loader reads shard ", loader.options().shard(), " of ", loader.options().num_shards(),
              ", but this is rank ", ranks_ ? ranks_->rank() : 0, " of ", world_size_);
  method_.set_process_group(ranks_ != nullptr ? group_ : nullptr);
  global_batch_ = loader.options().batch_size() * world_size_;
  optimizer_ = make_optimizer(method_.modules(), options.optimizer());
  for (const auto& param_group : optimizer_->param_groups())
    params_.insert(params_.end(), param_group.params().begin(), param_group.params().end());
  if (precision_ == Precision::FP16) scaler_.emplace();
  steps_per_epoch_ = loader.batches_per_epoch();
  total_steps_ = steps_per_epoch_ * options.epochs();
  budget_seconds_ = options.max_minutes() * 60.0;
  const std::filesystem::path dir(options.out_dir());
  checkpoint_path_ = (dir / "checkpoint.pt").string();
  metrics_path_ = (dir / "metrics.jsonl").string();
  csv_path_ = (dir / "metrics.csv").string();
  result_.device = device_.str();
  result_.precision = describe_precision(precision_, device_);
  result_.checkpoint = checkpoint_path_;
  result_.rank = ranks_ != nullptr ? ranks_->rank() : 0;
}

void Trainer::resume(const Checkpoint& checkpoint) {
  const std::string what = "cannot resume from '" + checkpoint_path_ + "'";
  const auto trainer = checkpoint.modules.find("trainer");
  TORCH_CHECK(trainer != checkpoint.modules.end(), what, ": it holds no trainer state");
  const TrainerProgress& saved = checkpoint.metadata.trainer;
  TORCH_CHECK(saved.steps_per_epoch > 0, what, ": no trainer wrote it (its metadata has no steps per epoch)");
  TORCH_CHECK(saved.world_size == world_size_, what, ": it was written with world size ", saved.world_size,
              ", this run has world size ", world_size_, " (resume with the same number of processes)");
  TORCH_CHECK(saved.steps_per_epoch == steps_per_epoch_, what, ": it was written with ", saved.steps_per_epoch,
              " steps per epoch, this data gives ", steps_per_epoch_);
  step_ = checkpoint.metadata.step;
  TORCH_CHECK(step_ >= 0 && step_ <= total_steps_, what, ": its step ", step_, " is outside this run's schedule of ",
              total_steps_, " steps (0..", total_steps_, ")");
  elapsed_before_ = saved.elapsed_s;
  load_module_state(*method_.encoder(), checkpoint.encoder, what);
  auto extra = checkpoint.modules;
  extra.erase("trainer");
  method_.load_extra_state(extra);
  const TensorDict& state = trainer->second;
  std::istringstream archive_bytes(tensor_bytes(trainer_entry(state, "optimizer", what)));
  torch::serialize::InputArchive archive;
  archive.load_from(archive_bytes, device_);
  optimizer_->load(archive);
  at::Generator cpu_rng = at::globalContext().defaultGenerator(torch::kCPU);  // a handle on the global one
  cpu_rng.set_state(trainer_entry(state, "cpu_rng", what));
  if (device_.is_cuda() && state.contains("cuda_rng")) {
    at::Generator cuda_rng = at::globalContext().defaultGenerator(device_);
    cuda_rng.set_state(state["cuda_rng"]);
  }
  if (scaler_) {
    const auto saved = trainer_entry(state, "loss_scale", what).to(torch::kDouble);
    scaler_->restore(saved[0].item<double>(), static_cast<int64_t>(saved[1].item<double>()));
  }
  if (writer_) eval::truncate_metrics(metrics_path_, step_);
  result_.resumed_from_step = step_;
  resumed_ = true;
}

void Trainer::open_metrics() {
  if (!writer_) return;
  metrics_.open(metrics_path_, resumed_ ? std::ios::app : std::ios::trunc);
  TORCH_CHECK(metrics_, "cannot write '", metrics_path_, "'");
}

void Trainer::announce() const {
  if (!options_.progress() || !writer_) return;
  std::fprintf(stderr, "sslkit pretrain: %s, batch %lld, %lld epochs of %lld steps%s, %s on %s, %d threads%s\n",
               method_.name().c_str(), static_cast<long long>(loader_.options().batch_size()),
               static_cast<long long>(options_.epochs()), static_cast<long long>(steps_per_epoch_),
               budget_seconds_ > 0 ? (" or " + format_duration(budget_seconds_)).c_str() : "",
               result_.precision.c_str(), device_.str().c_str(), at::get_num_threads(),
               step_ > 0 ? (", resuming at step " + std::to_string(step_)).c_str() : "");
  if (world_size_ > 1) {
    std::fprintf(stderr, "sslkit pretrain: %lld processes, global batch %lld (each rank %lld)%s\n",
                 static_cast<long long>(world_size_), static_cast<long long>(global_batch_),
                 static_cast<long long>(loader_.options().batch_size()),
                 has_sync_batch_norm(method_.modules()) ? ", synchronized BatchNorm" : "");
  }
  if (!resizable_views_.empty()) {
    const auto& resize = options_.progressive_resize();
    std::fprintf(stderr,
                 "sslkit pretrain: crop views from %lld px, growing to their full side over %g-%g%% of the run\n",
                 static_cast<long long>(resize.start_side()), 100 * resize.ramp_start(), 100 * resize.ramp_end());
  }
}

bool Trainer::budget_reached(double elapsed) const {
  return (budget_seconds_ > 0 && elapsed >= budget_seconds_) ||
         (options_.max_steps() > 0 && step_ >= options_.max_steps());
}

double Trainer::progress() const {
  const double elapsed = ranks_ != nullptr ? synced_elapsed_ : elapsed_before_ + seconds_since(start_);
  const double fraction = std::max(static_cast<double>(step_) / static_cast<double>(total_steps_),
                                   budget_seconds_ > 0 ? elapsed / budget_seconds_ : 0.0);
  return std::min(fraction, 1.0);
}

StepRecord Trainer::step(const data::Batch& batch, int64_t epoch) {
  StepRecord record;
  record.epoch = epoch;
  record.epoch_step = batch.step;
  const double fraction = progress();
  record.lr = options_.optimizer().lr() * warmup_cosine(fraction, options_.warmup_fraction());
  set_learning_rate(*optimizer_, record.lr);
  method_.set_progress(fraction);
  const int64_t side = resizable_views_.empty()
                           ? 0
                           : resized_side(options_.progressive_resize(),
                                          batch.views[static_cast<size_t>(resizable_views_.front())].size(-1),
                                          fraction, resize_multiple_);
  optimizer_->zero_grad();
  StepOutput out;
  {
    AutocastGuard autocast(precision_, device_);
    out = side > 0 ? method_.step(resize_views(batch, resizable_views_, side)) : method_.step(batch);
  }
  record.loss = out.loss.detach().to(torch::kDouble).item<double>();
  record.metrics = out.metrics;
  if (side > 0) record.metrics["resolution"] = static_cast<double>(side);
  if (!std::isfinite(record.loss)) {
    const int64_t good = last_checkpoint_step_ >= 0 ? last_checkpoint_step_ : resumed_ ? result_.resumed_from_step : -1;
    const char* value = std::isnan(record.loss) ? "nan" : record.loss > 0 ? "inf" : "-inf";
    TORCH_CHECK(false, "loss is ", value, " at step ", step_ + 1, " (epoch ", epoch + 1, "); ",
                good >= 0 ? "the last checkpoint '" + checkpoint_path_ + "' (step " + std::to_string(good) + ") is intact"
                          : std::string("no checkpoint was written"));
  }
  (scaler_ ? out.loss * scaler_->scale() : out.loss).backward();
  if (ranks_ != nullptr) average_gradients(params_, *ranks_);
  const bool finite = scaler_ ? scaler_->unscale(params_) : true;
  if (finite) {
    if (options_.clip_grad_norm() > 0) {
      record.grad_norm = torch::nn::utils::clip_grad_norm_(params_, options_.clip_grad_norm());
    }
    optimizer_->step();
  }
  if (scaler_) scaler_->update(finite);
  ++step_;
  record.elapsed = elapsed_before_ + seconds_since(start_);
  record.end_of_epoch = batch.step + 1 == steps_per_epoch_;
  return record;
}

void Trainer::agree_over_ranks(StepRecord& record) const {
  if (ranks_ == nullptr) return;  // every rank takes the same decisions: mean loss, slowest clock, any signal
  const auto all = ranks_->all_gather(torch::tensor({record.loss, record.elapsed, static_cast<double>(record.signal)},
                                                    torch::kDouble))
                       .view({world_size_, 3});
  record.loss = all.select(1, 0).mean().item<double>();
  record.elapsed = all.select(1, 1).max().item<double>();
  record.signal = static_cast<int>(all.select(1, 2).max().item<double>());
}

void Trainer::log(const StepRecord& record, bool stop) {
  window_loss_ += record.loss;
  ++window_steps_;
  const bool monitored = monitor_ && record.end_of_epoch && writer_;
  if (monitored) result_.knn_accuracy = monitor_(*method_.encoder());
  if (!writer_ || !(step_ % options_.log_every() == 0 || stop || record.end_of_epoch)) return;
  result_.final_loss = window_loss_ / static_cast<double>(window_steps_);
  JsonObject row;
  row.add("epoch", record.epoch).add("step", step_).add("loss", result_.final_loss).add("lr", record.lr);
  for (const auto& [key, value] : record.metrics) row.add(key, value);
  if (record.grad_norm >= 0) row.add("grad_norm", record.grad_norm);
  if (scaler_) row.add("loss_scale", scaler_->scale());
  if (monitored) row.add("knn_accuracy", result_.knn_accuracy);
  row.add("images_per_second", result_.images_per_second).add("elapsed_s", record.elapsed);
  metrics_ << row.str() << "\n" << std::flush;
  window_loss_ = 0;
  window_steps_ = 0;
}

void Trainer::show_progress(const StepRecord& record, bool stop) {
  const double images_per_second = result_.images_per_second;
  const double remaining_steps_time =
      static_cast<double>(total_steps_ - step_) / std::max(images_per_second, 1e-9) * global_batch_;
  const double eta =
      budget_seconds_ > 0 ? std::min(budget_seconds_ - record.elapsed, remaining_steps_time) : remaining_steps_time;
  std::ostringstream line;
  line.setf(std::ios::fixed);
  line.precision(4);
  line << "epoch " << record.epoch + 1 << "/" << options_.epochs() << " step " << record.epoch_step + 1 << "/"
       << steps_per_epoch_ << " loss " << record.loss;
  line.precision(1);
  if (monitor_ && result_.knn_accuracy >= 0) line << " knn " << 100 * result_.knn_accuracy << "%";
  line.precision(0);
  line << " " << images_per_second << " img/s ETA " << format_duration(eta);
  progress_.update(line.str(), stop || record.end_of_epoch);
}

TensorDict Trainer::trainer_state() const {
  TensorDict trainer;
  torch::serialize::OutputArchive archive;
  optimizer_->save(archive);
  std::ostringstream archive_bytes;
  archive.save_to(archive_bytes);
  trainer.insert("optimizer", bytes_tensor(archive_bytes.str()));
  trainer.insert("cpu_rng", at::globalContext().defaultGenerator(torch::kCPU).get_state());
  if (device_.is_cuda()) trainer.insert("cuda_rng", at::globalContext().defaultGenerator(device_).get_state());
  if (scaler_) {
    trainer.insert("loss_scale", torch::tensor({scaler_->scale(), static_cast<double>(scaler_->growth_tracker())},
                                               torch::kDouble));
  }
  return trainer;
}

void Trainer::checkpoint() {
  last_checkpoint_step_ = step_;
  if (!writer_) return;
  const auto begin = Clock::now();
  Checkpoint checkpoint;
  checkpoint.metadata = metadata_;
  checkpoint.metadata.method = method_.name();
  checkpoint.metadata.epoch = step_ / steps_per_epoch_;
  checkpoint.metadata.step = step_;
  checkpoint.metadata.precision = to_string(precision_);
  checkpoint.metadata.trainer = {steps_per_epoch_, world_size_, elapsed_before_ + seconds_since(start_)};
  checkpoint.encoder = module_state(*method_.encoder());
  checkpoint.modules = method_.extra_state();
  checkpoint.modules["trainer"] = trainer_state();
  save_checkpoint(checkpoint, checkpoint_path_);
  if (options_.keep_checkpoints()) {
    const auto kept = std::filesystem::path(checkpoint_path_).parent_path() / kept_checkpoint_name(step_);
    save_checkpoint(checkpoint, kept.string());
  }
  metrics_.flush();
  eval::write_metrics_csv(metrics_path_, csv_path_);
  ++result_.checkpoints;
  result_.checkpoint_seconds += seconds_since(begin);
}

PretrainResult Trainer::run() {
  open_metrics();
  if (ranks_ != nullptr) broadcast_modules(method_.modules(), *ranks_);
  announce();
  StopSignals signals;
  images_before_ = step_ * global_batch_;
  synced_elapsed_ = elapsed_before_;
  start_ = Clock::now();
  bool stop = step_ >= total_steps_ || budget_reached(0);
  method_.train(true);
  for (int64_t epoch = step_ / steps_per_epoch_; epoch < options_.epochs() && !stop; ++epoch) {
    loader_.start_epoch(epoch, step_ - epoch * steps_per_epoch_);
    while (auto batch = loader_.next()) {
      StepRecord record = step(*batch, epoch);
      record.signal = signals.received();
      agree_over_ranks(record);
      synced_elapsed_ = record.elapsed;
      result_.images_per_second =
          static_cast<double>(step_ * global_batch_ - images_before_) / std::max(seconds_since(start_), 1e-9);
      stop = budget_reached(record.elapsed) || record.signal != 0;
      log(record, stop);
      if ((options_.checkpoint_every() > 0 && step_ % options_.checkpoint_every() == 0) || record.end_of_epoch ||
          stop) {
        checkpoint();
      }
      show_progress(record, stop);
      if (record.signal != 0) result_.signal = record.signal;
      if (stop) break;
    }
  }
  return finish();
}

PretrainResult Trainer::finish() {
  if (last_checkpoint_step_ != step_) checkpoint();
  if (writer_) plot_metrics(metrics_path_, (std::filesystem::path(options_.out_dir()) / "metrics.png").string());
  result_.steps = step_;
  result_.epochs = static_cast<double>(step_) / static_cast<double>(steps_per_epoch_);
  result_.seconds = seconds_since(start_);
  result_.images_per_second =
      static_cast<double>(step_ * global_batch_ - images_before_) / std::max(result_.seconds, 1e-9);
  if (window_steps_ > 0) result_.final_loss = window_loss_ / static_cast<double>(window_steps_);
  return result_;
}

}  // namespace

std::string kept_checkpoint_name(int64_t step) { return "checkpoint-step-" + std::to_string(step) + ".pt"; }

void validate(const LoopOptions& o) {
  validate(o.optimizer());
  validate(o.progressive_resize());
  TORCH_CHECK_VALUE(o.epochs() > 0, "epochs must be > 0, got ", o.epochs());
  TORCH_CHECK_VALUE(std::isfinite(o.max_minutes()) && o.max_minutes() >= 0, "max-minutes must be finite and >= 0, got ",
              o.max_minutes());
  TORCH_CHECK_VALUE(o.max_steps() >= 0, "max-steps must be >= 0 (0: no limit), got ", o.max_steps());
  TORCH_CHECK_VALUE(o.warmup_fraction() >= 0 && o.warmup_fraction() < 1, "warmup fraction must be in [0, 1), got ",
              o.warmup_fraction());
  TORCH_CHECK_VALUE(o.log_every() > 0, "log-every must be > 0, got ", o.log_every());
  TORCH_CHECK_VALUE(!o.out_dir().empty(), "an output directory is required");
  TORCH_CHECK_VALUE(o.clip_grad_norm() >= 0, "clip-grad-norm must be >= 0 (0: off), got ", o.clip_grad_norm());
  TORCH_CHECK_VALUE(o.checkpoint_every() >= 0, "checkpoint-every must be >= 0 (0: epoch ends only), got ",
              o.checkpoint_every());
}

PretrainResult train_loop(Method& method, data::Loader& loader, const LoopOptions& options,
                          const CheckpointMetadata& metadata, const EpochMonitor& monitor,
                          const Checkpoint* resume_from, std::shared_ptr<ProcessGroup> group) {
  Trainer trainer(method, loader, options, metadata, monitor, std::move(group));
  if (resume_from != nullptr) trainer.resume(*resume_from);
  return trainer.run();
}

}  // namespace ssl::trainers
