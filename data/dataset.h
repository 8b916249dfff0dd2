#pragma once
#include <torch/types.h>

#include <string>
#include <vector>

namespace ssl::data {

/// Which part of a data set to load.
enum class Split { Train, Test };

/// An in-memory image set: uint8 images [N, H, W, C] and, when labelled, int64 labels [N].
struct ImageSet {
  /// uint8 [N, H, W, C], contiguous.
  torch::Tensor images;
  /// int64 [N]; undefined for unlabelled sets.
  torch::Tensor labels;
  /// int64 [N, H, W] per-pixel classes for dense tasks (segmentation masks); undefined when the data has none.
  torch::Tensor masks;
  /// Where the images came from (for messages and metadata).
  std::string origin;

  /// Number of images.
  int64_t size() const { return images.size(0); }
  /// Image height in pixels.
  int64_t height() const { return images.size(1); }
  /// Image width in pixels.
  int64_t width() const { return images.size(2); }
  /// Channels per pixel.
  int64_t channels() const { return images.size(3); }
  /// Whether labels are present.
  bool labelled() const { return labels.defined(); }
};

/// Per-channel mean and standard deviation of pixel values scaled to [0, 1].
struct Normalization {
  /// One mean per channel.
  std::vector<float> mean;
  /// One standard deviation per channel (> 0).
  std::vector<float> stddev;
};

/// The folder the `fashion-mnist` data spec names: $SSLKIT_FASHION_MNIST_DIR, else Debian's
/// dataset-fashion-mnist location /usr/share/datasets/fashion-mnist.
std::string fashion_mnist_dir();

/// Loads a split of a data spec into memory: "fashion-mnist" (the embedded default), a folder holding the four
/// MNIST-format files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-..., each plain or .gz), an .h5
/// file or an image folder (see `open_source`, with default options). Throws one line naming the spec and
/// what is missing or wrong.
ImageSet load_split(const std::string& spec, Split split);

/// Loads a split from a folder of MNIST-format IDX files, checking that images and labels agree in count.
ImageSet load_mnist_folder(const std::string& dir, Split split);

/// The first `count` images (and labels) of `set`; all of them when `count` <= 0 or >= size.
ImageSet head(const ImageSet& set, int64_t count);

/// Per-channel statistics of `set`'s images.
Normalization compute_normalization(const ImageSet& set);

/// Images as normalized float [N, C, H, W]: (pixel / 255 - mean) / stddev.
torch::Tensor to_float_images(const torch::Tensor& images_uint8, const Normalization& norm);

/// Encodes normalization statistics as "m0,m1;s0,s1" for checkpoint metadata.
std::string to_string(const Normalization& norm);

/// Parses `to_string`'s format; throws naming the text when malformed.
Normalization parse_normalization(const std::string& text);

}  // namespace ssl::data
