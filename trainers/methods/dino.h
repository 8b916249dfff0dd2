#pragma once
#include "sslkit/data/views/multi_crop.h"
#include "sslkit/losses/dino.h"
#include "sslkit/trainers/method.h"
#include "sslkit/trainers/methods/pretext.h"

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

namespace ssl::trainers {

/// Options of the DINO head (facebookresearch/dino `DINOHead`), scaled for 28x28 Fashion-MNIST.
struct DINOHeadOptions {
  explicit DINOHeadOptions(int64_t in_dim) : in_dim_(in_dim) {}
  /// Width of the encoder representation fed to the head.
  TORCH_ARG(int64_t, in_dim);
  /// Width of the hidden layers (paper: 2048).
  TORCH_ARG(int64_t, hidden_dim) = 512;
  /// Width of the bottleneck the last layer reads, L2-normalized (paper: 256).
  TORCH_ARG(int64_t, bottleneck_dim) = 128;
  /// K, the number of outputs (paper: 65536).
  TORCH_ARG(int64_t, out_dim) = 4096;
  /// Linear layers of the MLP before the bottleneck, >= 1 (paper: 3).
  TORCH_ARG(int64_t, layers) = 3;
  /// BatchNorm1d after each hidden linear layer (the official `use_bn_in_head`, off there for ViTs). On here: the
  /// pooled ReLU features of a convnet share a large common component, which without it maps every image to nearly
  /// the same logits, so that the centred teacher targets are uniform and the loss climbs to log K.
  TORCH_ARG(bool, batch_norm) = true;
};

/// DINO's projection head: MLP (Linear [-BatchNorm] -GELU repeated, then Linear to the bottleneck; weights N(0, 0.02),
/// biases 0),
/// L2 normalization, then a weight-normalized Linear(bottleneck, K, no bias) whose gain is fixed at 1
/// (`norm_last_layer`): logits = normalize(mlp(h)) normalize(V)^T, so every logit is a cosine in [-1, 1].
class DINOHeadImpl : public torch::nn::Cloneable<DINOHeadImpl> {
 public:
  explicit DINOHeadImpl(const DINOHeadOptions& options);
  /// Builds and registers the layers after validating the options.
  void reset() override;
  /// Prints the layer widths.
  void pretty_print(std::ostream& stream) const override;
  /// [B, in_dim] -> logits [B, K]; with `freeze_last_layer` the last layer's weight gets no gradient.
  torch::Tensor forward(const torch::Tensor& h, bool freeze_last_layer = false);
  /// The options this head was built with.
  DINOHeadOptions options;

 private:
  torch::nn::Sequential mlp_{nullptr};
  torch::Tensor last_layer_;
};
TORCH_MODULE(DINOHead);

/// DINO hyper-parameters (Caron et al. 2021, "Emerging Properties in Self-Supervised Vision Transformers"), scaled
/// for 28x28 Fashion-MNIST.
struct DINOMethodOptions {
  /// Base EMA momentum of the teacher; it rises to 1 along the run on BYOL's cosine schedule (paper: 0.996).
  TORCH_ARG(double, ema_momentum) = 0.996;
  /// tau_s, the student temperature (paper: 0.1).
  TORCH_ARG(double, student_temperature) = 0.1;
  /// tau_t after the warm-up (paper: 0.04 by default, 0.07 in its longer ViT recipes; on 256 Fashion-MNIST images
  /// 0.07 reached after a warm-up from 0.04 made the loss climb to log K, 0.04 made it fall).
  TORCH_ARG(double, teacher_temperature) = 0.04;
  /// tau_t at the start of the warm-up (paper: 0.04).
  TORCH_ARG(double, warmup_teacher_temperature) = 0.04;
  /// Fraction of the run over which tau_t rises linearly to `teacher_temperature` (paper: 30 of 100-300 epochs).
  TORCH_ARG(double, teacher_warmup_fraction) = 0.3;
  /// Momentum of the center, the running mean of the teacher logits (paper: 0.9).
  TORCH_ARG(double, center_momentum) = 0.9;
  /// Steps at the start during which the head's last layer is not trained (paper: its first epoch; here one epoch
  /// of Fashion-MNIST at batch 256).
  TORCH_ARG(int64_t, freeze_last_layer_steps) = 234;
  /// The head's widths.
  TORCH_ARG(DINOHeadOptions, head) = DINOHeadOptions(0);
  /// The crops: 2 global crops for the teacher and the student, local crops for the student only.
  TORCH_ARG(data::MultiCropOptions, crops) = {};
};

/// tau_t at `progress` of the run: linear from `warmup_teacher_temperature` to `teacher_temperature` over the first
/// `teacher_warmup_fraction`, then constant (facebookresearch/dino's schedule, by epoch there).
double dino_teacher_temperature(const DINOMethodOptions& options, double progress);

/// DINO: self-distillation without labels. The student (encoder + DINO head) sees every crop, the teacher (an EMA
/// copy of both) the 2 global crops; losses::dino is the cross-entropy from the centred, sharpened teacher to the
/// student over every pair of different crops (the head runs on all crops of a network at once: one BatchNorm
/// batch). After each step the center moves towards the batch mean of the teacher logits
/// (losses::dino_center_update, all-reduced over the ranks); the teacher is EMA-updated at the start of every step
/// (BYOL's cosine momentum schedule). Each size of crop goes through the encoder as one batch. The official
/// evaluation probes the teacher; sslkit's probes the student unless told `--weights teacher_encoder`: at
/// 2 epochs the teacher, still averaging early weights, probed 0.8 points lower (docs/results.md).
class DINOMethod : public Method {
 public:
  /// `encoder` is trained; `teacher_encoder` is an encoder of the same architecture that becomes its EMA copy.
  DINOMethod(Encoder encoder, Encoder teacher_encoder, DINOMethodOptions options);
  std::string name() const override { return "dino"; }
  Encoder encoder() const override { return encoder_; }
  std::vector<std::shared_ptr<torch::nn::Module>> modules() const override;
  std::shared_ptr<const data::ViewMaker> view_maker(const data::Normalization& norm) const override;
  StepOutput step(const data::Batch& batch) override;
  std::map<std::string, TensorDict> extra_state() const override;
  void load_extra_state(const std::map<std::string, TensorDict>& state) override;
  /// Sets the progress the teacher momentum and temperature follow.
  void set_progress(double fraction) override { ema_.set_progress(fraction); }

  /// teacher <- m teacher + (1 - m) student for the encoder's and the head's parameters, m at the current progress.
  void update_teacher();
  /// The teacher momentum at the current progress.
  double momentum() const { return ema_.momentum(); }
  /// The center [K] the teacher logits are shifted by.
  torch::Tensor center() const;
  /// Steps taken (the last-layer freeze counts them).
  int64_t steps() const;
  /// The student head.
  DINOHead head() const { return head_; }
  /// The teacher encoder (EMA copy of the encoder).
  Encoder teacher_encoder() const { return teacher_encoder_; }
  /// The teacher head (EMA copy of the head).
  DINOHead teacher_head() const { return teacher_head_; }

 private:
  Encoder encoder_, teacher_encoder_;
  DINOHead head_{nullptr}, teacher_head_{nullptr};
  std::shared_ptr<torch::nn::Module> state_;  // buffers "center" [K] and "steps" [1]
  DINOMethodOptions options_;
  EmaSchedule ema_;
};

}  // namespace ssl::trainers
