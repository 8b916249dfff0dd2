#pragma once
// HDF5 feature files (needs SSLKIT_WITH_HDF5; without it every function throws one line saying so). Schema:
//   /features  float32 [N, D], chunked along N
//   /labels    int64 [N], optional
//   attributes of the root group: text (method, encoder, normalization, checkpoint, data, split, features,
//   sslkit_version) and int64 (feature_dim, image_height, image_width, channels, ...), as the writer was given.
#include <torch/types.h>

#include <map>
#include <memory>
#include <string>

namespace ssl::data {

/// Attributes of a feature file's root group.
struct FeatureAttributes {
  /// String attributes by name.
  std::map<std::string, std::string> text;
  /// Integer attributes by name.
  std::map<std::string, int64_t> integers;
};

/// Writes a feature file incrementally and atomically: rows go to a temporary file beside `path` that `finish`
/// renames over it; a writer destroyed before `finish`, or a SIGINT / SIGTERM meanwhile (ssl::TemporaryFileGuard),
/// removes the temporary file. Every write, the flush and every close are checked.
class FeatureWriter {
 public:
  /// Starts a file of `dim`-wide rows, with /labels when `labelled`, and the attributes.
  FeatureWriter(const std::string& path, int64_t dim, bool labelled, const FeatureAttributes& attributes);
  ~FeatureWriter();
  FeatureWriter(const FeatureWriter&) = delete;
  FeatureWriter& operator=(const FeatureWriter&) = delete;
  /// Appends rows [B, D] (converted to float32) and, for a labelled file, their labels [B] (int64).
  void append(const torch::Tensor& features, const torch::Tensor& labels = {});
  /// Rows appended so far.
  int64_t size() const;
  /// Closes the file, flushes it to disk and renames it to `path`.
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A feature file read into memory.
struct FeatureFile {
  /// The file it was read from.
  std::string path;
  /// float32 [N, D].
  torch::Tensor features;
  /// int64 [N]; undefined when the file has no /labels.
  torch::Tensor labels;
  /// The root group's string and integer attributes (others are skipped).
  FeatureAttributes attributes;
};

/// Reads and validates a feature file; throws one line naming the file, the data set, the value and what was
/// expected (rank, dtype, row counts; a missing /labels when `need_labels`), and a value error (c10::ValueError)
/// naming the row and column of a NaN or Inf in /features.
FeatureFile read_feature_file(const std::string& path, bool need_labels);

/// Checks that test features can be scored by a probe fitted on train features (same width); throws one line
/// naming both files otherwise.
void check_same_width(const FeatureFile& train, const FeatureFile& test);

}  // namespace ssl::data
