#pragma once
#include "sslkit/data/sources/hdf5.h"
#include "sslkit/data/sources/source.h"

#include <torch/arg.h>

#include <functional>
#include <string>
#include <vector>

namespace ssl::data {

/// Options of `convert_to_hdf5`.
struct ConvertOptions {
  /// How an image folder is decoded (size, channels, fit, unreadable files).
  TORCH_ARG(SourceOptions, source) = {};
  /// Chunking and compression of the output.
  TORCH_ARG(Hdf5WriteOptions, hdf5) = {};
  /// 0..255: also write /masks, 1 where the largest channel value is above it (see `threshold_masks`);
  /// -1: none (an .h5 input's own masks are copied).
  TORCH_ARG(int64_t, mask_threshold) = -1;
};

/// What `convert_to_hdf5` wrote.
struct ConvertResult {
  /// Images written.
  int64_t images = 0;
  /// Image height in pixels.
  int64_t height = 0;
  /// Image width in pixels.
  int64_t width = 0;
  /// Channels per pixel.
  int64_t channels = 0;
  /// Whether /labels was written.
  bool labelled = false;
  /// Whether /masks was written.
  bool masks = false;
  /// Class names written to /classes.
  std::vector<std::string> classes;
  /// Unreadable files left out (skip mode).
  std::vector<std::string> skipped;
};

/// Packs one split of a data spec (IDX folder, image folder or .h5 file) into an HDF5 file in the schema of
/// `Hdf5Source`, atomically: on any error nothing is left at `out`. Image folders are decoded block by block,
/// so a folder larger than memory converts. `progress(done, total)` is called after each block when given.
ConvertResult convert_to_hdf5(const std::string& spec, Split split, const std::string& out,
                              const ConvertOptions& options = {},
                              const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace ssl::data
