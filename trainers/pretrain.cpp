#include "sslkit/trainers/pretrain.h"

#include "sslkit/ssl/device.h"
#include "sslkit/ssl/files.h"
#include "sslkit/ssl/json.h"
#include "sslkit/ssl/progress.h"
#include "sslkit/trainers/schedule.h"

#include <torch/utils.h>

#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ssl::trainers {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void validate(const PretrainOptions& o) {
  TORCH_CHECK(o.epochs() > 0, "epochs must be > 0, got ", o.epochs());
  TORCH_CHECK(o.max_minutes() >= 0, "max-minutes must be >= 0, got ", o.max_minutes());
  TORCH_CHECK(o.batch_size() >= 2, "batch size must be >= 2 (contrastive losses need negatives), got ",
              o.batch_size());
  TORCH_CHECK(o.warmup_fraction() >= 0 && o.warmup_fraction() < 1, "warmup fraction must be in [0, 1), got ",
              o.warmup_fraction());
  TORCH_CHECK(o.log_every() > 0, "log-every must be > 0, got ", o.log_every());
  TORCH_CHECK(!o.out_dir().empty(), "an output directory (--out) is required");
}

}  // namespace

std::vector<std::string> method_names() { return {"simclr"}; }

std::unique_ptr<Method> make_method(const PretrainOptions& options, Encoder encoder) {
  if (options.method() == "simclr") return std::make_unique<SimCLR>(std::move(encoder), options.simclr());
  std::ostringstream valid;
  for (const auto& name : method_names()) valid << (valid.tellp() > 0 ? ", " : "") << name;
  TORCH_CHECK(false, "unknown method '", options.method(), "': expected one of ", valid.str());
}

PretrainResult pretrain(const PretrainOptions& options) {
  validate(options);
  const torch::Device device = resolve_device(options.device());
  torch::manual_seed(options.seed());

  const std::shared_ptr<const data::Source> train_set =
      data::head(data::open_source(options.data(), data::Split::Train, options.source()), options.max_images());
  const data::Normalization norm = data::compute_normalization(*train_set);

  Encoder encoder = make_encoder(
      options.encoder(), EncoderOptions(train_set->channels()).image_size(train_set->height()));
  std::unique_ptr<Method> method = make_method(options, encoder);
  method->to(device);
  auto optimizer = make_optimizer(method->modules(), options.optimizer());

  data::Loader loader(train_set, method->view_maker(norm),
                      data::LoaderOptions(options.batch_size())
                          .workers(options.workers())
                          .prefetch(options.prefetch())
                          .seed(options.seed())
                          .device(device));
  const int64_t steps_per_epoch = loader.batches_per_epoch();
  const int64_t total_steps = steps_per_epoch * options.epochs();
  const double budget_seconds = options.max_minutes() * 60.0;

  ensure_directory(options.out_dir());
  if (!options.recorded_options().empty()) {
    std::string ini = "# sslkit pretrain options of this run; reuse with --config\n";
    for (const auto& [key, value] : options.recorded_options()) ini += key + " = " + value + "\n";
    write_file_atomic((std::filesystem::path(options.out_dir()) / "options.ini").string(), ini);
  }
  const std::string checkpoint_path = (std::filesystem::path(options.out_dir()) / "checkpoint.pt").string();
  const std::string metrics_path = (std::filesystem::path(options.out_dir()) / "metrics.jsonl").string();
  std::ofstream metrics(metrics_path, std::ios::trunc);
  TORCH_CHECK(metrics, "cannot write '", metrics_path, "'");

  auto write_checkpoint = [&](int64_t epoch, int64_t step) {
    Checkpoint checkpoint = make_checkpoint(options.encoder(), *encoder, train_set->channels(), train_set->height());
    checkpoint.metadata["method"] = method->name();
    checkpoint.metadata["epoch"] = std::to_string(epoch);
    checkpoint.metadata["step"] = std::to_string(step);
    checkpoint.metadata["seed"] = std::to_string(options.seed());
    checkpoint.metadata["normalization"] = data::to_string(norm);
    checkpoint.metadata["data"] = options.data();
    for (const auto& [key, value] : options.recorded_options()) checkpoint.metadata["option." + key] = value;
    checkpoint.modules = method->extra_state();
    save_checkpoint(checkpoint, checkpoint_path);
  };

  ProgressLine progress(options.progress());
  if (options.progress()) {
    std::fprintf(stderr, "sslkit pretrain: %s / %s on %s (%lld images %lldx%lldx%lld), batch %lld, %lld epochs%s, %s, %d threads\n",
                 method->name().c_str(), options.encoder().c_str(), options.data().c_str(),
                 static_cast<long long>(train_set->size()), static_cast<long long>(train_set->height()),
                 static_cast<long long>(train_set->width()), static_cast<long long>(train_set->channels()),
                 static_cast<long long>(options.batch_size()), static_cast<long long>(options.epochs()),
                 budget_seconds > 0 ? (" or " + format_duration(budget_seconds)).c_str() : "", device.str().c_str(),
                 at::get_num_threads());
    const auto skipped = train_set->skipped();
    if (!skipped.empty()) {
      std::fprintf(stderr, "sslkit pretrain: skipped %zu unreadable image files (first: %s)\n", skipped.size(),
                   skipped[0].c_str());
    }
  }
  PretrainResult result;
  result.device = device.str();
  result.checkpoint = checkpoint_path;
  const auto start = Clock::now();
  double window_loss = 0;
  int64_t window_steps = 0;
  int64_t step = 0;
  bool budget_spent = false;
  method->train(true);

  for (int64_t epoch = 0; epoch < options.epochs() && !budget_spent; ++epoch) {
    result.epochs = epoch + 1;
    loader.start_epoch(epoch);
    while (auto batch = loader.next()) {
      const double elapsed = seconds_since(start);
      const double progress_fraction = std::max(
          static_cast<double>(step) / static_cast<double>(total_steps),
          budget_seconds > 0 ? elapsed / budget_seconds : 0.0);
      const double lr = options.optimizer().lr() * warmup_cosine(progress_fraction, options.warmup_fraction());
      set_learning_rate(*optimizer, lr);

      StepOutput out = method->step(*batch);
      optimizer->zero_grad();
      out.loss.backward();
      optimizer->step();
      const double loss = out.loss.item<double>();
      TORCH_CHECK(std::isfinite(loss), "loss became ", loss, " at epoch ", epoch, " step ", step,
                  "; the last checkpoint in '", options.out_dir(), "' is intact");
      ++step;
      window_loss += loss;
      ++window_steps;

      const double now = seconds_since(start);
      const double images_per_second = static_cast<double>(step * options.batch_size()) / std::max(now, 1e-9);
      const bool out_of_time = budget_seconds > 0 && now >= budget_seconds;
      const bool out_of_steps = options.max_steps() > 0 && step >= options.max_steps();
      budget_spent = out_of_time || out_of_steps;
      if (step % options.log_every() == 0 || budget_spent) {
        result.final_loss = window_loss / static_cast<double>(window_steps);
        JsonObject row;
        row.add("epoch", epoch).add("step", step).add("loss", result.final_loss).add("lr", lr);
        for (const auto& [key, value] : out.metrics) row.add(key, value);
        row.add("images_per_second", images_per_second).add("elapsed_s", now);
        metrics << row.str() << "\n" << std::flush;
        window_loss = 0;
        window_steps = 0;
      }
      const double remaining_steps_time =
          static_cast<double>(total_steps - step) / std::max(images_per_second, 1e-9) * options.batch_size();
      const double eta = budget_seconds > 0 ? std::min(budget_seconds - now, remaining_steps_time) : remaining_steps_time;
      std::ostringstream line;
      line.setf(std::ios::fixed);
      line.precision(4);
      line << "epoch " << epoch + 1 << "/" << options.epochs() << " step " << batch->step + 1 << "/"
           << steps_per_epoch << " loss " << loss;
      line.precision(0);
      line << " " << images_per_second << " img/s ETA " << format_duration(eta);
      progress.update(line.str(), budget_spent || batch->step + 1 == steps_per_epoch);
      if (budget_spent) break;
    }
    write_checkpoint(epoch + 1, step);
  }
  result.steps = step;
  result.seconds = seconds_since(start);
  result.images_per_second = static_cast<double>(step * options.batch_size()) / std::max(result.seconds, 1e-9);
  if (window_steps > 0) result.final_loss = window_loss / static_cast<double>(window_steps);
  return result;
}

}  // namespace ssl::trainers
