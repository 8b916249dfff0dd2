#pragma once
#include "sslkit/ssl/encoders.h"

#include <torch/ordered_dict.h>

#include <map>
#include <string>

namespace ssl {

/// Named tensors of a module: its parameters and buffers, as `Module::named_parameters/named_buffers` name them.
using TensorDict = torch::OrderedDict<std::string, torch::Tensor>;

/// A saved run: the encoder's weights plus enough metadata to rebuild it with no other input, and optional
/// named extra states (heads, optimizer slots) that later resumes or evaluators may use.
struct Checkpoint {
  /// Free-form string metadata. Keys written by sslkit: encoder, in_channels, image_size, feature_dim,
  /// method, epoch, step, seed, and "option.<name>" for every training option.
  std::map<std::string, std::string> metadata;
  /// Encoder parameters and buffers.
  TensorDict encoder;
  /// Other module states by name (e.g. "head").
  std::map<std::string, TensorDict> modules;

  /// Metadata value for `key`; throws naming the key when absent.
  const std::string& meta(const std::string& key) const;
  /// Integer metadata value for `key`; throws naming key and value when absent or not an integer.
  int64_t meta_int(const std::string& key) const;
};

/// Parameters and buffers of `module`, moved to CPU.
TensorDict module_state(const torch::nn::Module& module);

/// Copies `state` into `module`'s parameters and buffers; throws on a missing name or a shape mismatch,
/// naming `what` (e.g. the checkpoint path).
void load_module_state(torch::nn::Module& module, const TensorDict& state, const std::string& what);

/// Builds the checkpoint of `encoder` with the standard metadata filled in (encoder, in_channels, image_size,
/// feature_dim); callers add method/epoch/options.
Checkpoint make_checkpoint(const std::string& encoder_name, const EncoderImpl& encoder, int64_t in_channels,
                           int64_t image_size);

/// Saves atomically (temporary file + rename). The file is a LibTorch pickle archive readable by
/// Python's torch.load as a dict.
void save_checkpoint(const Checkpoint& checkpoint, const std::string& path);

/// Loads and validates a checkpoint; throws one line naming the file and what is wrong.
Checkpoint load_checkpoint(const std::string& path);

/// Rebuilds the encoder named in the checkpoint's metadata and loads its weights (in eval mode, on CPU).
Encoder rebuild_encoder(const Checkpoint& checkpoint, const std::string& what = "checkpoint");

}  // namespace ssl
