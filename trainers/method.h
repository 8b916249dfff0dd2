#pragma once
#include "sslkit/data/loader.h"
#include "sslkit/ssl/checkpoint.h"
#include "sslkit/ssl/encoders.h"
#include "sslkit/trainers/distributed.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ssl::trainers {

/// What one training step returns: the loss to back-propagate and scalar metrics to log.
struct StepOutput {
  /// Scalar loss (with grad).
  torch::Tensor loss;
  /// Extra scalars, e.g. the pretext accuracy.
  std::map<std::string, double> metrics;
};

/// One self-supervised algorithm: owns its heads (and queues or memory banks), says which views it
/// needs, and computes the loss of a batch. The training loop around it is shared by every method.
class Method {
 public:
  virtual ~Method() = default;
  /// Registered name ("simclr", ...).
  virtual std::string name() const = 0;
  /// The encoder being trained.
  virtual Encoder encoder() const = 0;
  /// Every trainable module (encoder first); the optimizer covers their parameters.
  virtual std::vector<std::shared_ptr<torch::nn::Module>> modules() const = 0;
  /// The view maker producing this method's inputs from images normalized by `norm`.
  virtual std::shared_ptr<const data::ViewMaker> view_maker(const data::Normalization& norm) const = 0;
  /// Forward pass and loss of one batch (already on the training device). The loop runs it under autocast
  /// at the chosen precision: compute the loss inside an `Fp32Scope` (precision.h) on fp32 inputs.
  virtual StepOutput step(const data::Batch& batch) = 0;
  /// States of the modules other than the encoder, saved in checkpoints by name.
  virtual std::map<std::string, TensorDict> extra_state() const = 0;
  /// Restores what `extra_state` saved, for `--resume`. The default accepts only an empty state: a method
  /// with extra state overrides it (load_module_state for each module, copies for queues and banks).
  virtual void load_extra_state(const std::map<std::string, TensorDict>& state) {
    TORCH_CHECK(state.empty(), "method '", name(), "' cannot restore its saved state (", state.begin()->first,
                ", ...): it does not implement load_extra_state");
  }
  /// The fraction of the run's schedule done before the coming step, in [0, 1]: the loop calls it before every
  /// step with the fraction its learning-rate schedule uses (steps done over the run's steps, or the time budget's
  /// fraction when that is further along). Methods with a schedule of their own (byol's EMA momentum) read it;
  /// the default ignores it.
  virtual void set_progress(double fraction) { (void)fraction; }
  /// Moves every module to `device`.
  void to(torch::Device device) {
    for (const auto& module : modules()) module->to(device);
  }
  /// Switches every module between training and evaluation mode.
  void train(bool on) {
    for (const auto& module : modules()) module->train(on);
  }
  /// The ranks of a data-parallel run (null: one process); losses over the batch gather across it.
  void set_process_group(std::shared_ptr<ProcessGroup> group) { group_ = std::move(group); }
  /// The ranks of a data-parallel run, or null.
  ProcessGroup* process_group() const { return group_.get(); }

 private:
  std::shared_ptr<ProcessGroup> group_;
};

}  // namespace ssl::trainers
