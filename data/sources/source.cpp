#include "sslkit/data/sources/source.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <numeric>

#ifdef SSLKIT_WITH_HDF5
#include "sslkit/data/sources/hdf5.h"
#endif
#ifdef SSLKIT_WITH_OPENCV
#include "sslkit/data/sources/image_folder.h"
#endif

namespace fs = std::filesystem;

namespace ssl::data {
namespace {

constexpr const char* kExpected =
    "expected fashion-mnist or a folder (MNIST-format IDX files, or images) or an .h5 file";

// Forwards everything to another source; subclasses override what they change.
class ForwardingSource : public Source {
 public:
  explicit ForwardingSource(std::shared_ptr<const Source> source) : source_(std::move(source)) {}
  int64_t size() const override { return source_->size(); }
  int64_t height() const override { return source_->height(); }
  int64_t width() const override { return source_->width(); }
  int64_t channels() const override { return source_->channels(); }
  bool labelled() const override { return source_->labelled(); }
  std::vector<std::string> classes() const override { return source_->classes(); }
  std::string origin() const override { return source_->origin(); }
  std::vector<std::string> skipped() const override { return source_->skipped(); }
  void read(const int64_t* indices, int64_t count, uint8_t* pixels, int64_t* labels) const override {
    source_->read(indices, count, pixels, labels);
  }
  bool has_masks() const override { return source_->has_masks(); }
  void read_masks(const int64_t* indices, int64_t count, uint8_t* masks) const override {
    source_->read_masks(indices, count, masks);
  }

 protected:
  std::shared_ptr<const Source> source_;
};

// The first `count` images of another source.
class HeadSource : public ForwardingSource {
 public:
  HeadSource(std::shared_ptr<const Source> source, int64_t count) : ForwardingSource(std::move(source)), count_(count) {}
  int64_t size() const override { return count_; }
  void read(const int64_t* indices, int64_t count, uint8_t* pixels, int64_t* labels) const override {
    check(indices, count);
    source_->read(indices, count, pixels, labels);
  }
  void read_masks(const int64_t* indices, int64_t count, uint8_t* masks) const override {
    check(indices, count);
    source_->read_masks(indices, count, masks);
  }

 private:
  void check(const int64_t* indices, int64_t count) const {
    for (int64_t k = 0; k < count; ++k) {
      TORCH_CHECK(indices[k] >= 0 && indices[k] < count_, "'", origin(), "': image index ", indices[k],
                  " is outside [0, ", count_, ")");
    }
  }
  int64_t count_;
};

// Up to the first 10 `names`, comma-separated, with "..." when there are more.
std::string join_some(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 10; ++i) out += (i ? ", " : "") + names[i];
  return names.size() > 10 ? out + ", ..." : out;
}

// Another source with its labels renumbered through `mapping` (old label -> new label).
class RelabelledSource : public ForwardingSource {
 public:
  RelabelledSource(std::shared_ptr<const Source> source, std::vector<int64_t> mapping, std::vector<std::string> classes)
      : ForwardingSource(std::move(source)), mapping_(std::move(mapping)), classes_(std::move(classes)) {}
  std::vector<std::string> classes() const override { return classes_; }
  void read(const int64_t* indices, int64_t count, uint8_t* pixels, int64_t* labels) const override {
    source_->read(indices, count, pixels, labels);
    if (labels == nullptr) return;
    for (int64_t k = 0; k < count; ++k) labels[k] = mapping_.at(static_cast<size_t>(labels[k]));
  }

 private:
  std::vector<int64_t> mapping_;
  std::vector<std::string> classes_;
};

// Another source with masks thresholded from its pixels.
class ThresholdMaskSource : public ForwardingSource {
 public:
  ThresholdMaskSource(std::shared_ptr<const Source> source, int64_t threshold)
      : ForwardingSource(std::move(source)), threshold_(threshold) {}
  bool has_masks() const override { return true; }
  void read_masks(const int64_t* indices, int64_t count, uint8_t* masks) const override {
    auto images = torch::empty({count, height(), width(), channels()}, torch::kUInt8);
    source_->read(indices, count, images.data_ptr<uint8_t>(), nullptr);
    const auto thresholded = threshold_masks(images, threshold_);
    std::memcpy(masks, thresholded.data_ptr<uint8_t>(), static_cast<size_t>(thresholded.numel()));
  }

 private:
  int64_t threshold_;
};

bool is_idx_folder(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().find("-idx3-ubyte") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

torch::Tensor Source::get(int64_t index) const {
  auto image = torch::empty({height(), width(), channels()}, torch::kUInt8);
  read(&index, 1, image.data_ptr<uint8_t>(), nullptr);
  return image;
}

int64_t Source::label(int64_t index) const {
  TORCH_CHECK(labelled(), "'", origin(), "' has no labels");
  std::vector<uint8_t> pixels(static_cast<size_t>(image_bytes()));
  int64_t label = -1;
  read(&index, 1, pixels.data(), &label);
  return label;
}

void Source::read_masks(const int64_t* indices, int64_t count, uint8_t* masks) const {
  TORCH_CHECK(false, "'", origin(), "' has no masks");
}

MemorySource::MemorySource(ImageSet set, std::vector<std::string> classes)
    : set_(std::move(set)), classes_(std::move(classes)) {
  TORCH_CHECK(set_.images.defined() && set_.images.scalar_type() == torch::kUInt8 && set_.images.dim() == 4,
              "'", set_.origin, "': images must be uint8 [N,H,W,C]");
  TORCH_CHECK(set_.size() > 0, "'", set_.origin, "': no images");
  set_.images = set_.images.contiguous();
  if (set_.labelled()) {
    TORCH_CHECK(set_.labels.dim() == 1 && set_.labels.size(0) == set_.size(), "'", set_.origin, "': ",
                set_.labels.numel(), " labels for ", set_.size(), " images");
    set_.labels = set_.labels.to(torch::kInt64).contiguous();
  }
  if (set_.masks.defined()) {
    TORCH_CHECK(set_.masks.dim() == 3 && set_.masks.size(0) == set_.size() && set_.masks.size(1) == set_.height() &&
                    set_.masks.size(2) == set_.width(),
                "'", set_.origin, "': masks of shape ", set_.masks.sizes(), " for images of shape ",
                set_.images.sizes(), ", expected [N,H,W]");
    set_.masks = set_.masks.to(torch::kInt64).contiguous();
  }
}

void MemorySource::read_masks(const int64_t* indices, int64_t count, uint8_t* masks) const {
  TORCH_CHECK(has_masks(), "'", set_.origin, "' has no masks");
  const int64_t n = size(), pixels = height() * width();
  const int64_t* from = set_.masks.data_ptr<int64_t>();
  for (int64_t k = 0; k < count; ++k) {
    const int64_t index = indices[k];
    TORCH_CHECK(index >= 0 && index < n, "'", set_.origin, "': image index ", index, " is outside [0, ", n, ")");
    for (int64_t p = 0; p < pixels; ++p) masks[k * pixels + p] = static_cast<uint8_t>(from[index * pixels + p]);
  }
}

void MemorySource::read(const int64_t* indices, int64_t count, uint8_t* pixels, int64_t* labels) const {
  const int64_t n = size(), bytes = image_bytes();
  const uint8_t* from = set_.images.data_ptr<uint8_t>();
  const int64_t* all_labels = labelled() ? set_.labels.data_ptr<int64_t>() : nullptr;
  for (int64_t k = 0; k < count; ++k) {
    const int64_t index = indices[k];
    TORCH_CHECK(index >= 0 && index < n, "'", set_.origin, "': image index ", index, " is outside [0, ", n, ")");
    std::memcpy(pixels + k * bytes, from + index * bytes, static_cast<size_t>(bytes));
    if (labels && all_labels) labels[k] = all_labels[index];
  }
}

OnBadImage parse_on_bad_image(const std::string& text) {
  if (text == "skip") return OnBadImage::Skip;
  if (text == "fail") return OnBadImage::Fail;
  TORCH_CHECK(false, "invalid bad-image policy '", text, "': expected skip or fail");
}

Fit parse_fit(const std::string& text) {
  if (text == "resize") return Fit::Resize;
  if (text == "crop") return Fit::Crop;
  TORCH_CHECK(false, "invalid fit '", text, "': expected resize or crop");
}

ResolvedSpec resolve_spec(const std::string& spec, Split split) {
  TORCH_CHECK(!spec.empty(), "empty data spec: ", kExpected);
  if (spec == "fashion-mnist") {
    const std::string dir = fashion_mnist_dir();
    TORCH_CHECK(fs::is_directory(dir), "data 'fashion-mnist': folder '", dir,
                "' not found; install it with: apt-get install dataset-fashion-mnist");
    return {SpecKind::Idx, dir};
  }
  std::error_code ec;
  TORCH_CHECK(fs::exists(spec, ec), "data '", spec, "' not found: ", kExpected);
  if (fs::is_directory(spec, ec)) {
    if (is_idx_folder(spec)) return {SpecKind::Idx, spec};
    if (fs::is_directory(fs::path(spec) / "train") && fs::is_directory(fs::path(spec) / "test")) {
      return {SpecKind::ImageFolder, (fs::path(spec) / (split == Split::Train ? "train" : "test")).string()};
    }
    TORCH_CHECK(split == Split::Train, "data '", spec,
                "' is an image folder without train/ and test/ subfolders, so it has no test split: give the test "
                "images as a data spec of their own");
    return {SpecKind::ImageFolder, spec};
  }
  const std::string extension = fs::path(spec).extension().string();
  TORCH_CHECK(extension == ".h5" || extension == ".hdf5", "data '", spec, "' is a file but not an .h5 file: ",
              kExpected);
  TORCH_CHECK(split == Split::Train, "data '", spec,
              "' is an HDF5 file, which holds one split: give the test split as a file of its own");
  return {SpecKind::Hdf5, spec};
}

namespace {

// IDX and HDF5 images keep the size and channels they were written with: a different request is refused, not
// ignored.
std::shared_ptr<const Source> check_stored_shape(std::shared_ptr<const Source> source, const std::string& spec,
                                                 const SourceOptions& options) {
  TORCH_CHECK(options.image_size() == 0 ||
                  (source->height() == options.image_size() && source->width() == options.image_size()),
              "data '", spec, "' holds ", source->height(), "x", source->width(), " images, not ", options.image_size(),
              "x", options.image_size(), ": only image folders are resized (image size 0 keeps the stored size)");
  TORCH_CHECK(options.channels() == 0 || source->channels() == options.channels(), "data '", spec, "' holds ",
              source->channels(), "-channel images, not ", options.channels(),
              ": only image folders are converted (channels 0 keep the stored ones)");
  return source;
}

}  // namespace

std::shared_ptr<const Source> open_source(const std::string& spec, Split split, const SourceOptions& options) {
  const ResolvedSpec resolved = resolve_spec(spec, split);
  switch (resolved.kind) {
    case SpecKind::Idx:
      return check_stored_shape(std::make_shared<MemorySource>(load_mnist_folder(resolved.path, split)), spec, options);
    case SpecKind::Hdf5:
#ifdef SSLKIT_WITH_HDF5
      return check_stored_shape(std::make_shared<Hdf5Source>(resolved.path, options.hdf5_cache_bytes()), spec, options);
#else
      TORCH_CHECK(false, "data '", spec, "': sslkit was built without HDF5 support (configure with -DSSLKIT_WITH_HDF5=ON)");
#endif
    case SpecKind::ImageFolder:
#ifdef SSLKIT_WITH_OPENCV
      return std::make_shared<ImageFolderSource>(resolved.path, options);
#else
      TORCH_CHECK(false, "data '", spec,
                  "' is an image folder: sslkit was built without OpenCV support (configure with -DSSLKIT_WITH_OPENCV=ON)");
#endif
  }
  TORCH_CHECK(false, "data '", spec, "': unknown kind");
}

std::shared_ptr<const Source> open_test_source(const std::string& spec, const SourceOptions& options) {
  const ResolvedSpec train = resolve_spec(spec, Split::Train);
  const bool single_split = train.kind == SpecKind::Hdf5 || (train.kind == SpecKind::ImageFolder && train.path == spec);
  return open_source(spec, single_split ? Split::Train : Split::Test, options);
}

std::shared_ptr<const Source> head(std::shared_ptr<const Source> source, int64_t count) {
  if (count <= 0 || count >= source->size()) return source;
  return std::make_shared<HeadSource>(std::move(source), count);
}

std::shared_ptr<const Source> align_classes(std::shared_ptr<const Source> test, const Source& train) {
  const auto test_classes = test->classes(), train_classes = train.classes();
  if (test_classes.empty() || train_classes.empty() || test_classes == train_classes) return test;
  std::vector<int64_t> mapping;
  for (const auto& name : test_classes) {
    const auto found = std::find(train_classes.begin(), train_classes.end(), name);
    TORCH_CHECK_VALUE(found != train_classes.end(), "data '", test->origin(), "' has class '", name,
                      "', which the training data '", train.origin(), "' lacks (its ", train_classes.size(),
                      " classes: ", join_some(train_classes), ")");
    mapping.push_back(found - train_classes.begin());
  }
  return std::make_shared<RelabelledSource>(std::move(test), std::move(mapping), train_classes);
}

std::vector<std::string> class_names(const std::string& spec, int64_t classes) {
  if (spec != "fashion-mnist" || classes != 10) return {};
  return {"t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"};
}

std::shared_ptr<const Source> with_threshold_masks(std::shared_ptr<const Source> source, int64_t threshold) {
  TORCH_CHECK(threshold >= 0 && threshold <= 255, "mask threshold must be in 0..255, got ", threshold);
  return std::make_shared<ThresholdMaskSource>(std::move(source), threshold);
}

torch::Tensor threshold_masks(const torch::Tensor& images, int64_t threshold) {
  TORCH_CHECK(images.dim() == 4 && images.scalar_type() == torch::kUInt8,
              "threshold masks: images must be uint8 [N, H, W, C], got ", images.sizes());
  TORCH_CHECK(threshold >= 0 && threshold <= 255, "mask threshold must be in 0..255, got ", threshold);
  return std::get<0>(images.max(3)).gt(threshold).to(torch::kUInt8).contiguous();
}

ImageSet materialize(const Source& source) {
  if (const auto* memory = dynamic_cast<const MemorySource*>(&source)) return memory->set();
  ImageSet set;
  set.origin = source.origin();
  set.images = torch::empty({source.size(), source.height(), source.width(), source.channels()}, torch::kUInt8);
  if (source.labelled()) set.labels = torch::empty({source.size()}, torch::kInt64);
  std::vector<int64_t> indices(static_cast<size_t>(source.size()));
  std::iota(indices.begin(), indices.end(), 0);
  source.read(indices.data(), source.size(), set.images.data_ptr<uint8_t>(),
              source.labelled() ? set.labels.data_ptr<int64_t>() : nullptr);
  if (source.has_masks()) {
    auto masks = torch::empty({source.size(), source.height(), source.width()}, torch::kUInt8);
    source.read_masks(indices.data(), source.size(), masks.data_ptr<uint8_t>());
    set.masks = masks.to(torch::kInt64);
  }
  return set;
}

Normalization compute_normalization(const Source& source) {
  const int64_t c = source.channels(), bytes = source.image_bytes();
  const int64_t block = std::max<int64_t>(1, (8 << 20) / bytes);
  std::vector<uint8_t> pixels(static_cast<size_t>(std::min(block, source.size()) * bytes));
  std::vector<int64_t> indices;
  std::vector<int64_t> sum(static_cast<size_t>(c), 0), squares(static_cast<size_t>(c), 0);
  for (int64_t first = 0; first < source.size(); first += block) {
    const int64_t count = std::min(block, source.size() - first);
    indices.resize(static_cast<size_t>(count));
    std::iota(indices.begin(), indices.end(), first);
    source.read(indices.data(), count, pixels.data(), nullptr);
    for (int64_t i = 0; i < count * bytes; ++i) {
      const int64_t value = pixels[static_cast<size_t>(i)];
      sum[static_cast<size_t>(i % c)] += value;
      squares[static_cast<size_t>(i % c)] += value * value;
    }
  }
  const double n = static_cast<double>(source.size() * source.height() * source.width());
  Normalization norm;
  for (size_t k = 0; k < static_cast<size_t>(c); ++k) {
    const double mean = static_cast<double>(sum[k]) / n;
    // Sum of squared deviations from integer sums: Q - S^2 / n, exact up to the final divisions.
    const double deviations = static_cast<double>(squares[k]) - static_cast<double>(sum[k]) * mean;
    const double stddev = n > 1 ? std::sqrt(std::max(deviations, 0.0) / (n - 1)) / 255.0 : 0.0;
    norm.mean.push_back(static_cast<float>(mean / 255.0));
    norm.stddev.push_back(static_cast<float>(std::max(stddev, 1e-6)));
  }
  return norm;
}

bool built_with_hdf5() {
#ifdef SSLKIT_WITH_HDF5
  return true;
#else
  return false;
#endif
}

bool built_with_opencv() {
#ifdef SSLKIT_WITH_OPENCV
  return true;
#else
  return false;
#endif
}

}  // namespace ssl::data
