#include "sslkit/data/augment.h"
#include "sslkit/data/views/two_views.h"

#include "errors.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

using ssl::testing::error_message;

namespace D = ssl::data;

namespace {

std::vector<float> iota_planes(int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0.0f);
  return v;
}

}  // namespace

TEST_CASE("horizontal_flip mirrors every row of every channel", "[data][augment]") {
  auto v = iota_planes(2 * 2 * 3);  // [2, 2, 3]
  D::horizontal_flip({v.data(), 2, 2, 3});
  CHECK(v == std::vector<float>{2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9});
}

TEST_CASE("rot90 matches numpy.rot90 and four turns are the identity", "[data][augment]") {
  const auto image = iota_planes(3 * 4);  // [[0,1,2,3],[4,5,6,7],[8,9,10,11]]
  std::vector<float> out(12), back(12);
  D::rot90({const_cast<float*>(image.data()), 1, 3, 4}, 1, out.data());
  // numpy.rot90(np.arange(12).reshape(3, 4)) (counter-clockwise), shape (4, 3).
  CHECK(out == std::vector<float>{3, 7, 11, 2, 6, 10, 1, 5, 9, 0, 4, 8});
  D::rot90({const_cast<float*>(image.data()), 1, 3, 4}, 2, out.data());
  CHECK(out == std::vector<float>{11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0});
  D::rot90({const_cast<float*>(image.data()), 1, 3, 4}, 3, out.data());  // numpy.rot90(m, 3)
  CHECK(out == std::vector<float>{8, 4, 0, 9, 5, 1, 10, 6, 2, 11, 7, 3});
  // Four quarter turns (shape alternating 3x4, 4x3) give the image back.
  std::vector<float> a = image;
  int64_t h = 3, w = 4;
  for (int k = 0; k < 4; ++k) {
    D::rot90({a.data(), 1, h, w}, 1, back.data());
    std::swap(h, w);
    a = back;
  }
  CHECK(a == image);
}

TEST_CASE("solarize inverts exactly the pixels at or above the threshold", "[data][augment]") {
  std::vector<float> v{0, 127, 128, 200, 255};
  D::solarize({v.data(), 1, 1, 5}, 128.0f);
  CHECK(v == std::vector<float>{0, 127, 127, 55, 0});
}

TEST_CASE("grayscale uses the ITU-R 601 luma weights and leaves gray images alone", "[data][augment]") {
  std::vector<float> rgb{100, 50, 200};  // one pixel, planar
  D::grayscale({rgb.data(), 3, 1, 1});
  const float luma = 0.299f * 100 + 0.587f * 50 + 0.114f * 200;  // 82.05
  CHECK(rgb == std::vector<float>{luma, luma, luma});
  CHECK(luma == Approx(82.05).epsilon(1e-6));
  std::vector<float> gray{17};
  D::grayscale({gray.data(), 1, 1, 1});
  CHECK(gray[0] == 17);
}

TEST_CASE("adjust_hue by a third of a turn maps red to green and keeps gray", "[data][augment]") {
  std::vector<float> rgb{255, 0, 0};
  D::adjust_hue({rgb.data(), 3, 1, 1}, 1.0 / 3.0);
  CHECK(rgb[0] == Approx(0).margin(1e-3));
  CHECK(rgb[1] == Approx(255).margin(1e-3));
  CHECK(rgb[2] == Approx(0).margin(1e-3));
  std::vector<float> gray{90, 90, 90};
  D::adjust_hue({gray.data(), 3, 1, 1}, 0.25);
  CHECK(gray == std::vector<float>{90, 90, 90});
}

TEST_CASE("sample_crop boxes lie inside the image with the allowed area and ratio", "[data][augment]") {
  const D::RandomResizedCropOptions options;
  for (uint64_t i = 0; i < 2000; ++i) {
    D::Rng rng(3, 0, i);
    const auto box = D::sample_crop(28, 20, options, rng);
    INFO("draw " << i << ": " << box.top << "," << box.left << " " << box.height << "x" << box.width);
    REQUIRE(box.top >= 0);
    REQUIRE(box.left >= 0);
    REQUIRE(box.top + box.height <= 28);
    REQUIRE(box.left + box.width <= 20);
    // Side lengths are rounded, so area and ratio may leave their ranges by one pixel's worth.
    const double area = static_cast<double>(box.height * box.width) / (28.0 * 20.0);
    const double ratio = static_cast<double>(box.width) / static_cast<double>(box.height);
    CHECK(area >= 0.2 * 0.75);
    CHECK(area <= 1.0);
    CHECK(ratio >= 0.75 * (1 - 1.0 / 4));
    CHECK(ratio <= 4.0 / 3.0 * (1 + 1.0 / 4));
  }
}

TEST_CASE("rotate by 0 degrees is exact and by 90 degrees matches rot90 away from the borders", "[data][augment]") {
  std::vector<float> image(64), out(64), reference(64);
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<float>((i * 37) % 256);
  const D::Planes planes{image.data(), 1, 8, 8};
  D::rotate(planes, 0.0, 0.0f, out.data());
  CHECK(out == image);
  D::rotate(planes, 90.0, 0.0f, out.data());
  D::rot90(planes, 1, reference.data());
  for (int64_t y = 1; y < 7; ++y) {
    for (int64_t x = 1; x < 7; ++x) CHECK(out[y * 8 + x] == Approx(reference[y * 8 + x]).margin(1e-3));
  }
  // 45 degrees of a constant image: the centre keeps its value, the corners come from outside (fill).
  std::vector<float> flat(81, 100.0f), turned(81);
  D::rotate({flat.data(), 1, 9, 9}, 45.0, 7.0f, turned.data());
  CHECK(turned[4 * 9 + 4] == Approx(100.0f));
  CHECK(turned[0] == Approx(7.0f));
}

TEST_CASE("gaussian_blur keeps a constant image and spreads a delta by the normalized kernel", "[data][augment]") {
  std::vector<float> flat(5 * 6, 80.0f), scratch(7 * 7);
  D::gaussian_blur({flat.data(), 1, 5, 6}, 1.3, 2, scratch.data());
  for (const float v : flat) CHECK(v == Approx(80.0f).epsilon(1e-6));
  std::vector<float> delta(7 * 7, 0.0f);
  delta[3 * 7 + 3] = 1.0f;
  D::gaussian_blur({delta.data(), 1, 7, 7}, 1.0, 1, scratch.data());
  // 3-tap kernel with sigma 1: centre weight 1 / (1 + 2 e^(-1/2)) = 0.451863, per axis.
  const double centre = 1.0 / (1.0 + 2.0 * std::exp(-0.5));
  CHECK(delta[3 * 7 + 3] == Approx(centre * centre).epsilon(1e-6));
  CHECK(delta[2 * 7 + 3] == Approx(centre * centre * std::exp(-0.5)).epsilon(1e-6));
  CHECK(std::accumulate(delta.begin(), delta.end(), 0.0) == Approx(1.0).epsilon(1e-6));
}

TEST_CASE("An augmentation is a pure function of (seed, epoch, index)", "[data][augment]") {
  std::vector<uint8_t> image(3 * 16 * 16);
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<uint8_t>((i * 7) % 251);
  const D::Augmentation augment({D::RandomResizedCropOptions(), D::HorizontalFlipOptions(), D::ColorJitterOptions(),
                                 D::RandomGrayscaleOptions(), D::GaussianBlurOptions(), D::SolarizeOptions(),
                                 D::RandomRot90Options(), D::RandomRotationOptions()},
                                D::Normalization{{0.5f, 0.5f, 0.5f}, {0.2f, 0.2f, 0.2f}});
  auto run = [&](uint64_t seed, uint64_t epoch, uint64_t index) {
    std::vector<float> out(3 * 16 * 16);
    D::Rng rng(seed, epoch, index);
    augment.apply({image.data(), 16, 16, 3}, rng, out.data());
    return out;
  };
  const auto a = run(1, 2, 3);
  CHECK(a == run(1, 2, 3));
  CHECK(a != run(1, 2, 4));
  CHECK(a != run(1, 3, 3));
  CHECK(a != run(2, 2, 3));
}

TEST_CASE("Operations with probability 0 draw no random numbers", "[data][augment]") {
  std::vector<float> planes(16, 50.0f);
  const D::Augmentation augment({D::HorizontalFlipOptions().probability(0), D::GaussianBlurOptions().probability(0),
                                 D::SolarizeOptions().probability(0), D::RandomGrayscaleOptions()});
  D::Rng used(5, 0, 0), fresh(5, 0, 0);
  augment.apply(D::Planes{planes.data(), 1, 4, 4}, used);  // grayscale on a gray image draws nothing either
  CHECK(used.next() == fresh.next());
  CHECK(planes == std::vector<float>(16, 50.0f));
}

TEST_CASE("An augmentation rejects a crop after the first operation and bad probabilities", "[data][augment]") {
  CHECK(error_message([] { D::Augmentation({D::HorizontalFlipOptions(), D::RandomResizedCropOptions()}); }) ==
        "augmentation: a random resized crop must be the first operation, got one at position 1");
  CHECK(error_message([] { D::Augmentation({D::SolarizeOptions().probability(1.5)}); }) ==
        "augmentation: solarize probability must be in [0, 1], got 1.5");
}

TEST_CASE("SimCLR two-views output is bit-identical to the foundation's", "[data][augment]") {
  // Reference sums printed by the foundation's contrastive_view (commit 8b460d0) for this exact loop.
  std::vector<uint8_t> image(28 * 28);
  for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<uint8_t>((i * 37 + (i / 28) * 11) % 256);
  const D::TwoViews views(D::ContrastiveAugmentOptions(), D::Normalization{{0.3f}, {0.35f}});
  double sum = 0, weighted = 0;
  std::vector<float> a(28 * 28), b(28 * 28);
  for (uint64_t index = 0; index < 50; ++index) {
    D::Rng rng(7, 2, index);
    float* outs[2] = {a.data(), b.data()};
    views.make({image.data(), 28, 28, 1}, rng, outs, nullptr);
    for (size_t i = 0; i < a.size(); ++i) {
      sum += a[i] + b[i];
      weighted += (a[i] - b[i]) * static_cast<double>(i % 13);
    }
  }
  CHECK(sum == 39902.425923466682);
  CHECK(weighted == -11127.852574855089);
}
