#pragma once
// Frozen-encoder features streamed into an HDF5 feature file (`sslkit embed`), and the probe on stored features.
#include "sslkit/data/dataset.h"
#include "sslkit/data/sources/feature_file.h"
#include "sslkit/data/sources/source.h"
#include "sslkit/ssl/checkpoint.h"
#include "sslkit/ssl/encoders.h"

#include <torch/arg.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ssl::eval {

/// What turns images into features: a checkpoint's frozen encoder, raw pixels, or a random-init encoder.
struct FeatureModel {
  /// "encoder", "raw" or "random-init".
  std::string kind;
  /// The encoder (undefined for raw pixels).
  Encoder encoder;
  /// The normalization applied to the pixels.
  data::Normalization norm;
  /// "method/encoder", "random-init/encoder" or "raw pixels".
  std::string described;
  /// Features [B, D] (float, CPU) of uint8 images [B, H, W, C], in batches of `batch_size` on `device`.
  torch::Tensor operator()(const torch::Tensor& images, torch::Device device, int64_t batch_size) const;
};

/// Builds the feature model of `kind` (encoder | raw | random-init) as `sslkit probe` does: the checkpoint's
/// normalization when it has one, else `train`'s statistics; random-init uses the checkpoint's architecture
/// (or `encoder_name` without one) seeded by `seed`. `checkpoint_path` names the checkpoint in messages.
FeatureModel make_feature_model(const std::string& kind, const std::optional<Checkpoint>& checkpoint,
                                const std::string& checkpoint_path, const std::string& encoder_name,
                                const data::Source& train, uint64_t seed);

/// Options of `embed_to_file`.
struct EmbedOptions {
  /// Images per batch (read, encoded and written at a time).
  TORCH_ARG(int64_t, batch_size) = 256;
  /// Where the encoder runs.
  TORCH_ARG(torch::Device, device) = torch::kCPU;
};

/// What `embed_to_file` wrote.
struct EmbedResult {
  /// Rows written.
  int64_t rows = 0;
  /// Feature width.
  int64_t feature_dim = 0;
  /// Whether /labels was written.
  bool labelled = false;
  /// Wall-clock seconds of reading, encoding and writing.
  double seconds = 0;
};

/// Streams every image of `parts` (in order; each part batched from its own first image, so a part's rows equal
/// those `sslkit probe` extracts from it) through `model` into a feature file at `out`, atomically: only one
/// batch of images and features is in memory at a time, and nothing is left at `out` on an error. /labels is
/// written when every part is labelled; `attributes` gains feature_dim. `progress(done, total)` after each batch.
EmbedResult embed_to_file(const FeatureModel& model, const std::vector<std::shared_ptr<const data::Source>>& parts,
                          const std::string& out, data::FeatureAttributes attributes, const EmbedOptions& options = {},
                          const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace ssl::eval
