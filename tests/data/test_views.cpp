#include "sslkit/data/loader.h"
#include "sslkit/data/view_grid.h"
#include "sslkit/ssl/png.h"
#include "sslkit/data/views/jigsaw.h"
#include "sslkit/data/views/multi_crop.h"
#include "sslkit/data/views/patch_grid.h"
#include "sslkit/data/views/registry.h"
#include "sslkit/data/views/relative_patch.h"
#include "sslkit/data/views/rotations.h"
#include "sslkit/data/views/two_views.h"

#include "errors.h"

#include <catch2/catch.hpp>
#include <zlib.h>

#include <set>

namespace D = ssl::data;
using ssl::testing::error_message;

namespace {

/// Views normalized this way hold pixel / 255.
const D::Normalization kUnit{{0.0f}, {1.0f}};

/// N gray images [N, side, side, 1] whose pixel (r, c) of image n is (n + r * side + c) mod 256, so a
/// pixel's value tells where it came from.
std::shared_ptr<D::ImageSet> coded_set(int64_t n, int64_t side) {
  auto set = std::make_shared<D::ImageSet>();
  auto r = torch::arange(side, torch::kInt64).view({side, 1}), c = torch::arange(side, torch::kInt64).view({1, side});
  auto base = r * side + c;
  set->images = (torch::arange(n, torch::kInt64).view({n, 1, 1}) + base).remainder(256).to(torch::kUInt8).unsqueeze(3);
  set->labels = torch::arange(n, torch::kInt64).remainder(10);
  return set;
}

D::Batch one_batch(const std::shared_ptr<D::ImageSet>& set, std::shared_ptr<const D::ViewMaker> maker,
                   int64_t workers = 0) {
  D::Loader loader(std::make_shared<D::MemorySource>(*set), std::move(maker), D::LoaderOptions(set->size()).shuffle(false).workers(workers).seed(9));
  loader.start_epoch(1);
  return *loader.next();
}

/// The pixels (0..255 scale) of a [side, side] crop of image `n` of `set`, as float [1, h, w].
torch::Tensor crop(const std::shared_ptr<D::ImageSet>& set, int64_t n, int64_t top, int64_t left, int64_t h, int64_t w) {
  return set->images[n].slice(0, top, top + h).slice(1, left, left + w).permute({2, 0, 1}).to(torch::kFloat);
}

}  // namespace

TEST_CASE("rotations: four views are the exact 90-degree turns with targets 0..3", "[data][views]") {
  auto set = coded_set(6, 12);
  auto batch = one_batch(set, std::make_shared<D::Rotations>(D::RotationsOptions().flip_probability(0), kUnit));
  REQUIRE(batch.views.size() == 4);
  CHECK(batch.views[0].sizes() == torch::IntArrayRef{6, 1, 12, 12});
  CHECK(torch::equal(batch.targets, torch::arange(4, torch::kInt64).repeat({6, 1})));
  for (int64_t k = 0; k < 4; ++k) {
    auto expected = set->images.permute({0, 3, 1, 2}).to(torch::kFloat).rot90(k, {2, 3}) / 255.0;
    CHECK(torch::allclose(batch.views[static_cast<size_t>(k)], expected, 0, 1e-6));
  }
  // One random rotation per image: the target says which turn the view is.
  auto single = one_batch(set, std::make_shared<D::Rotations>(D::RotationsOptions().all_rotations(false).flip_probability(0), kUnit));
  REQUIRE(single.targets.sizes() == torch::IntArrayRef{6});
  for (int64_t n = 0; n < 6; ++n) {
    const int64_t k = single.targets[n].item<int64_t>();
    auto expected = set->images[n].permute({2, 0, 1}).to(torch::kFloat).rot90(k, {1, 2}) / 255.0;
    CHECK(torch::allclose(single.views[0][n], expected, 0, 1e-6));
  }
}

TEST_CASE("jigsaw permutation set: P distinct permutations at a known minimal Hamming distance", "[data][views]") {
  const auto& set = D::jigsaw_permutations(100, 0);
  REQUIRE(set.size() == 100);
  std::set<D::TilePermutation> distinct(set.begin(), set.end());
  CHECK(distinct.size() == 100);
  for (const auto& p : set) {
    auto sorted = p;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == D::TilePermutation{0, 1, 2, 3, 4, 5, 6, 7, 8});
  }
  // Measured with this implementation of Noroozi & Favaro's greedy algorithm (P = 100, seed 0): 4 with the
  // nearest-distance tie-break (the sum alone with lexicographic ties gives 2). The second pick is at
  // distance 9 from the first (a derangement maximizes the sum).
  CHECK(D::min_hamming_distance(set) == 4);
  CHECK(D::hamming_distance(set[0], set[1]) == 9);
  CHECK(&D::jigsaw_permutations(100, 0) == &set);  // cached
  CHECK(D::jigsaw_permutations(100, 1)[0] != set[0]);
}

TEST_CASE("jigsaw: un-permuting the tiles with gap 0 reassembles the image", "[data][views]") {
  auto set = coded_set(5, 12);
  auto maker = std::make_shared<D::Jigsaw>(D::JigsawOptions().permutations(10).tile_size(4).gap(0), kUnit);
  auto batch = one_batch(set, maker);
  REQUIRE(batch.views.size() == 1);
  REQUIRE(batch.views[0].sizes() == torch::IntArrayRef{5, 9, 1, 4, 4});
  REQUIRE(batch.targets.sizes() == torch::IntArrayRef{5});
  for (int64_t n = 0; n < 5; ++n) {
    const int64_t label = batch.targets[n].item<int64_t>();
    REQUIRE(label >= 0);
    REQUIRE(label < 10);
    const auto& perm = maker->permutations()[static_cast<size_t>(label)];
    auto image = torch::zeros({1, 12, 12});
    for (int64_t slot = 0; slot < 9; ++slot) {
      const int64_t tile = perm[static_cast<size_t>(slot)];
      image.slice(1, (tile / 3) * 4, (tile / 3) * 4 + 4).slice(2, (tile % 3) * 4, (tile % 3) * 4 + 4) =
          batch.views[0][n][slot];
    }
    CHECK(torch::allclose(image * 255.0, crop(set, n, 0, 0, 12, 12), 0, 1e-3));
  }
}

TEST_CASE("relative-patch: the label is the neighbour's offset from the centre patch", "[data][views]") {
  CHECK(D::relative_offset(0) == std::pair<int64_t, int64_t>{-1, -1});
  CHECK(D::relative_offset(3) == std::pair<int64_t, int64_t>{0, -1});
  CHECK(D::relative_offset(4) == std::pair<int64_t, int64_t>{0, 1});
  CHECK(D::relative_offset(7) == std::pair<int64_t, int64_t>{1, 1});
  // 16x16 coded images, 4 px patches, 1 px gaps, 1 px jitter: grid corner fixed at (1, 1), step 5.
  auto set = coded_set(40, 16);
  auto batch = one_batch(set, std::make_shared<D::RelativePatch>(D::RelativePatchOptions().patch_size(4).gap(1).jitter(1), kUnit));
  REQUIRE(batch.views.size() == 2);
  REQUIRE(batch.views[0].sizes() == torch::IntArrayRef{40, 1, 4, 4});
  std::set<int64_t> labels;
  for (int64_t n = 0; n < 40; ++n) {
    // The top-left pixel's value tells where each patch was cut: value = n + 16 row + column.
    auto where = [&](int v) {
      const auto value = std::lround(batch.views[static_cast<size_t>(v)][n][0][0][0].item<float>() * 255.0f);
      const int64_t offset = (value - n + 256) % 256;
      return std::pair<int64_t, int64_t>{offset / 16, offset % 16};
    };
    const auto [cy, cx] = where(0);
    const auto [ny, nx] = where(1);
    const int64_t label = batch.targets[n].item<int64_t>();
    labels.insert(label);
    const auto [dr, dc] = D::relative_offset(label);
    INFO("image " << n << " label " << label << " centre " << cy << "," << cx << " neighbour " << ny << "," << nx);
    CHECK(std::abs(cy - 6) <= 1);  // corner 1 + step 5, +-1 jitter
    CHECK(std::abs(cx - 6) <= 1);
    CHECK(std::abs(ny - (6 + 5 * dr)) <= 1);
    CHECK(std::abs(nx - (6 + 5 * dc)) <= 1);
    CHECK(torch::allclose(batch.views[1][n] * 255.0, crop(set, n, ny, nx, 4, 4), 0, 1e-3));
  }
  CHECK(labels.size() == 8);
}

TEST_CASE("patch-grid: g x g patches at the grid corners, each jittered by at most the jitter", "[data][views]") {
  auto set = coded_set(4, 16);
  const auto options = D::PatchGridOptions().grid(3).patch_size(6).stride(5).jitter(0);
  auto maker = std::make_shared<D::PatchGrid>(options, kUnit);
  CHECK(maker->view_shape(1, 28, 28) == std::vector<int64_t>{9, 1, 6, 6});
  const auto corners = maker->patch_corners(16, 16);
  REQUIRE(corners.size() == 9);
  CHECK(corners[0] == std::pair<int64_t, int64_t>{0, 0});
  CHECK(corners[5] == std::pair<int64_t, int64_t>{5, 10});
  CHECK(corners[8] == std::pair<int64_t, int64_t>{10, 10});
  auto batch = one_batch(set, maker);
  REQUIRE(batch.views[0].sizes() == torch::IntArrayRef{4, 9, 1, 6, 6});
  CHECK_FALSE(batch.targets.defined());
  for (int64_t n = 0; n < 4; ++n) {
    for (int64_t k = 0; k < 9; ++k) {
      auto [y, x] = corners[static_cast<size_t>(k)];
      CHECK(torch::allclose(batch.views[0][n][k] * 255.0, crop(set, n, y, x, 6, 6), 0, 1e-3));
    }
  }
  // With jitter, a patch is a crop within 2 px of its corner (the coded value says where), inside the image.
  auto jittered = one_batch(set, std::make_shared<D::PatchGrid>(D::PatchGridOptions(options).jitter(2), kUnit));
  for (int64_t k = 0; k < 9; ++k) {
    const auto value = std::lround(jittered.views[0][0][k][0][0][0].item<float>() * 255.0f);
    const int64_t y = value / 16, x = value % 16;
    CHECK(std::abs(y - corners[static_cast<size_t>(k)].first) <= 2);
    CHECK(std::abs(x - corners[static_cast<size_t>(k)].second) <= 2);
    CHECK(torch::allclose(jittered.views[0][0][k] * 255.0, crop(set, 0, y, x, 6, 6), 0, 1e-3));
  }
}

TEST_CASE("multi-crop: two global crops as two-views makes them, then local crops of their own size and scale",
          "[data][views]") {
  auto set = coded_set(3, 28);
  const auto options = D::MultiCropOptions().local_crops(3).local_crop_size(12);
  const auto maker = std::make_shared<D::MultiCrop>(options, kUnit);
  REQUIRE(maker->num_views() == 5);
  CHECK(maker->view_shape(1, 28, 28) == std::vector<int64_t>{1, 28, 28});
  for (int64_t v = 0; v < 5; ++v) {
    INFO(v);
    CHECK(maker->shape_of_view(v, 1, 28, 28) == (v < 2 ? std::vector<int64_t>{1, 28, 28} : std::vector<int64_t>{1, 12, 12}));
  }
  const auto batch = one_batch(set, maker);
  REQUIRE(batch.views.size() == 5);
  CHECK(batch.views[0].sizes() == std::vector<int64_t>{3, 1, 28, 28});
  CHECK(batch.views[4].sizes() == std::vector<int64_t>{3, 1, 12, 12});

  // From one random stream: the global crops are what TwoViews with the same pipeline draws first, then each local
  // crop is the same pipeline with the local area range and side.
  const auto image = set->images[1].contiguous();
  const D::ImageRef ref{image.data_ptr<uint8_t>(), 28, 28, 1};
  std::vector<torch::Tensor> views;
  std::vector<float*> outs;
  for (int64_t v = 0; v < 5; ++v) {
    views.push_back(torch::empty(maker->shape_of_view(v, 1, 28, 28)));
    outs.push_back(views.back().data_ptr<float>());
  }
  D::Rng rng(4, 0, 1), expected_rng(4, 0, 1);
  maker->make(ref, rng, outs.data(), nullptr);
  D::TwoViews two(options.global(), kUnit);
  auto global = torch::empty({2, 1, 28, 28});
  float* global_outs[2] = {global[0].data_ptr<float>(), global[1].data_ptr<float>()};
  two.make(ref, expected_rng, global_outs, nullptr);
  CHECK(torch::equal(views[0], global[0]));
  CHECK(torch::equal(views[1], global[1]));
  auto local_options = options.global();
  local_options.crop().scale_min(0.05).scale_max(0.4).out_size(12);
  const auto local = D::contrastive_augmentation(local_options, kUnit);
  for (int64_t v = 2; v < 5; ++v) {
    auto expected = torch::empty({1, 12, 12});
    local.apply(ref, expected_rng, expected.data_ptr<float>());
    CHECK(torch::equal(views[static_cast<size_t>(v)], expected));
  }
  CHECK_FALSE(torch::equal(views[2], views[3]));

  CHECK(D::MultiCrop(D::MultiCropOptions().local_crops(0), kUnit).num_views() == 2);
  CHECK(error_message([] { D::MultiCrop(D::MultiCropOptions().local_crops(-1), kUnit); }) ==
        "multi-crop: local crops must be in [0, 64], got -1");
  CHECK(error_message([] { D::MultiCrop(D::MultiCropOptions().local_crop_size(0), kUnit); }) ==
        "multi-crop: local crop size must be in [1, 65536] pixels, got 0");
  CHECK(error_message([] { D::MultiCrop(D::MultiCropOptions().local_scale_min(0.5), kUnit); }) ==
        "multi-crop: local crop scale must satisfy 0 < min <= max <= 1, got [0.5, 0.4]");
}

TEST_CASE("Every registered view gives the same batch with 0 and 2 workers", "[data][views]") {
  auto set = coded_set(12, 28);
  for (const auto& name : D::view_names()) {
    INFO(name);
    auto maker = D::make_view(name, D::Normalization{{0.5f}, {0.25f}});
    const auto source = std::make_shared<D::MemorySource>(*set);
    D::Loader serial(source, maker, D::LoaderOptions(4).workers(0).seed(3));
    D::Loader threaded(source, maker, D::LoaderOptions(4).workers(2).seed(3));
    serial.start_epoch(2);
    threaded.start_epoch(2);
    for (int step = 0; step < 3; ++step) {
      auto a = *serial.next(), b = *threaded.next();
      REQUIRE(a.views.size() == static_cast<size_t>(maker->num_views()));
      for (size_t v = 0; v < a.views.size(); ++v) CHECK(torch::equal(a.views[v], b.views[v]));
      CHECK(a.targets.defined() == maker->has_target());
      if (a.targets.defined()) CHECK(torch::equal(a.targets, b.targets));
    }
  }
  CHECK(error_message([] { D::make_view("spin", {}); }) ==
        "unknown view 'spin': expected one of two-views, multi-crop, rotations, patch-grid, jigsaw, relative-patch");
}

TEST_CASE("encode_png round-trips through an independent zlib decode", "[data][png]") {
  auto image = torch::randint(0, 256, {5, 7, 3}, torch::TensorOptions().dtype(torch::kUInt8));
  const std::string png = ssl::encode_png(image.data_ptr<uint8_t>(), 5, 7, 3);
  REQUIRE(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  auto u32 = [&](size_t at) {
    return (uint32_t(uint8_t(png[at])) << 24) | (uint32_t(uint8_t(png[at + 1])) << 16) |
           (uint32_t(uint8_t(png[at + 2])) << 8) | uint32_t(uint8_t(png[at + 3]));
  };
  // Walk the chunks, checking every CRC, collecting IDAT.
  std::string idat;
  size_t at = 8;
  uint32_t width = 0, height = 0;
  while (at < png.size()) {
    const uint32_t length = u32(at);
    const std::string type = png.substr(at + 4, 4);
    const auto crc = crc32(0, reinterpret_cast<const Bytef*>(png.data() + at + 4), length + 4);
    CHECK(crc == u32(at + 8 + length));
    if (type == "IHDR") width = u32(at + 8), height = u32(at + 12);
    if (type == "IHDR") CHECK(png.substr(at + 16, 5) == std::string("\x08\x02\x00\x00\x00", 5));
    if (type == "IDAT") idat += png.substr(at + 8, length);
    at += 12 + length;
  }
  CHECK(width == 7);
  CHECK(height == 5);
  std::vector<uint8_t> raw(5 * (7 * 3 + 1));
  uLongf size = raw.size();
  REQUIRE(uncompress(raw.data(), &size, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) == Z_OK);
  REQUIRE(size == raw.size());
  for (int64_t y = 0; y < 5; ++y) {
    CHECK(raw[static_cast<size_t>(y * 22)] == 0);  // filter None
    for (int64_t i = 0; i < 21; ++i) CHECK(raw[static_cast<size_t>(y * 22 + 1 + i)] == image[y].view(-1)[i].item<uint8_t>());
  }
}

TEST_CASE("render_view_grid lays out one row per image and one cell per tile", "[data][png]") {
  auto set = coded_set(3, 28);
  const D::Normalization norm{{0.5f}, {0.25f}};
  auto batch = one_batch(set, D::make_view("rotations", norm));
  auto canvas = D::render_view_grid(set->images, batch, norm, D::ViewGridOptions().scale(2).padding(4).font_scale(1));
  // Cells 56 px (28 x 2) wide; 5 tiles (original + 4 turns), an extra padding after the original;
  // rows of 56 + 7 (caption) + 4 padding.
  CHECK(canvas.sizes() == torch::IntArrayRef{4 + 3 * (56 + 7 + 4), 4 + 5 * (56 + 4) + 4, 3});
  // The original is drawn pixel for pixel (scaled): its top-left image pixel sits at (4, 4).
  CHECK(canvas[4][4][0].item<uint8_t>() == set->images[0][0][0][0].item<uint8_t>());
  CHECK(canvas[4 + 2 * 5][4 + 2 * 7][1].item<uint8_t>() == set->images[0][5][7][0].item<uint8_t>());
}
