#pragma once
// Image folders (needs SSLKIT_WITH_OPENCV): root/<class>/<file> (labels = class folder names in sorted order)
// or a flat folder of images (unlabelled). Files are decoded with OpenCV (png, jpg, bmp, pgm, tiff, webp, ...).
#include "sslkit/data/sources/source.h"

#include <optional>
#include <string>
#include <vector>

namespace ssl::data {

/// The files of an image folder in a fixed order (classes sorted, files sorted within each class).
struct ImageFolderListing {
  /// The folder listed.
  std::string root;
  /// Every regular, non-hidden file.
  std::vector<std::string> files;
  /// Label of each file (empty for a flat folder).
  std::vector<int64_t> labels;
  /// Class folder names indexed by label (empty for a flat folder).
  std::vector<std::string> classes;
};

/// Lists `root`: class subfolders when it has any, else its files. Throws one line when it is missing, empty,
/// or mixes class folders with loose files.
ImageFolderListing list_image_folder(const std::string& root);

/// Decodes image files to one size and channel count, resolving the options' 0 values (keep size, keep
/// channels) from the first readable file.
class ImageDecoder {
 public:
  /// A decoder for `options` (image_size, channels, fit); checks them.
  explicit ImageDecoder(const SourceOptions& options);
  /// `path` as uint8 [H, W, C] at the output size, or nothing when it is not a readable image; the first
  /// readable file fixes the size and channels that options leave open.
  std::optional<torch::Tensor> decode(const std::string& path);
  /// Decodes without fixing anything: the output size must be known (throws otherwise). Thread-safe.
  std::optional<torch::Tensor> decode_fixed(const std::string& path) const;
  /// Whether height, width and channels are known.
  bool fixed() const { return height_ > 0; }
  /// Output height (0 until fixed).
  int64_t height() const { return height_; }
  /// Output width (0 until fixed).
  int64_t width() const { return width_; }
  /// Output channels (0 until fixed).
  int64_t channels() const { return channels_; }

 private:
  SourceOptions options_;
  int64_t height_ = 0, width_ = 0, channels_ = 0;
};

/// An image folder decoded into memory when opened (on all LibTorch threads). Unreadable files are skipped
/// and listed in `skipped()`, or with `OnBadImage::Fail` the first one is a one-line error naming it. For
/// data larger than memory, `sslkit convert` the folder to HDF5, which streams.
class ImageFolderSource : public Source {
 public:
  /// Lists and decodes `root` with `options`.
  ImageFolderSource(const std::string& root, const SourceOptions& options = {});
  int64_t size() const override { return images_.size(); }
  int64_t height() const override { return images_.height(); }
  int64_t width() const override { return images_.width(); }
  int64_t channels() const override { return images_.channels(); }
  bool labelled() const override { return images_.labelled(); }
  std::vector<std::string> classes() const override { return images_.classes(); }
  std::string origin() const override { return images_.origin(); }
  std::vector<std::string> skipped() const override { return skipped_; }
  void read(const int64_t* indices, int64_t count, uint8_t* pixels, int64_t* labels) const override {
    images_.read(indices, count, pixels, labels);
  }

 private:
  static MemorySource decode_all(const ImageFolderListing& listing, const SourceOptions& options,
                                 std::vector<std::string>& skipped);
  std::vector<std::string> skipped_;
  MemorySource images_;
};

/// The one-line error for an unreadable image in fail mode.
std::string bad_image_message(const std::string& path);

}  // namespace ssl::data
