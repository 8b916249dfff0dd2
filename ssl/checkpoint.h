#pragma once
#include "sslkit/ssl/encoders.h"

#include <torch/ordered_dict.h>

#include <map>
#include <optional>
#include <string>

namespace ssl {

/// Named tensors of a module: its parameters and buffers, as `Module::named_parameters/named_buffers` name them.
using TensorDict = torch::OrderedDict<std::string, torch::Tensor>;

/// Trainer progress a checkpoint records so that a run resumes where it stopped.
struct TrainerProgress {
  /// Optimizer steps in one epoch; 0 when no trainer wrote the checkpoint.
  int64_t steps_per_epoch = 0;
  /// Processes that trained together (>= 1).
  int64_t world_size = 1;
  /// Training seconds so far, summed over every resumption (finite, >= 0).
  double elapsed_s = 0;
};

/// What a checkpoint says about its encoder and the run that wrote it; written and read only by
/// `save_checkpoint` / `load_checkpoint`, which range-check every field.
///
/// On disk (and for Python's torch.load) it is the string-to-string dict "metadata" with these keys:
/// `encoder`, `in_channels`, `image_size`, `feature_dim` (always); `stem`, `patch_size` (encoders that have them);
/// `normalization`, `data`, `seed`, `method`,
/// `epoch`, `step`, `precision` (when known); `trainer.steps_per_epoch`, `trainer.world_size` (only when > 1),
/// `trainer.elapsed_s` (when a trainer wrote it); `run.<key>` and `option.<name>` per entry of `run` and
/// `options`. Any other key is refused.
struct CheckpointMetadata {
  /// Registered encoder name, as `make_encoder` takes it.
  std::string encoder;
  /// Channels of the images the encoder reads (1..4096).
  int64_t in_channels = 0;
  /// Side of the square images it was trained on, in pixels (1..65536).
  int64_t image_size = 0;
  /// Width of its feature vector; must equal the rebuilt encoder's.
  int64_t feature_dim = 0;
  /// The encoder's resolved stem ("cifar" or "imagenet"); empty for encoders without one (and for ResNets of
  /// checkpoints older than the choice, which had the CIFAR stem).
  std::string stem;
  /// The encoder's resolved patch side; 0 for encoders without patches.
  int64_t patch_size = 0;
  /// Per-channel normalization as `data::to_string` writes it ("m0,m1;s0,s1"); empty when none was recorded.
  std::string normalization;
  /// The data spec the run trained on; empty when unknown.
  std::string data;
  /// The run's seed; empty when unknown.
  std::optional<uint64_t> seed;
  /// Pretext method name; empty for an encoder no method trained.
  std::string method;
  /// Completed epochs (>= 0).
  int64_t epoch = 0;
  /// Completed optimizer steps (>= 0; a resume also checks it against the schedule).
  int64_t step = 0;
  /// Forward-pass precision of training: "fp32", "bf16", "fp16", or empty when unknown.
  std::string precision;
  /// Where the trainer stood.
  TrainerProgress trainer;
  /// The values that identify the run (a resume must match them), by key.
  std::map<std::string, std::string> run;
  /// The options the user gave, by option name.
  std::map<std::string, std::string> options;
};

/// The stored string dict of `metadata` (see `CheckpointMetadata` for the keys).
std::map<std::string, std::string> to_stored(const CheckpointMetadata& metadata);

/// Parses and range-checks a stored dict; throws one line naming `what` (e.g. the file), the key and its value.
CheckpointMetadata parse_metadata(const std::map<std::string, std::string>& stored, const std::string& what);

/// A saved run: the encoder's weights plus enough metadata to rebuild it with no other input, and optional
/// named extra states (heads, optimizer slots) that later resumes or evaluators may use.
struct Checkpoint {
  /// What the encoder is and which run wrote it.
  CheckpointMetadata metadata;
  /// Encoder parameters and buffers.
  TensorDict encoder;
  /// Other module states by name (e.g. "head").
  std::map<std::string, TensorDict> modules;
};

/// Parameters and buffers of `module`, moved to CPU.
TensorDict module_state(const torch::nn::Module& module);

/// Copies `state` into `module`'s parameters and buffers; throws on a missing name or a shape mismatch,
/// naming `what` (e.g. the checkpoint path).
void load_module_state(torch::nn::Module& module, const TensorDict& state, const std::string& what);

/// Builds the checkpoint of `encoder` with its architecture filled in (encoder, in_channels, image_size,
/// feature_dim); callers add the rest of the metadata.
Checkpoint make_checkpoint(const std::string& encoder_name, const EncoderImpl& encoder, int64_t in_channels,
                           int64_t image_size);

/// Saves atomically (temporary file + rename). The file is a LibTorch pickle archive readable by
/// Python's torch.load as a dict.
void save_checkpoint(const Checkpoint& checkpoint, const std::string& path);

/// Loads and validates a checkpoint (format, checksum, metadata ranges, finite tensors); throws one line naming
/// the file and what is wrong.
Checkpoint load_checkpoint(const std::string& path);

/// The options that rebuild the encoder `m` describes (channels, image size, stem, patch size).
EncoderOptions recorded_encoder_options(const CheckpointMetadata& m);

/// Name of a checkpoint's trained encoder among the weights `encoder_weights` finds.
inline constexpr const char* kTrainedEncoder = "encoder";

/// The encoder weights `name` of `checkpoint`: the trained encoder for `kTrainedEncoder`, else the module of that
/// name (an EMA network: dino's `teacher_encoder`, byol's `target_encoder`, moco's `key_encoder`); throws one line
/// naming `what`, the name and the weights the checkpoint holds when it has none of that name.
const TensorDict& encoder_weights(const Checkpoint& checkpoint, const std::string& name,
                                  const std::string& what = "checkpoint");

/// Rebuilds the encoder named in the checkpoint's metadata and loads the weights `weights` (`encoder_weights`),
/// in eval mode, on CPU.
Encoder rebuild_encoder(const Checkpoint& checkpoint, const std::string& what = "checkpoint",
                        const std::string& weights = kTrainedEncoder);

}  // namespace ssl
