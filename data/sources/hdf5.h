#pragma once
// HDF5 data sets (needs SSLKIT_WITH_HDF5). Schema:
//   /images   uint8 [N, H, W, C], C = 1 or 3, chunked along N
//   /labels   integer [N] (written as int64), optional; each in [0, number of classes)
//   /classes  strings [K], optional; class names indexed by label
//   /masks    uint8 [N, H, W], optional; per-pixel classes 0 (background) or 1 (foreground)
#include "sslkit/data/sources/source.h"

#include <torch/arg.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ssl::data {

/// A streaming HDF5 source: images are read by hyperslab through a small chunk cache, so a file larger than
/// memory is never read whole; labels (8 bytes per image) and class names are read once when opened.
/// Opening validates the schema and throws one line naming the file, the data set, the value and what was
/// expected. Reads from several threads are serialized (libhdf5 holds one global lock anyway).
class Hdf5Source : public Source {
 public:
  /// Opens and validates `path`; `cache_bytes` sizes the chunk cache of /images.
  explicit Hdf5Source(const std::string& path, int64_t cache_bytes = 4 << 20);
  ~Hdf5Source() override;
  int64_t size() const override;
  int64_t height() const override;
  int64_t width() const override;
  int64_t channels() const override;
  bool labelled() const override;
  std::vector<std::string> classes() const override;
  std::string origin() const override;
  void read(const int64_t* indices, int64_t count, uint8_t* pixels, int64_t* labels) const override;
  bool has_masks() const override;
  /// Reads masks by hyperslab like the images; throws naming the image when a value is not 0 or 1.
  void read_masks(const int64_t* indices, int64_t count, uint8_t* masks) const override;
  /// Images per chunk of /images (0 when the data set is stored contiguously).
  int64_t chunk_images() const;

 private:
  void open(const std::string& path, int64_t cache_bytes);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// How `Hdf5Writer` lays out /images.
struct Hdf5WriteOptions {
  /// Images per chunk; 0 picks about 128 KiB of pixels per chunk (at least one image): fewer, larger chunks
  /// make the chunk lookup of a random read cheaper (Fashion-MNIST: 2.5x the reads/s of 16 KiB chunks).
  TORCH_ARG(int64_t, chunk_images) = 0;
  /// gzip level 0 (none) to 9; compression makes every random read inflate a whole chunk.
  TORCH_ARG(int, compression) = 0;
  /// Write /masks (chunked as /images); `Hdf5Writer::append` then needs the masks of every image.
  TORCH_ARG(bool, masks) = false;
};

/// Writes the schema incrementally and atomically: images go to a temporary file beside `path` that
/// `finish` renames over it; a writer destroyed before `finish`, or a SIGINT / SIGTERM meanwhile
/// (ssl::TemporaryFileGuard), removes the temporary file. Every write, the flush and every close are checked.
class Hdf5Writer {
 public:
  /// Starts a file of images H x W x C, with a /labels data set when `labelled` and /classes when not empty.
  Hdf5Writer(const std::string& path, int64_t height, int64_t width, int64_t channels, bool labelled,
             std::vector<std::string> classes = {}, Hdf5WriteOptions options = {});
  ~Hdf5Writer();
  Hdf5Writer(const Hdf5Writer&) = delete;
  Hdf5Writer& operator=(const Hdf5Writer&) = delete;
  /// Appends `count` images (and labels, required when labelled; masks uint8 [H, W] each, required when the
  /// options ask for masks) stored back to back.
  void append(const uint8_t* pixels, const int64_t* labels, int64_t count, const uint8_t* masks = nullptr);
  /// Images appended so far.
  int64_t size() const;
  /// Closes the file, flushes it to disk and renames it to `path`.
  void finish();

 private:
  void create(const std::string& path, int64_t height, int64_t width, int64_t channels, bool labelled,
              const std::vector<std::string>& classes, const Hdf5WriteOptions& options);
  void discard();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Writes every image of `source` (and its masks when it has them) to `path` in the schema (atomically), calling `progress(done, total)`
/// after each block when given.
void write_hdf5(const std::string& path, const Source& source, const Hdf5WriteOptions& options = {},
                const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace ssl::data
