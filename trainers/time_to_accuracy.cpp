#include "sslkit/trainers/time_to_accuracy.h"

#include "sslkit/ssl/checkpoint.h"
#include "sslkit/trainers/loop.h"
#include "sslkit/trainers/train_benchmark.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <sstream>

namespace ssl::trainers {
namespace {

namespace fs = std::filesystem;

// The run's kept checkpoints (checkpoint-step-S.pt) in step order, with what their metadata says; `last` is the
// last one loaded.
std::vector<ScoredCheckpoint> list_checkpoints(const std::string& run_dir, Checkpoint& last) {
  std::vector<std::pair<int64_t, fs::path>> files;
  std::error_code ec;
  const std::regex kept("checkpoint-step-([0-9]+)[.]pt");
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    std::smatch match;
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, match, kept)) files.emplace_back(std::stoll(match[1]), entry.path());
  }
  TORCH_CHECK(!files.empty(), "bench accuracy: '", run_dir,
              "' holds no checkpoint-step-*.pt: pretrain the run with --keep-checkpoints");
  std::sort(files.begin(), files.end());
  std::vector<ScoredCheckpoint> found;
  for (const auto& [step, path] : files) {
    last = load_checkpoint(path.string());
    ScoredCheckpoint c;
    c.path = path.string();
    c.step = last.metadata.step;
    const int64_t per_epoch = last.metadata.trainer.steps_per_epoch;
    c.epochs = per_epoch > 0 ? static_cast<double>(c.step) / static_cast<double>(per_epoch) : 0;
    c.minutes = last.metadata.trainer.elapsed_s / 60.0;
    found.push_back(c);
  }
  return found;
}

}  // namespace

TimeToAccuracyResult time_to_accuracy(const TimeToAccuracyOptions& options) {
  TORCH_CHECK_VALUE(!options.targets().empty(), "bench accuracy: no target accuracy given");
  for (const double target : options.targets()) {
    TORCH_CHECK_VALUE(target > 0 && target <= 1, "bench accuracy: target ", 100 * target, "% is not in (0, 100]");
  }
  TORCH_CHECK_VALUE(options.matmul_size() > 0, "bench accuracy: matmul size must be > 0, got ", options.matmul_size());
  TimeToAccuracyResult result;
  Checkpoint last;
  result.checkpoints = list_checkpoints(options.run_dir(), last);
  result.model = last.metadata.method + "/" + last.metadata.encoder;
  result.precision = last.metadata.precision;
  const auto batch = last.metadata.options.find("batch-size");
  if (batch != last.metadata.options.end()) result.batch_size = std::stoll(batch->second);

  const double lowest = *std::min_element(options.targets().begin(), options.targets().end());
  const auto start = std::chrono::steady_clock::now();
  for (auto c = result.checkpoints.rbegin(); c != result.checkpoints.rend(); ++c) {
    auto probe = options.probe();
    probe.checkpoint(c->path).task(eval::Task::Classification).protocol(eval::Protocol::Lbfgs).label_fractions({1.0});
    c->accuracy = eval::headline(eval::evaluate(probe)).probe.test_accuracy;
    if (c->accuracy < lowest) break;
  }
  result.probe_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  for (const double target : options.targets()) {
    double minutes = -1;
    for (auto c = result.checkpoints.rbegin(); c != result.checkpoints.rend() && c->accuracy >= target; ++c) {
      minutes = c->minutes;
    }
    result.minutes_to_target.push_back(minutes);
  }
  result.matmul_peak_gflops = matmul_gflops(options.probe().device(), options.matmul_size());
  return result;
}

std::string format_time_to_accuracy(const TimeToAccuracyOptions& options, const TimeToAccuracyResult& r) {
  std::ostringstream out;
  char line[256];
  const std::string batch = r.batch_size > 0 ? ", batch " + std::to_string(r.batch_size) : "";
  std::snprintf(line, sizeof line, "%s%s, %s: linear probe (L-BFGS, all labels) of %s's checkpoints\n",
                r.model.c_str(), batch.c_str(), r.precision.c_str(), options.run_dir().c_str());
  out << line;
  std::snprintf(line, sizeof line, "%7s %8s %8s %9s\n", "epochs", "step", "minutes", "accuracy");
  out << line;
  for (const auto& c : r.checkpoints) {
    char accuracy[32] = "-";
    if (c.accuracy >= 0) std::snprintf(accuracy, sizeof accuracy, "%.2f%%", 100 * c.accuracy);
    std::snprintf(line, sizeof line, "%7.2f %8lld %8.2f %9s\n", c.epochs, static_cast<long long>(c.step), c.minutes,
                  accuracy);
    out << line;
  }
  out << "target   minutes to reach and keep it\n";
  for (size_t i = 0; i < options.targets().size(); ++i) {
    const double minutes = r.minutes_to_target[i];
    if (minutes >= 0) {
      std::snprintf(line, sizeof line, "%5.1f%%   %.2f\n", 100 * options.targets()[i], minutes);
    } else {
      std::snprintf(line, sizeof line, "%5.1f%%   not reached (last checkpoint %.2f%%)\n", 100 * options.targets()[i],
                    100 * r.checkpoints.back().accuracy);
    }
    out << line;
  }
  std::snprintf(line, sizeof line,
                "minutes: the training loop's clock; '-': not probed (an earlier checkpoint cannot change the "
                "minutes); probing took %.0f s\nfp32 matmul peak %.1f GFLOP/s (measured now, on the probe's "
                "device)\n",
                r.probe_seconds, r.matmul_peak_gflops);
  out << line;
  return out.str();
}

}  // namespace ssl::trainers
