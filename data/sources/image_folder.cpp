#include "sslkit/data/sources/image_folder.h"

#include "sslkit/ssl/device.h"
#include "sslkit/ssl/text.h"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>

namespace fs = std::filesystem;

namespace ssl::data {
namespace {

bool hidden(const fs::path& path) { return path.filename().string().rfind('.', 0) == 0; }

std::vector<std::string> sorted_files(const fs::path& dir, bool recursive) {
  std::vector<std::string> files;
  auto add = [&](const fs::directory_entry& entry) {
    if (entry.is_regular_file() && !hidden(entry.path())) files.push_back(entry.path().string());
  };
  if (recursive) {
    for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
      if (hidden(it->path())) {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      add(*it);
    }
  } else {
    for (const auto& entry : fs::directory_iterator(dir)) add(entry);
  }
  std::sort(files.begin(), files.end());
  return files;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Whether a PNG or JPEG file is complete: libpng prints its own "libpng error" on stderr for a truncated PNG
// and libjpeg decodes a truncated JPEG to a gray-filled image, so both are checked before decoding. PNG: every
// chunk's length and CRC up to IEND; JPEG: the EOI marker near the end. Other formats pass through.
bool structurally_complete(const std::vector<uint8_t>& bytes) {
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  const size_t size = bytes.size();
  if (size >= 8 && std::equal(kPng, kPng + 8, bytes.begin())) {
    for (size_t at = 8; at + 12 <= size;) {
      const uint32_t length = be32(&bytes[at]);
      if (length > size - at - 12) return false;
      const uint32_t crc = be32(&bytes[at + 8 + length]);
      if (::crc32(0, &bytes[at + 4], length + 4) != crc) return false;
      if (std::memcmp(&bytes[at + 4], "IEND", 4) == 0) return true;
      at += 12 + length;
    }
    return false;
  }
  if (size >= 2 && bytes[0] == 0xff && bytes[1] == 0xd8) {
    for (size_t at = size - 1; at >= 1 && at + 1024 >= size; --at) {
      if (bytes[at - 1] == 0xff && bytes[at] == 0xd9) return true;
    }
    return false;
  }
  return true;
}

// Reads `path` and decodes it with `flags`, or returns an empty Mat when it is not a readable image.
cv::Mat read_image(const std::string& path, int flags) {
  static std::once_flag quiet;
  std::call_once(quiet, [] { cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT); });
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) return {};
  if (bytes.empty() || !structurally_complete(bytes)) return {};
  try {
    return cv::imdecode(bytes, flags);
  } catch (const cv::Exception&) {
    return {};
  }
}

// Brings `image` to height x width: a plain resize, or scale-then-center-crop.
cv::Mat fit_to(const cv::Mat& image, int64_t height, int64_t width, Fit fit) {
  if (image.rows == height && image.cols == width) return image;
  cv::Mat out;
  if (fit == Fit::Resize) {
    const bool shrink = image.rows * image.cols > height * width;
    cv::resize(image, out, cv::Size(static_cast<int>(width), static_cast<int>(height)), 0, 0,
               shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
    return out;
  }
  const double scale = std::max(static_cast<double>(height) / image.rows, static_cast<double>(width) / image.cols);
  const int rows = std::max(static_cast<int>(height), static_cast<int>(std::lround(image.rows * scale)));
  const int cols = std::max(static_cast<int>(width), static_cast<int>(std::lround(image.cols * scale)));
  cv::Mat scaled;
  cv::resize(image, scaled, cv::Size(cols, rows), 0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  const cv::Rect center((cols - static_cast<int>(width)) / 2, (rows - static_cast<int>(height)) / 2,
                        static_cast<int>(width), static_cast<int>(height));
  return scaled(center).clone();
}

}  // namespace

std::string bad_image_message(const std::string& path) {
  return "'" + path + "' is not a readable image (corrupt, or not png/jpg/bmp/...); the skip policy for bad images leaves such files out";
}

ImageFolderListing list_image_folder(const std::string& root) {
  std::error_code ec;
  TORCH_CHECK(fs::is_directory(root, ec), "image folder '", root, "' not found");
  ImageFolderListing listing;
  listing.root = root;
  std::vector<std::string> loose;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (hidden(entry.path())) continue;
    if (entry.is_directory()) listing.classes.push_back(entry.path().filename().string());
    else if (entry.is_regular_file()) loose.push_back(entry.path().filename().string());
  }
  std::sort(listing.classes.begin(), listing.classes.end());
  std::sort(loose.begin(), loose.end());
  for (const auto& name : listing.classes) {
    TORCH_CHECK(ssl::is_valid_utf8(name), "image folder '", root, "': class folder '", ssl::escape_bytes(name),
                "' is not valid UTF-8 (class names are stored as UTF-8): rename it");
  }
  if (listing.classes.empty()) {
    listing.files = sorted_files(root, /*recursive=*/false);
  } else {
    TORCH_CHECK(loose.empty(), "image folder '", root, "' holds both class folders (e.g. '", listing.classes[0],
                "') and files (e.g. '", loose[0], "'): expected root/<class>/<file> or a flat folder of images");
    for (size_t label = 0; label < listing.classes.size(); ++label) {
      for (auto& file : sorted_files(fs::path(root) / listing.classes[label], /*recursive=*/true)) {
        listing.files.push_back(std::move(file));
        listing.labels.push_back(static_cast<int64_t>(label));
      }
    }
  }
  TORCH_CHECK(!listing.files.empty(), "image folder '", root, "' holds no files");
  return listing;
}

ImageDecoder::ImageDecoder(const SourceOptions& options) : options_(options) {
  TORCH_CHECK_VALUE(options.image_size() >= 0 && options.image_size() <= 65536,
                    "image size must be in [0, 65536] (0: keep), got ", options.image_size());
  TORCH_CHECK(options.channels() == 0 || options.channels() == 1 || options.channels() == 3,
              "channels must be 1 or 3 (0: as the first image), got ", options.channels());
  if (options.image_size() > 0 && options.channels() > 0) {
    height_ = width_ = options.image_size();
    channels_ = options.channels();
  }
}

std::optional<torch::Tensor> ImageDecoder::decode(const std::string& path) {
  if (fixed()) return decode_fixed(path);
  int64_t channels = options_.channels();
  cv::Mat probe = read_image(path, channels == 0 ? cv::IMREAD_UNCHANGED : (channels == 1 ? cv::IMREAD_GRAYSCALE
                                                                                           : cv::IMREAD_COLOR));
  if (probe.empty()) return std::nullopt;
  if (channels == 0) channels = probe.channels() == 1 ? 1 : 3;
  channels_ = channels;
  height_ = options_.image_size() > 0 ? options_.image_size() : probe.rows;
  width_ = options_.image_size() > 0 ? options_.image_size() : probe.cols;
  return decode_fixed(path);
}

std::optional<torch::Tensor> ImageDecoder::decode_fixed(const std::string& path) const {
  TORCH_CHECK(fixed(), "ImageDecoder: the output size is not known yet");
  cv::Mat image = read_image(path, channels_ == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  if (image.empty()) return std::nullopt;
  if (channels_ == 3) cv::cvtColor(image, image, cv::COLOR_BGR2RGB);
  image = fit_to(image, height_, width_, options_.fit());
  if (!image.isContinuous()) image = image.clone();
  auto out = torch::empty({height_, width_, channels_}, torch::kUInt8);
  std::memcpy(out.data_ptr<uint8_t>(), image.data, static_cast<size_t>(out.numel()));
  return out;
}

MemorySource ImageFolderSource::decode_all(const ImageFolderListing& listing, const SourceOptions& options,
                                           std::vector<std::string>& skipped) {
  const int64_t n = static_cast<int64_t>(listing.files.size());
  std::vector<std::optional<torch::Tensor>> decoded(static_cast<size_t>(n));
  ImageDecoder decoder(options);
  int64_t first = 0;
  while (first < n && !decoder.fixed()) {
    decoded[static_cast<size_t>(first)] = decoder.decode(listing.files[static_cast<size_t>(first)]);
    ++first;
  }
  if (decoder.fixed()) {
    // The decoded images, then their stacked copy.
    const double bytes = 2.0 * static_cast<double>(n) * static_cast<double>(decoder.height()) *
                         static_cast<double>(decoder.width()) * static_cast<double>(decoder.channels());
    check_memory(bytes, available_memory_bytes(),
                 "image folder '" + listing.root + "': decoding " + std::to_string(n) + " images at " +
                     std::to_string(decoder.height()) + "x" + std::to_string(decoder.width()) + "x" +
                     std::to_string(decoder.channels()) + " (choose a smaller image size)");
  }
  at::parallel_for(first, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      decoded[static_cast<size_t>(i)] = decoder.decode_fixed(listing.files[static_cast<size_t>(i)]);
    }
  });
  std::vector<torch::Tensor> images;
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < n; ++i) {
    const auto& image = decoded[static_cast<size_t>(i)];
    if (!image) {
      TORCH_CHECK(options.on_bad_image() == OnBadImage::Skip, bad_image_message(listing.files[static_cast<size_t>(i)]));
      skipped.push_back(listing.files[static_cast<size_t>(i)]);
      continue;
    }
    images.push_back(*image);
    if (!listing.labels.empty()) labels.push_back(listing.labels[static_cast<size_t>(i)]);
  }
  TORCH_CHECK(!images.empty(), "image folder '", listing.root, "' holds no readable images (unreadable files: ", n, ")");
  ImageSet set;
  set.images = torch::stack(images);
  if (!listing.labels.empty()) set.labels = torch::tensor(labels, torch::kInt64);
  set.origin = listing.root;
  return MemorySource(std::move(set), listing.classes);
}

ImageFolderSource::ImageFolderSource(const std::string& root, const SourceOptions& options)
    : images_(decode_all(list_image_folder(root), options, skipped_)) {}

}  // namespace ssl::data
