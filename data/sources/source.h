#pragma once
#include "sslkit/data/dataset.h"

#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ssl::data {

/// A data set of uint8 images [H, W, C], all of one size, with optional int64 labels. It knows files, nothing
/// about training. Every read is thread-safe: the loader's worker threads share one source.
class Source {
 public:
  virtual ~Source() = default;
  /// Number of images.
  virtual int64_t size() const = 0;
  /// Image height in pixels.
  virtual int64_t height() const = 0;
  /// Image width in pixels.
  virtual int64_t width() const = 0;
  /// Channels per pixel (1 or 3).
  virtual int64_t channels() const = 0;
  /// Whether every image has a label.
  virtual bool labelled() const = 0;
  /// Class names indexed by label (empty when unknown).
  virtual std::vector<std::string> classes() const { return {}; }
  /// Where the images come from (for messages and metadata).
  virtual std::string origin() const = 0;
  /// Files left out when the source was opened (unreadable images in skip mode).
  virtual std::vector<std::string> skipped() const { return {}; }
  /// Copies images `indices[k]` to `pixels + k * image_bytes()` and, when `labels` is not null and the source
  /// is labelled, their labels to `labels[k]`. Runs of consecutive indices are read in one go.
  virtual void read(const int64_t* indices, int64_t count, uint8_t* pixels, int64_t* labels) const = 0;
  /// Whether every image has a segmentation mask (per-pixel classes, uint8 [H, W]).
  virtual bool has_masks() const { return false; }
  /// Copies the masks of images `indices[k]` to `masks + k * H * W`; throws when the source has none.
  virtual void read_masks(const int64_t* indices, int64_t count, uint8_t* masks) const;

  /// Bytes of one image (H * W * C).
  int64_t image_bytes() const { return height() * width() * channels(); }
  /// Image `index` as uint8 [H, W, C].
  torch::Tensor get(int64_t index) const;
  /// Label of image `index`; throws when unlabelled.
  int64_t label(int64_t index) const;
};

/// A source over an in-memory `ImageSet` (IDX files, tests, small data).
class MemorySource : public Source {
 public:
  /// Wraps `set` (uint8 [N, H, W, C], contiguous; labels int64 [N] or undefined); checks both.
  explicit MemorySource(ImageSet set, std::vector<std::string> classes = {});
  int64_t size() const override { return set_.size(); }
  int64_t height() const override { return set_.height(); }
  int64_t width() const override { return set_.width(); }
  int64_t channels() const override { return set_.channels(); }
  bool labelled() const override { return set_.labelled(); }
  std::vector<std::string> classes() const override { return classes_; }
  std::string origin() const override { return set_.origin; }
  void read(const int64_t* indices, int64_t count, uint8_t* pixels, int64_t* labels) const override;
  bool has_masks() const override { return set_.masks.defined(); }
  void read_masks(const int64_t* indices, int64_t count, uint8_t* masks) const override;
  /// The wrapped images and labels.
  const ImageSet& set() const { return set_; }

 private:
  ImageSet set_;
  std::vector<std::string> classes_;
};

/// What to do with a file that is not a readable image.
enum class OnBadImage { Skip, Fail };

/// How images of another size are brought to the target size.
enum class Fit { Resize, Crop };

/// How an image folder is decoded. IDX and HDF5 images keep their stored size and channels: those sources refuse
/// an `image_size` or `channels` other than 0 or the stored one.
struct SourceOptions {
  /// Side of the square output images in pixels; 0 keeps the first readable image's height and width.
  TORCH_ARG(int64_t, image_size) = 0;
  /// 1 (gray) or 3 (color); 0 takes the first readable image's (1 for gray files, 3 otherwise).
  TORCH_ARG(int64_t, channels) = 0;
  /// Resize: stretch to the size; Crop: scale the shorter side to the size, then take the center.
  TORCH_ARG(Fit, fit) = Fit::Resize;
  /// Skip unreadable files (counted in `Source::skipped`) or fail naming the first one.
  TORCH_ARG(OnBadImage, on_bad_image) = OnBadImage::Skip;
  /// HDF5 chunk cache per open data set, in bytes.
  TORCH_ARG(int64_t, hdf5_cache_bytes) = 4 << 20;
};

/// Parses "skip" or "fail"; throws naming the text and the valid choices.
OnBadImage parse_on_bad_image(const std::string& text);
/// Parses "resize" or "crop"; throws naming the text and the valid choices.
Fit parse_fit(const std::string& text);

/// What kind of data a spec names.
enum class SpecKind { Idx, Hdf5, ImageFolder };

/// A data spec resolved to its kind and the file or folder holding the requested split.
struct ResolvedSpec {
  /// The kind of data.
  SpecKind kind;
  /// The IDX folder, the .h5 file, or the image folder of the split (root/train or root/test when present).
  std::string path;
};

/// Resolves a data spec for a split (see `open_source`); throws one line when it names nothing usable, or a
/// split it does not hold.
ResolvedSpec resolve_spec(const std::string& spec, Split split);

/// Opens a data spec: "fashion-mnist" (the embedded default), a folder of MNIST-format IDX files, an HDF5 file
/// (.h5, see `Hdf5Source`) or an image folder (see `ImageFolderSource`). Splits: IDX folders hold both; an image
/// folder with train/ and test/ subfolders holds both, otherwise it is the train split; an HDF5 file holds one
/// split, its train split. Asking for a split the spec lacks is a one-line error.
std::shared_ptr<const Source> open_source(const std::string& spec, Split split, const SourceOptions& options = {});

/// Names of the `classes` classes of a data spec, in label order: Fashion-MNIST's ten for "fashion-mnist" with 10
/// classes, none (an empty list) for any other spec or count.
std::vector<std::string> class_names(const std::string& spec, int64_t classes);

/// Opens a spec given for test images alone (probe --test-data): the test split of an IDX folder or of an
/// image folder with train/ and test/, otherwise all of it (an .h5 file, an image folder).
std::shared_ptr<const Source> open_test_source(const std::string& spec, const SourceOptions& options = {});

/// The first `count` images of `source` (all of them when `count` <= 0 or >= its size).
std::shared_ptr<const Source> head(std::shared_ptr<const Source> source, int64_t count);

/// Most classes a labelled file may have without naming them (its labels then lie in 0..kMaxUnnamedClasses-1):
/// a bound that keeps a stray label from sizing a classifier of millions of outputs.
constexpr int64_t kMaxUnnamedClasses = 65536;

/// `test` with its labels renumbered so that each class name means the class of that name in `train` (an
/// image folder's test/ that lacks a class folder numbers the later ones differently). Returned as it is when
/// the names agree or either side has none; a test class that `train` lacks is refused, naming both.
std::shared_ptr<const Source> align_classes(std::shared_ptr<const Source> test, const Source& train);

/// `source` with masks computed from its pixels: 1 where the largest channel value is above `threshold`
/// (0..255), else 0 (what `sslkit convert --masks threshold:T` writes).
std::shared_ptr<const Source> with_threshold_masks(std::shared_ptr<const Source> source, int64_t threshold);

/// Foreground masks uint8 [N, H, W] of uint8 images [N, H, W, C]: 1 where the largest channel value is above
/// `threshold` (0..255), else 0.
torch::Tensor threshold_masks(const torch::Tensor& images, int64_t threshold);

/// Reads every image (and label, and mask as int64 [N, H, W] when the source has them) of `source` into memory.
ImageSet materialize(const Source& source);

/// Per-channel statistics of every image of `source`, read in blocks (exact integer sums; unbiased std).
Normalization compute_normalization(const Source& source);

/// Whether this build reads HDF5 files (SSLKIT_WITH_HDF5).
bool built_with_hdf5();
/// Whether this build decodes image folders (SSLKIT_WITH_OPENCV).
bool built_with_opencv();

}  // namespace ssl::data
