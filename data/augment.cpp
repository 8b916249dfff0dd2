#include "sslkit/data/augment.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace ssl::data {

CropBox sample_crop(int64_t height, int64_t width, const RandomResizedCropOptions& options, Rng& rng) {
  const double area = static_cast<double>(height * width);
  const double log_ratio_min = std::log(options.ratio_min());
  const double log_ratio_max = std::log(options.ratio_max());
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rng.uniform(options.scale_min(), options.scale_max());
    const double aspect = std::exp(rng.uniform(log_ratio_min, log_ratio_max));
    const auto w = static_cast<int64_t>(std::lround(std::sqrt(target_area * aspect)));
    const auto h = static_cast<int64_t>(std::lround(std::sqrt(target_area / aspect)));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      return {rng.integer(0, height - h), rng.integer(0, width - w), h, w};
    }
  }
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  int64_t w = width, h = height;
  if (in_ratio < options.ratio_min()) {
    h = static_cast<int64_t>(std::lround(static_cast<double>(w) / options.ratio_min()));
  } else if (in_ratio > options.ratio_max()) {
    w = static_cast<int64_t>(std::lround(static_cast<double>(h) * options.ratio_max()));
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

void crop_resize(const ImageRef& image, const CropBox& box, bool flip, int64_t out_h, int64_t out_w, float* out) {
  const int64_t c_count = image.channels;
  const double scale_y = static_cast<double>(box.height) / static_cast<double>(out_h);
  const double scale_x = static_cast<double>(box.width) / static_cast<double>(out_w);
  // Column taps are the same for every row: compute them once.
  std::vector<int64_t> x0(out_w), x1(out_w);
  std::vector<float> wx(out_w);
  for (int64_t x = 0; x < out_w; ++x) {
    const int64_t xs = flip ? out_w - 1 - x : x;
    double sx = (static_cast<double>(xs) + 0.5) * scale_x - 0.5;
    sx = std::clamp(sx, 0.0, static_cast<double>(box.width - 1));
    const auto i0 = static_cast<int64_t>(sx);
    x0[x] = box.left + i0;
    x1[x] = box.left + std::min(i0 + 1, box.width - 1);
    wx[x] = static_cast<float>(sx - static_cast<double>(i0));
  }
  const int64_t row_stride = image.width * c_count;
  for (int64_t y = 0; y < out_h; ++y) {
    double sy = (static_cast<double>(y) + 0.5) * scale_y - 0.5;
    sy = std::clamp(sy, 0.0, static_cast<double>(box.height - 1));
    const auto j0 = static_cast<int64_t>(sy);
    const uint8_t* row0 = image.pixels + (box.top + j0) * row_stride;
    const uint8_t* row1 = image.pixels + (box.top + std::min(j0 + 1, box.height - 1)) * row_stride;
    const float wy = static_cast<float>(sy - static_cast<double>(j0));
    for (int64_t c = 0; c < c_count; ++c) {
      float* dst = out + (c * out_h + y) * out_w;
      for (int64_t x = 0; x < out_w; ++x) {
        const float top = row0[x0[x] * c_count + c] + wx[x] * (row0[x1[x] * c_count + c] - row0[x0[x] * c_count + c]);
        const float bottom =
            row1[x0[x] * c_count + c] + wx[x] * (row1[x1[x] * c_count + c] - row1[x0[x] * c_count + c]);
        dst[x] = top + wy * (bottom - top);
      }
    }
  }
}

namespace {

void clamp_planes(float* planes, int64_t count) {
  for (int64_t i = 0; i < count; ++i) planes[i] = std::clamp(planes[i], 0.0f, 255.0f);
}

float gray_at(const float* planes, int64_t channels, int64_t plane, int64_t i) {
  if (channels < 3) return planes[i];
  return 0.299f * planes[i] + 0.587f * planes[plane + i] + 0.114f * planes[2 * plane + i];
}

}  // namespace

void color_jitter(float* planes, int64_t channels, int64_t height, int64_t width, const ColorJitterOptions& options,
                  Rng& rng) {
  if (!rng.bernoulli(options.probability())) return;
  const int64_t plane = height * width;
  const int64_t count = plane * channels;
  std::array<int, 3> order{0, 1, 2};
  for (int i = 2; i > 0; --i) std::swap(order[i], order[rng.integer(0, i)]);
  for (const int op : order) {
    if (op == 0 && options.brightness() > 0) {
      const auto f = static_cast<float>(rng.uniform(1.0 - options.brightness(), 1.0 + options.brightness()));
      for (int64_t i = 0; i < count; ++i) planes[i] *= f;
      clamp_planes(planes, count);
    } else if (op == 1 && options.contrast() > 0) {
      const auto f = static_cast<float>(rng.uniform(1.0 - options.contrast(), 1.0 + options.contrast()));
      double sum = 0;
      for (int64_t i = 0; i < plane; ++i) sum += gray_at(planes, channels, plane, i);
      const auto mean = static_cast<float>(sum / static_cast<double>(plane));
      for (int64_t i = 0; i < count; ++i) planes[i] = mean + f * (planes[i] - mean);
      clamp_planes(planes, count);
    } else if (op == 2 && options.saturation() > 0 && channels >= 3) {
      const auto f = static_cast<float>(rng.uniform(1.0 - options.saturation(), 1.0 + options.saturation()));
      for (int64_t i = 0; i < plane; ++i) {
        const float g = gray_at(planes, channels, plane, i);
        for (int64_t c = 0; c < 3; ++c) planes[c * plane + i] = g + f * (planes[c * plane + i] - g);
      }
      clamp_planes(planes, count);
    }
  }
}

void normalize(float* planes, int64_t channels, int64_t height, int64_t width, const Normalization& norm) {
  const int64_t plane = height * width;
  for (int64_t c = 0; c < channels; ++c) {
    const float scale = 1.0f / (255.0f * norm.stddev[c]);
    const float shift = norm.mean[c] / norm.stddev[c];
    float* p = planes + c * plane;
    for (int64_t i = 0; i < plane; ++i) p[i] = p[i] * scale - shift;
  }
}

void contrastive_view(const ImageRef& image, const ContrastiveAugmentOptions& options, const Normalization& norm,
                      Rng& rng, float* out) {
  const int64_t out_h = options.out_size() > 0 ? options.out_size() : image.height;
  const int64_t out_w = options.out_size() > 0 ? options.out_size() : image.width;
  const CropBox box = sample_crop(image.height, image.width, options.crop(), rng);
  const bool flip = rng.bernoulli(options.flip_probability());
  crop_resize(image, box, flip, out_h, out_w, out);
  color_jitter(out, image.channels, out_h, out_w, options.jitter(), rng);
  normalize(out, image.channels, out_h, out_w, norm);
}

}  // namespace ssl::data
