#include "sslkit/data/loader.h"
#include "sslkit/data/views/two_views.h"

#include <catch2/catch.hpp>

namespace D = ssl::data;

namespace {

std::shared_ptr<const D::Source> synthetic_set(int64_t n) {
  D::ImageSet set;
  set.images = torch::randint(0, 256, {n, 12, 12, 1}, torch::TensorOptions().dtype(torch::kUInt8));
  set.labels = torch::arange(n, torch::kInt64).remainder(10);
  return std::make_shared<D::MemorySource>(std::move(set));
}

std::vector<D::Batch> epoch_batches(const std::shared_ptr<const D::Source>& set, int64_t workers, int64_t epoch) {
  auto maker = std::make_shared<D::TwoViews>(D::ContrastiveAugmentOptions(), D::Normalization{{0.5f}, {0.25f}});
  D::Loader loader(set, maker, D::LoaderOptions(8).workers(workers).prefetch(2).seed(42));
  loader.start_epoch(epoch);
  std::vector<D::Batch> batches;
  while (auto batch = loader.next()) batches.push_back(*batch);
  return batches;
}

}  // namespace

TEST_CASE("Loader batches are identical whatever the number of workers", "[data][loader]") {
  torch::manual_seed(0);
  auto set = synthetic_set(50);
  auto reference = epoch_batches(set, 0, 3);
  REQUIRE(reference.size() == 6);  // 50 / 8 with drop_last
  for (const int64_t workers : {1, 2, 3}) {
    auto batches = epoch_batches(set, workers, 3);
    REQUIRE(batches.size() == reference.size());
    for (size_t b = 0; b < batches.size(); ++b) {
      INFO("workers=" << workers << " batch " << b);
      CHECK(batches[b].step == static_cast<int64_t>(b));
      CHECK(torch::equal(batches[b].indices, reference[b].indices));
      CHECK(torch::equal(batches[b].labels, reference[b].labels));
      CHECK(torch::equal(batches[b].views[0], reference[b].views[0]));
      CHECK(torch::equal(batches[b].views[1], reference[b].views[1]));
    }
  }
}

TEST_CASE("Loader shuffles per epoch and covers each image at most once", "[data][loader]") {
  auto set = synthetic_set(48);
  auto first = epoch_batches(set, 1, 0), second = epoch_batches(set, 1, 1);
  std::vector<torch::Tensor> a, b;
  for (auto& batch : first) a.push_back(batch.indices);
  for (auto& batch : second) b.push_back(batch.indices);
  auto order0 = torch::cat(a), order1 = torch::cat(b);
  CHECK_FALSE(torch::equal(order0, order1));
  CHECK(std::get<0>(torch::_unique(order0)).numel() == 48);
  CHECK(torch::equal(std::get<0>(order0.sort()), torch::arange(48, torch::kInt64)));
  // The two views of one image differ (independent augmentations) and are normalized floats.
  CHECK(first[0].views[0].sizes() == torch::IntArrayRef{8, 1, 12, 12});
  CHECK_FALSE(torch::equal(first[0].views[0], first[0].views[1]));
}

TEST_CASE("Loader without drop_last delivers the remainder batch", "[data][loader]") {
  auto set = synthetic_set(20);
  auto maker = std::make_shared<D::TwoViews>(D::ContrastiveAugmentOptions(), D::Normalization{{0.5f}, {0.25f}});
  D::Loader loader(set, maker, D::LoaderOptions(8).drop_last(false).workers(2));
  CHECK(loader.batches_per_epoch() == 3);
  loader.start_epoch(0);
  std::vector<int64_t> sizes;
  while (auto batch = loader.next()) sizes.push_back(batch->views[0].size(0));
  CHECK(sizes == std::vector<int64_t>{8, 8, 4});
}

TEST_CASE("Crop-resize of the full image without flip is the identity", "[data][augment]") {
  auto image = torch::randint(0, 256, {7, 5, 1}, torch::TensorOptions().dtype(torch::kUInt8));
  std::vector<float> out(35);
  D::crop_resize({image.data_ptr<uint8_t>(), 7, 5, 1}, {0, 0, 7, 5}, false, 7, 5, out.data());
  CHECK(torch::equal(torch::from_blob(out.data(), {7, 5}).to(torch::kUInt8), image.squeeze(2)));
  D::crop_resize({image.data_ptr<uint8_t>(), 7, 5, 1}, {0, 0, 7, 5}, true, 7, 5, out.data());
  CHECK(torch::equal(torch::from_blob(out.data(), {7, 5}).to(torch::kUInt8), image.squeeze(2).flip(1)));
}

TEST_CASE("Sampled crops stay inside the image and respect the area range", "[data][augment]") {
  D::Rng rng(1, 2, 3);
  const auto options = D::RandomResizedCropOptions().scale_min(0.2).scale_max(1.0);
  for (int i = 0; i < 1000; ++i) {
    const auto box = D::sample_crop(28, 28, options, rng);
    REQUIRE(box.top >= 0);
    REQUIRE(box.left >= 0);
    REQUIRE(box.top + box.height <= 28);
    REQUIRE(box.left + box.width <= 28);
    // Rounding of the sides can move the area a little outside [0.2, 1] * 784.
    REQUIRE(box.height * box.width >= 0.2 * 784 * 0.85);
  }
}
