#include "sslkit/data/idx.h"
#include "sslkit/data/loader.h"
#include "sslkit/data/sources/convert.h"
#include "sslkit/data/sources/hdf5.h"
#include "sslkit/data/views/two_views.h"

#include "errors.h"
#include "random_images.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <hdf5.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace D = ssl::data;
using ssl::testing::error_message;
using ssl::testing::TempDir;
using ssl::testing::random_set;

namespace {

// Writes one dataset `name` of `type` and shape `dims` into `file` (contiguous layout), from `data`.
void add_dataset(hid_t file, const char* name, hid_t type, const std::vector<hsize_t>& dims, const void* data) {
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t set = H5Dcreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(set >= 0);
  REQUIRE(H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
  H5Dclose(set);
  H5Sclose(space);
}

// A file written with the bare HDF5 API (as another tool would), for the schema checks.
struct RawFile {
  explicit RawFile(const std::string& path) : id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) {}
  ~RawFile() { H5Fclose(id); }
  hid_t id;
};

std::vector<D::Batch> epoch(std::shared_ptr<const D::Source> source, int64_t workers) {
  auto maker = std::make_shared<D::TwoViews>(D::ContrastiveAugmentOptions(), D::Normalization{{0.3f}, {0.2f}});
  D::Loader loader(std::move(source), maker, D::LoaderOptions(16).workers(workers).prefetch(2).seed(7));
  loader.start_epoch(2);
  std::vector<D::Batch> batches;
  while (auto batch = loader.next()) batches.push_back(*batch);
  return batches;
}

}  // namespace

TEST_CASE("HDF5 write/read round trip keeps images, labels and class names", "[data][hdf5]") {
  TempDir dir;
  const auto set = random_set(37, 5, 6, 3, 1);
  const std::vector<std::string> classes{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
  D::write_hdf5(dir.file("set.h5"), D::MemorySource(set, classes), D::Hdf5WriteOptions().chunk_images(8));
  CHECK_FALSE(std::filesystem::exists(dir.file("set.h5.tmp." + std::to_string(::getpid()))));
  D::Hdf5Source source(dir.file("set.h5"));
  CHECK(source.size() == 37);
  CHECK(source.height() == 5);
  CHECK(source.width() == 6);
  CHECK(source.channels() == 3);
  CHECK(source.labelled());
  CHECK(source.classes() == classes);
  CHECK(source.chunk_images() == 8);
  const auto back = D::materialize(source);
  CHECK(torch::equal(back.images, set.images));
  CHECK(torch::equal(back.labels, set.labels));

  // Unlabelled, gzip-compressed, default chunking.
  D::ImageSet unlabelled = set;
  unlabelled.labels = torch::Tensor();
  D::write_hdf5(dir.file("plain.h5"), D::MemorySource(unlabelled), D::Hdf5WriteOptions().compression(4));
  D::Hdf5Source plain(dir.file("plain.h5"));
  CHECK_FALSE(plain.labelled());
  CHECK(plain.classes().empty());
  CHECK(plain.chunk_images() == (128 << 10) / 90);
  CHECK(torch::equal(D::materialize(plain).images, set.images));
}

TEST_CASE("HDF5 random access reads single images through the chunk cache", "[data][hdf5]") {
  TempDir dir;
  const auto set = random_set(100, 4, 4, 1, 2);
  D::write_hdf5(dir.file("set.h5"), D::MemorySource(set), D::Hdf5WriteOptions().chunk_images(7).compression(1));
  D::Hdf5Source source(dir.file("set.h5"), /*cache_bytes=*/64);  // a cache smaller than one chunk still works
  for (const int64_t i : {99, 0, 50, 51, 6, 7, 98}) {
    INFO("index " << i);
    CHECK(torch::equal(source.get(i), set.images[i]));
    CHECK(source.label(i) == set.labels[i].item<int64_t>());
  }
  // A bulk read mixing runs and jumps, as the loader issues.
  const std::vector<int64_t> indices{3, 4, 5, 90, 12, 13, 0};
  std::vector<uint8_t> pixels(indices.size() * 16);
  std::vector<int64_t> labels(indices.size());
  source.read(indices.data(), static_cast<int64_t>(indices.size()), pixels.data(), labels.data());
  const auto index_tensor = torch::tensor(indices);
  CHECK(torch::equal(torch::from_blob(pixels.data(), {7, 4, 4, 1}, torch::kUInt8), set.images.index_select(0, index_tensor)));
  CHECK(torch::equal(torch::tensor(labels), set.labels.index_select(0, index_tensor)));
  CHECK(error_message([&] { source.get(100); }) == "'" + dir.file("set.h5") + "': image index 100 is outside [0, 100)");
}

TEST_CASE("HDF5 files that break the schema are refused in one line", "[data][hdf5][errors]") {
  TempDir dir;
  const std::string path = dir.file("bad.h5");
  std::vector<uint8_t> pixels(2 * 3 * 3 * 1, 7);
  std::vector<float> floats(pixels.size(), 0.5f);

  { RawFile file(path); }
  CHECK(error_message([&] { D::Hdf5Source s(path); }) ==
        "'" + path + "': no dataset /images (expected uint8 [N,H,W,C])");
  {
    RawFile file(path);
    add_dataset(file.id, "images", H5T_NATIVE_UINT8, {2, 3, 3}, pixels.data());
  }
  CHECK(error_message([&] { D::Hdf5Source s(path); }) ==
        "'" + path + "': dataset /images has rank 3 (shape [2,3,3]), expected 4 ([N,H,W,C])");
  {
    RawFile file(path);
    add_dataset(file.id, "images", H5T_NATIVE_FLOAT, {2, 3, 3, 1}, floats.data());
  }
  CHECK(error_message([&] { D::Hdf5Source s(path); }) == "'" + path + "': dataset /images has type float32, expected uint8");
  {
    RawFile file(path);
    add_dataset(file.id, "images", H5T_NATIVE_UINT8, {1, 3, 3, 2}, pixels.data());
  }
  CHECK(error_message([&] { D::Hdf5Source s(path); }) ==
        "'" + path + "': dataset /images has 2 channels (shape [1,3,3,2]), expected 1 or 3");
  const std::vector<int64_t> three_labels{0, 1, 2};
  {
    RawFile file(path);
    add_dataset(file.id, "images", H5T_NATIVE_UINT8, {2, 3, 3, 1}, pixels.data());
    add_dataset(file.id, "labels", H5T_NATIVE_INT64, {3}, three_labels.data());
  }
  CHECK(error_message([&] { D::Hdf5Source s(path); }) ==
        "'" + path + "': dataset /labels holds 3 labels but /images holds 2 images");
  {
    RawFile file(path);
    add_dataset(file.id, "images", H5T_NATIVE_UINT8, {2, 3, 3, 1}, pixels.data());
    add_dataset(file.id, "labels", H5T_NATIVE_FLOAT, {2}, floats.data());
  }
  CHECK(error_message([&] { D::Hdf5Source s(path); }) == "'" + path + "': dataset /labels has type float32, expected int64");
  const std::vector<int64_t> labels{1, 12};
  {
    RawFile file(path);
    add_dataset(file.id, "images", H5T_NATIVE_UINT8, {2, 3, 3, 1}, pixels.data());
    add_dataset(file.id, "labels", H5T_NATIVE_INT64, {2}, labels.data());
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, 4);  // fixed-length strings, as h5py writes numpy 'S4'
    add_dataset(file.id, "classes", type, {3}, "cat\0dog\0owl\0");
    H5Tclose(type);
  }
  CHECK(error_message([&] { D::Hdf5Source s(path); }) ==
        "'" + path + "': dataset /labels has label 12 at index 1, expected 0..2 (/classes lists 3)");
  const std::vector<int32_t> negative{0, -1};
  {
    RawFile file(path);
    add_dataset(file.id, "images", H5T_NATIVE_UINT8, {2, 3, 3, 1}, pixels.data());
    add_dataset(file.id, "labels", H5T_NATIVE_INT32, {2}, negative.data());
  }
  CHECK(error_message([&] { D::Hdf5Source s(path); }) ==
        "'" + path + "': dataset /labels has label -1 at index 1, expected >= 0");

  // A valid file from another writer: contiguous layout, int32 labels, fixed-length class names.
  const std::vector<int32_t> good{2, 0};
  {
    RawFile file(path);
    add_dataset(file.id, "images", H5T_NATIVE_UINT8, {2, 3, 3, 1}, pixels.data());
    add_dataset(file.id, "labels", H5T_NATIVE_INT32, {2}, good.data());
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, 4);
    add_dataset(file.id, "classes", type, {3}, "cat\0dog\0owl\0");
    H5Tclose(type);
  }
  D::Hdf5Source source(path);
  CHECK(source.chunk_images() == 0);
  CHECK(source.classes() == std::vector<std::string>{"cat", "dog", "owl"});
  CHECK(source.label(0) == 2);

  std::ofstream(dir.file("text.h5")) << "hello";
  CHECK(error_message([&] { D::Hdf5Source s(dir.file("text.h5")); }) == "'" + dir.file("text.h5") + "': not an HDF5 file");
}

TEST_CASE("A writer destroyed before finish leaves no file behind", "[data][hdf5]") {
  TempDir dir;
  const std::string path = dir.file("partial.h5");
  {
    D::Hdf5Writer writer(path, 2, 2, 1, /*labelled=*/false);
    std::vector<uint8_t> pixels(4, 1);
    writer.append(pixels.data(), nullptr, 1);
  }
  CHECK(std::filesystem::is_empty(dir.str()));
  CHECK(error_message([&] { D::Hdf5Writer writer(path, 2, 2, 2, false); }) ==
        "cannot write '" + path + "': images must be at least 1x1 with 1 or 3 channels, got 2x2x2");
  CHECK(std::filesystem::is_empty(dir.str()));
}

TEST_CASE("Converting IDX to HDF5 gives the same loader batches", "[data][hdf5][convert]") {
  TempDir dir;
  const auto set = random_set(50, 12, 12, 1, 3);
  D::write_idx_images(dir.file("train-images-idx3-ubyte.gz"), set.images, true);
  D::write_idx_labels(dir.file("train-labels-idx1-ubyte"), set.labels, false);
  const auto result = D::convert_to_hdf5(dir.str(), D::Split::Train, dir.file("train.h5"),
                                         D::ConvertOptions().hdf5(D::Hdf5WriteOptions().chunk_images(4)));
  CHECK(result.images == 50);
  CHECK(result.labelled);
  const auto idx = D::open_source(dir.str(), D::Split::Train);
  const auto h5 = D::open_source(dir.file("train.h5"), D::Split::Train);
  const auto expected = epoch(idx, 0);
  REQUIRE(expected.size() == 3);
  for (const int64_t workers : {0, 2}) {
    const auto got = epoch(h5, workers);
    REQUIRE(got.size() == expected.size());
    for (size_t b = 0; b < got.size(); ++b) {
      INFO("workers " << workers << " batch " << b);
      CHECK(torch::equal(got[b].indices, expected[b].indices));
      CHECK(torch::equal(got[b].labels, expected[b].labels));
      CHECK(torch::equal(got[b].views[0], expected[b].views[0]));
      CHECK(torch::equal(got[b].views[1], expected[b].views[1]));
    }
  }
  CHECK(error_message([&] { D::convert_to_hdf5(dir.str(), D::Split::Test, dir.file("test.h5")); }) ==
        "data folder '" + dir.str() + "' has no t10k-images-idx3-ubyte (nor t10k-images-idx3-ubyte.gz)");
  CHECK_FALSE(std::filesystem::exists(dir.file("test.h5")));
  CHECK(error_message([&] { D::convert_to_hdf5(dir.str(), D::Split::Train, dir.file("test.bin")); }) ==
        "output '" + dir.file("test.bin") + "' must be an .h5 file");
}
