#include "sslkit/data/augment.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

namespace ssl::data {

namespace {

/// Grows a per-thread buffer to `count` values and returns it (no allocation once it is large enough).
template <int Slot, typename T>
T* scratch(size_t count) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < count) buffer.resize(count);
  return buffer.data();
}

}  // namespace

float* thread_scratch(int slot, size_t count) {
  TORCH_CHECK(slot >= 0 && slot < 8, "thread_scratch: slot must be in 0..7, got ", slot);
  thread_local std::array<std::vector<float>, 8> buffers;
  auto& buffer = buffers[static_cast<size_t>(slot)];
  if (buffer.size() < count) buffer.resize(count);
  return buffer.data();
}

namespace {

/// True with probability p, drawing nothing when p is 0.
bool happens(Rng& rng, double p) { return p > 0 && rng.bernoulli(p); }

void clamp_planes(float* planes, int64_t count) {
  for (int64_t i = 0; i < count; ++i) planes[i] = std::clamp(planes[i], 0.0f, 255.0f);
}

float gray_at(const float* planes, int64_t channels, int64_t plane, int64_t i) {
  if (channels < 3) return planes[i];
  return 0.299f * planes[i] + 0.587f * planes[plane + i] + 0.114f * planes[2 * plane + i];
}

/// Mirrors an out-of-range index back into [0, n) (reflect padding without repeating the edge).
int64_t reflect(int64_t i, int64_t n) {
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

int64_t blur_radius(const GaussianBlurOptions& options, int64_t height, int64_t width) {
  auto kernel = static_cast<int64_t>(std::lround(options.kernel_fraction() * static_cast<double>(std::min(height, width))));
  kernel = std::max<int64_t>(kernel, 3);
  return kernel / 2;
}

void check_probability(double p, const char* context, const char* what) {
  TORCH_CHECK_VALUE(p >= 0 && p <= 1, context, ": ", what, " probability must be in [0, 1], got ", p);
}

}  // namespace

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
  int64_t* x0 = scratch<0, int64_t>(static_cast<size_t>(2 * out_w));
  int64_t* x1 = x0 + out_w;
  float* wx = thread_scratch(0, static_cast<size_t>(out_w));
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

void horizontal_flip(Planes planes) {
  for (int64_t row = 0; row < planes.channels * planes.height; ++row) {
    float* p = planes.data + row * planes.width;
    std::reverse(p, p + planes.width);
  }
}

void rot90(const Planes& in, int64_t k, float* out) {
  k = ((k % 4) + 4) % 4;
  const int64_t h = in.height, w = in.width;
  const int64_t out_h = k % 2 ? w : h, out_w = k % 2 ? h : w;
  for (int64_t c = 0; c < in.channels; ++c) {
    const float* src = in.data + c * h * w;
    float* dst = out + c * h * w;
    for (int64_t i = 0; i < out_h; ++i) {
      for (int64_t j = 0; j < out_w; ++j) {
        int64_t y = i, x = j;  // numpy.rot90 (counter-clockwise) index maps
        if (k == 1) y = j, x = w - 1 - i;
        else if (k == 2) y = h - 1 - i, x = w - 1 - j;
        else if (k == 3) y = h - 1 - j, x = i;
        dst[i * out_w + j] = src[y * w + x];
      }
    }
  }
}

void rotate(const Planes& in, double degrees, float fill, float* out) {
  const int64_t h = in.height, w = in.width;
  const double theta = degrees * M_PI / 180.0;
  const double cos_t = std::cos(theta), sin_t = std::sin(theta);
  const double cy = static_cast<double>(h - 1) / 2, cx = static_cast<double>(w - 1) / 2;
  for (int64_t i = 0; i < h; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      // Inverse map of a counter-clockwise rotation (rows point down): output pixel -> source position.
      const double dx = static_cast<double>(j) - cx, dy = static_cast<double>(i) - cy;
      const double sx = cx + dx * cos_t - dy * sin_t;
      const double sy = cy + dx * sin_t + dy * cos_t;
      const auto x0 = static_cast<int64_t>(std::floor(sx)), y0 = static_cast<int64_t>(std::floor(sy));
      const auto fx = static_cast<float>(sx - static_cast<double>(x0));
      const auto fy = static_cast<float>(sy - static_cast<double>(y0));
      for (int64_t c = 0; c < in.channels; ++c) {
        const float* src = in.data + c * h * w;
        auto at = [&](int64_t y, int64_t x) { return y >= 0 && y < h && x >= 0 && x < w ? src[y * w + x] : fill; };
        const float top = at(y0, x0) + fx * (at(y0, x0 + 1) - at(y0, x0));
        const float bottom = at(y0 + 1, x0) + fx * (at(y0 + 1, x0 + 1) - at(y0 + 1, x0));
        out[(c * h + i) * w + j] = top + fy * (bottom - top);
      }
    }
  }
}

void gaussian_blur(Planes planes, double sigma, int64_t radius, float* scratch_values) {
  float* kernel = thread_scratch(1, static_cast<size_t>(2 * radius + 1));
  double total = 0;
  for (int64_t t = -radius; t <= radius; ++t) total += std::exp(-0.5 * static_cast<double>(t * t) / (sigma * sigma));
  for (int64_t t = -radius; t <= radius; ++t) {
    kernel[t + radius] = static_cast<float>(std::exp(-0.5 * static_cast<double>(t * t) / (sigma * sigma)) / total);
  }
  const int64_t h = planes.height, w = planes.width;
  for (int64_t c = 0; c < planes.channels; ++c) {
    float* p = planes.data + c * h * w;
    float* tmp = scratch_values + c * h * w;
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        float sum = 0;
        for (int64_t t = -radius; t <= radius; ++t) sum += kernel[t + radius] * p[y * w + reflect(x + t, w)];
        tmp[y * w + x] = sum;
      }
    }
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        float sum = 0;
        for (int64_t t = -radius; t <= radius; ++t) sum += kernel[t + radius] * tmp[reflect(y + t, h) * w + x];
        p[y * w + x] = sum;
      }
    }
  }
}

void solarize(Planes planes, float threshold) {
  for (int64_t i = 0; i < planes.numel(); ++i) {
    if (planes.data[i] >= threshold) planes.data[i] = 255.0f - planes.data[i];
  }
}

void grayscale(Planes planes) {
  if (planes.channels != 3) return;
  const int64_t plane = planes.height * planes.width;
  for (int64_t i = 0; i < plane; ++i) {
    const float g = gray_at(planes.data, 3, plane, i);
    for (int64_t c = 0; c < 3; ++c) planes.data[c * plane + i] = g;
  }
}

void adjust_hue(Planes planes, double shift) {
  if (planes.channels != 3) return;
  const int64_t plane = planes.height * planes.width;
  float* r = planes.data;
  float* g = r + plane;
  float* b = g + plane;
  for (int64_t i = 0; i < plane; ++i) {
    const float maxc = std::max({r[i], g[i], b[i]}), minc = std::min({r[i], g[i], b[i]});
    const float delta = maxc - minc;
    if (delta <= 0) continue;  // gray pixels have no hue
    const float v = maxc, s = delta / maxc;
    float hue;
    if (maxc == r[i]) hue = (g[i] - b[i]) / delta;
    else if (maxc == g[i]) hue = 2.0f + (b[i] - r[i]) / delta;
    else hue = 4.0f + (r[i] - g[i]) / delta;
    double h = static_cast<double>(hue) / 6.0 + shift;
    h -= std::floor(h);
    const double h6 = h * 6.0;
    const auto sector = static_cast<int>(std::floor(h6)) % 6;
    const auto f = static_cast<float>(h6 - std::floor(h6));
    const float p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    const std::array<std::array<float, 3>, 6> rgb{{{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}}};
    r[i] = rgb[sector][0], g[i] = rgb[sector][1], b[i] = rgb[sector][2];
  }
}

void color_jitter(float* planes, int64_t channels, int64_t height, int64_t width, const ColorJitterOptions& options,
                  Rng& rng) {
  if (!happens(rng, options.probability())) return;
  const int64_t plane = height * width;
  const int64_t count = plane * channels;
  // Hue joins the random order on colour images only, so gray images draw what they always drew.
  std::array<int, 4> order{0, 1, 2, 3};
  const int ops = channels >= 3 ? 4 : 3;
  for (int i = ops - 1; i > 0; --i) std::swap(order[i], order[rng.integer(0, i)]);
  for (int k = 0; k < ops; ++k) {
    const int op = order[k];
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
    } else if (op == 3 && options.hue() > 0 && channels == 3) {
      adjust_hue({planes, channels, height, width}, rng.uniform(-options.hue(), options.hue()));
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

void validate(const AugmentOp& op, const char* context) {
  std::visit(
      [&](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, RandomResizedCropOptions>) {
          TORCH_CHECK_VALUE(o.scale_min() > 0 && o.scale_min() <= o.scale_max() && o.scale_max() <= 1, context,
                      ": crop scale must satisfy 0 < min <= max <= 1, got [", o.scale_min(), ", ", o.scale_max(), "]");
          TORCH_CHECK_VALUE(o.ratio_min() > 0 && o.ratio_min() <= o.ratio_max(), context,
                      ": crop ratio must satisfy 0 < min <= max, got [", o.ratio_min(), ", ", o.ratio_max(), "]");
          TORCH_CHECK_VALUE(o.out_size() >= 0, context, ": crop out_size must be >= 0, got ", o.out_size());
        } else if constexpr (std::is_same_v<T, ColorJitterOptions>) {
          check_probability(o.probability(), context, "colour jitter");
          TORCH_CHECK_VALUE(o.brightness() >= 0 && o.contrast() >= 0 && o.saturation() >= 0 && o.brightness() <= 1 &&
                          o.contrast() <= 1 && o.saturation() <= 1,
                      context, ": colour jitter strengths must be in [0, 1], got brightness ", o.brightness(),
                      ", contrast ", o.contrast(), ", saturation ", o.saturation());
          TORCH_CHECK_VALUE(o.hue() >= 0 && o.hue() <= 0.5, context, ": hue must be in [0, 0.5], got ", o.hue());
        } else if constexpr (std::is_same_v<T, GaussianBlurOptions>) {
          check_probability(o.probability(), context, "blur");
          TORCH_CHECK_VALUE(o.sigma_min() > 0 && o.sigma_min() <= o.sigma_max(), context,
                      ": blur sigma must satisfy 0 < min <= max, got [", o.sigma_min(), ", ", o.sigma_max(), "]");
          TORCH_CHECK_VALUE(o.kernel_fraction() > 0, context, ": blur kernel_fraction must be > 0, got ", o.kernel_fraction());
        } else if constexpr (std::is_same_v<T, RandomRotationOptions>) {
          TORCH_CHECK_VALUE(o.max_degrees() >= 0 && o.max_degrees() <= 180, context,
                      ": rotation max_degrees must be in [0, 180], got ", o.max_degrees());
        } else if constexpr (std::is_same_v<T, SolarizeOptions>) {
          check_probability(o.probability(), context, "solarize");
        } else {
          check_probability(o.probability(), context, "operation");
        }
      },
      op);
}

Augmentation::Augmentation(std::vector<AugmentOp> ops, Normalization norm) : norm_(std::move(norm)) {
  for (auto& op : ops) then(std::move(op));
}

Augmentation& Augmentation::then(AugmentOp op) {
  validate(op, "augmentation");
  TORCH_CHECK(!std::holds_alternative<RandomResizedCropOptions>(op) || ops_.empty(),
              "augmentation: a random resized crop must be the first operation, got one at position ", ops_.size());
  ops_.push_back(std::move(op));
  return *this;
}

std::vector<int64_t> Augmentation::output_shape(int64_t channels, int64_t height, int64_t width) const {
  if (!ops_.empty()) {
    if (const auto* crop = std::get_if<RandomResizedCropOptions>(&ops_[0]); crop && crop->out_size() > 0) {
      return {channels, crop->out_size(), crop->out_size()};
    }
  }
  return {channels, height, width};
}

void Augmentation::apply(const ImageRef& image, Rng& rng, float* out) const {
  const auto* crop = ops_.empty() ? nullptr : std::get_if<RandomResizedCropOptions>(&ops_[0]);
  const int64_t out_h = crop && crop->out_size() > 0 ? crop->out_size() : image.height;
  const int64_t out_w = crop && crop->out_size() > 0 ? crop->out_size() : image.width;
  const CropBox box = crop ? sample_crop(image.height, image.width, *crop, rng) : CropBox{0, 0, image.height, image.width};
  crop_resize(image, box, false, out_h, out_w, out);
  apply_after_crop({out, image.channels, out_h, out_w}, crop ? 1 : 0, rng);
}

void Augmentation::apply(Planes planes, Rng& rng) const {
  TORCH_CHECK(ops_.empty() || !std::holds_alternative<RandomResizedCropOptions>(ops_[0]),
              "augmentation: a random resized crop needs a uint8 image, not float planes");
  apply_after_crop(planes, 0, rng);
}

void Augmentation::apply_after_crop(Planes p, size_t first, Rng& rng) const {
  for (size_t i = first; i < ops_.size(); ++i) {
    std::visit(
        [&](const auto& o) {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, HorizontalFlipOptions>) {
            if (happens(rng, o.probability())) horizontal_flip(p);
          } else if constexpr (std::is_same_v<T, ColorJitterOptions>) {
            color_jitter(p.data, p.channels, p.height, p.width, o, rng);
          } else if constexpr (std::is_same_v<T, RandomGrayscaleOptions>) {
            if (p.channels == 3 && happens(rng, o.probability())) grayscale(p);
          } else if constexpr (std::is_same_v<T, GaussianBlurOptions>) {
            if (happens(rng, o.probability())) {
              const double sigma = rng.uniform(o.sigma_min(), o.sigma_max());
              gaussian_blur(p, sigma, blur_radius(o, p.height, p.width), thread_scratch(2, static_cast<size_t>(p.numel())));
            }
          } else if constexpr (std::is_same_v<T, SolarizeOptions>) {
            if (happens(rng, o.probability())) solarize(p, static_cast<float>(o.threshold()));
          } else if constexpr (std::is_same_v<T, RandomRot90Options>) {
            TORCH_CHECK(p.height == p.width, "augmentation: random 90-degree rotation needs a square image, got ",
                        p.height, "x", p.width);
            if (happens(rng, o.probability())) {
              float* tmp = thread_scratch(2, static_cast<size_t>(p.numel()));
              rot90(p, rng.integer(1, 3), tmp);
              std::memcpy(p.data, tmp, sizeof(float) * static_cast<size_t>(p.numel()));
            }
          } else if constexpr (std::is_same_v<T, RandomRotationOptions>) {
            if (o.max_degrees() > 0) {
              float* tmp = thread_scratch(2, static_cast<size_t>(p.numel()));
              rotate(p, rng.uniform(-o.max_degrees(), o.max_degrees()), static_cast<float>(o.fill()), tmp);
              std::memcpy(p.data, tmp, sizeof(float) * static_cast<size_t>(p.numel()));
            }
          }
        },
        ops_[i]);
  }
  if (norm_.mean.empty()) return;
  TORCH_CHECK(static_cast<int64_t>(norm_.mean.size()) == p.channels, "augmentation: normalization has ",
              norm_.mean.size(), " channels, the image ", p.channels);
  normalize(p.data, p.channels, p.height, p.width, norm_);
}

Augmentation contrastive_augmentation(const ContrastiveAugmentOptions& options, const Normalization& norm) {
  return Augmentation({options.crop(), HorizontalFlipOptions().probability(options.flip_probability()), options.jitter(),
                       options.grayscale(), options.blur(), options.solarize()},
                      norm);
}

}  // namespace ssl::data
