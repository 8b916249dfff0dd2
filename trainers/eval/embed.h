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

/// Where features come from: a checkpoint's frozen encoder, raw pixels, a random-init encoder, or a feature file.
enum class Features { Encoder, Raw, RandomInit, Stored };

/// "encoder", "raw", "random-init" or "stored" (the spelling of results, attributes and file names).
std::string to_string(Features features);

/// What turns images into features: a checkpoint's frozen encoder, raw pixels, or a random-init encoder.
struct FeatureModel {
  /// Encoder, Raw or RandomInit.
  Features kind = Features::Encoder;
  /// The encoder (undefined for raw pixels).
  Encoder encoder;
  /// The normalization applied to the pixels.
  data::Normalization norm;
  /// "method/encoder" (plus " (NAME)" for weights other than the trained encoder's), "random-init/encoder" or
  /// "raw pixels".
  std::string described;
  /// Features [B, D] (float, CPU) of uint8 images [B, H, W, C], in batches of `batch_size` on `device`.
  torch::Tensor operator()(const torch::Tensor& images, torch::Device device, int64_t batch_size) const;
};

/// Builds the feature model of `kind` (Encoder, Raw or RandomInit): the checkpoint's normalization when it has
/// one, else `train`'s statistics; RandomInit uses the checkpoint's architecture (or `encoder_name` without one)
/// seeded by `seed`. `checkpoint_path` names the checkpoint in messages.
FeatureModel make_feature_model(Features kind, const std::optional<Checkpoint>& checkpoint,
                                const std::string& checkpoint_path, const std::string& weights,
                                const std::string& encoder_name, const data::Source& train, uint64_t seed);

/// A checkpoint (when one is named) and the data it is evaluated on.
struct ModelInput {
  /// The loaded checkpoint; empty when none was named.
  std::optional<Checkpoint> checkpoint;
  /// The checkpoint file (the one named, or checkpoint.pt of the run directory named).
  std::string checkpoint_path;
  /// The run directory when one was named, else empty.
  std::string run_dir;
  /// The data spec named, else the checkpoint's, else fashion-mnist.
  std::string data_spec = "fashion-mnist";
  /// The decoding options, with the checkpoint's image size and channels where they were 0.
  data::SourceOptions source;
};

/// Loads `checkpoint` (a file, or a run directory holding checkpoint.pt; empty: none), checks that it holds the
/// encoder weights `weights` (`encoder_weights`), and resolves the data spec `data` (empty: the checkpoint's, else
/// fashion-mnist) and the decoding options `source`.
ModelInput resolve_model_input(const std::string& checkpoint, const std::string& weights, const std::string& data,
                               data::SourceOptions source);

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

/// The splits `embed_data` encodes.
enum class EmbedSplit { Train, Test, All };

/// "train", "test" or "all".
std::string to_string(EmbedSplit split);

/// Options of `embed_data`: which model encodes which images into which file.
struct EmbedDataOptions {
  /// Where the features come from (Encoder, Raw or RandomInit).
  TORCH_ARG(Features, features) = Features::Encoder;
  /// Checkpoint file or run directory holding checkpoint.pt; empty: none (Raw, RandomInit).
  TORCH_ARG(std::string, checkpoint) = "";
  /// Which of the checkpoint's encoder weights encode (`encoder_weights`: the trained encoder, or an EMA network).
  TORCH_ARG(std::string, weights) = kTrainedEncoder;
  /// Architecture of the RandomInit features when there is no checkpoint.
  TORCH_ARG(std::string, encoder) = kDefaultEncoder;
  /// Data spec; empty: the checkpoint's, else fashion-mnist.
  TORCH_ARG(std::string, data) = "";
  /// Decoding of image folders (image size and channels 0: the checkpoint's, else the first image's).
  TORCH_ARG(data::SourceOptions, source) = {};
  /// Rows written: the train split, the test split, or both (train rows first).
  TORCH_ARG(EmbedSplit, split) = EmbedSplit::Train;
  /// The feature file to write (.h5 or .hdf5).
  TORCH_ARG(std::string, out) = "";
  /// Images read, encoded and written at a time, and where the encoder runs.
  TORCH_ARG(EmbedOptions, embed) = {};
  /// Seed of the RandomInit weights.
  TORCH_ARG(uint64_t, seed) = 0;
};

/// What `embed_data` wrote, and from what.
struct EmbedDataResult {
  /// Rows, width, labels and time of the file written.
  EmbedResult file;
  /// The model ("method/encoder", "random-init/encoder" or "raw pixels").
  std::string model;
  /// The data spec encoded.
  std::string data;
  /// The splits encoded.
  EmbedSplit split = EmbedSplit::Train;
  /// The feature file written.
  std::string out;
};

/// Encodes the split(s) of the data with the feature model into a feature file whose attributes record the model,
/// features, data, split, normalization, version, checkpoint (absolute path, method, encoder) or random-init
/// encoder and seed, image shape and, for All, the row count of each split. The train split gives the
/// normalization when the checkpoint has none. `progress(done, total)` after each batch.
EmbedDataResult embed_data(const EmbedDataOptions& options, const std::function<void(int64_t, int64_t)>& progress = {});

/// The one-line summary `sslkit embed` prints: "wrote R x D features[ and labels] of MODEL (DATA, SPLIT) to OUT in
/// S s (N images/s)", with a newline.
std::string format_embed_summary(const EmbedDataResult& result);

}  // namespace ssl::eval
