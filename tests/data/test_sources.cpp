#include "sslkit/data/idx.h"
#include "sslkit/data/sources/source.h"

#include "errors.h"
#include "random_images.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

namespace D = ssl::data;
using ssl::testing::error_message;
using ssl::testing::TempDir;
using ssl::testing::random_set;

namespace {

}  // namespace

TEST_CASE("MemorySource reads any indices in bulk with their labels", "[data][sources]") {
  const auto set = random_set(10, 3, 4, 3, 1);
  D::MemorySource source(set);
  CHECK(source.size() == 10);
  CHECK(source.image_bytes() == 36);
  const std::vector<int64_t> indices{7, 2, 3, 9};
  std::vector<uint8_t> pixels(4 * 36);
  std::vector<int64_t> labels(4);
  source.read(indices.data(), 4, pixels.data(), labels.data());
  auto got = torch::from_blob(pixels.data(), {4, 3, 4, 3}, torch::kUInt8);
  CHECK(torch::equal(got, set.images.index_select(0, torch::tensor(indices))));
  CHECK(torch::equal(torch::tensor(labels), set.labels.index_select(0, torch::tensor(indices))));
  CHECK(torch::equal(source.get(5), set.images[5]));
  CHECK(source.label(5) == set.labels[5].item<int64_t>());
  CHECK(error_message([&] { source.get(10); }) == "'random': image index 10 is outside [0, 10)");
}

TEST_CASE("head and materialize keep the first images in order", "[data][sources]") {
  const auto set = random_set(12, 2, 2, 1, 2);
  auto source = std::make_shared<D::MemorySource>(set);
  const auto first5 = D::head(source, 5);
  CHECK(first5->size() == 5);
  CHECK(D::head(source, 0)->size() == 12);
  const auto materialized = D::materialize(*first5);
  CHECK(torch::equal(materialized.images, set.images.narrow(0, 0, 5)));
  CHECK(torch::equal(materialized.labels, set.labels.narrow(0, 0, 5)));
  CHECK(error_message([&] { first5->get(5); }) == "'random': image index 5 is outside [0, 5)");
}

TEST_CASE("Block-wise normalization of a source equals the in-memory one", "[data][sources]") {
  // Reference: compute_normalization(ImageSet), torch mean and unbiased std in float64.
  const auto set = random_set(300, 9, 7, 3, 3);
  const auto expected = D::compute_normalization(set);
  const auto got = D::compute_normalization(D::MemorySource(set));
  for (size_t c = 0; c < 3; ++c) {
    CHECK(got.mean[c] == Approx(expected.mean[c]).epsilon(1e-6));
    CHECK(got.stddev[c] == Approx(expected.stddev[c]).epsilon(1e-6));
  }
}

TEST_CASE("open_source detects IDX folders and names what a spec lacks", "[data][sources][errors]") {
  TempDir dir;
  const auto set = random_set(6, 4, 4, 1, 4);
  D::write_idx_images(dir.file("train-images-idx3-ubyte"), set.images, false);
  D::write_idx_labels(dir.file("train-labels-idx1-ubyte"), set.labels, false);
  const auto source = D::open_source(dir.str(), D::Split::Train);
  CHECK(source->size() == 6);
  CHECK(torch::equal(D::materialize(*source).images, set.images));
  CHECK(D::open_source(dir.str(), D::Split::Train, D::SourceOptions().image_size(4).channels(1))->size() == 6);
  CHECK(error_message([&] { D::open_source(dir.str(), D::Split::Train, D::SourceOptions().image_size(8)); }) ==
        "data '" + dir.str() +
            "' holds 4x4 images, not 8x8: only image folders are resized (image size 0 keeps the stored size)");
  CHECK(error_message([&] { D::open_source(dir.str(), D::Split::Train, D::SourceOptions().channels(3)); }) ==
        "data '" + dir.str() + "' holds 1-channel images, not 3: only image folders are converted (channels 0 keep "
                               "the stored ones)");

  CHECK(error_message([&] { D::open_source(dir.file("missing"), D::Split::Train); }) ==
        "data '" + dir.file("missing") +
            "' not found: expected fashion-mnist or a folder (MNIST-format IDX files, or images) or an .h5 file");
  std::ofstream(dir.file("notes.txt")) << "hello";
  CHECK(error_message([&] { D::open_source(dir.file("notes.txt"), D::Split::Train); }) ==
        "data '" + dir.file("notes.txt") +
            "' is a file but not an .h5 file: expected fashion-mnist or a folder (MNIST-format IDX files, or "
            "images) or an .h5 file");
  CHECK(error_message([&] { D::open_source(dir.file("x.h5"), D::Split::Train); }) ==
        "data '" + dir.file("x.h5") +
            "' not found: expected fashion-mnist or a folder (MNIST-format IDX files, or images) or an .h5 file");
  std::ofstream(dir.file("x.h5")) << "not hdf5";
  CHECK(error_message([&] { D::open_source(dir.file("x.h5"), D::Split::Test); }) ==
        "data '" + dir.file("x.h5") +
            "' is an HDF5 file, which holds one split: give the test split as a file of its own");
  CHECK(error_message([] { D::parse_on_bad_image("ignore"); }) == "invalid bad-image policy 'ignore': expected skip or fail");
  CHECK(error_message([] { D::parse_fit("pad"); }) == "invalid fit 'pad': expected resize or crop");
}

TEST_CASE("HDF5 and image folders name the build option when it is off", "[data][sources][errors]") {
  TempDir dir;
  std::ofstream(dir.file("x.h5")) << "not hdf5";
  const std::string h5 = error_message([&] { D::open_source(dir.file("x.h5"), D::Split::Train); });
  if (D::built_with_hdf5()) {
    CHECK(h5 == "'" + dir.file("x.h5") + "': not an HDF5 file");
  } else {
    CHECK(h5 == "data '" + dir.file("x.h5") +
                    "': sslkit was built without HDF5 support (configure with -DSSLKIT_WITH_HDF5=ON)");
  }
  std::filesystem::create_directories(dir.file("images"));
  std::ofstream(dir.file("images/a.txt")) << "not an image";
  const std::string folder = error_message([&] { D::open_source(dir.file("images"), D::Split::Train); });
  if (D::built_with_opencv()) {
    CHECK(folder == "image folder '" + dir.file("images") + "' holds no readable images (unreadable files: 1)");
  } else {
    CHECK(folder == "data '" + dir.file("images") +
                        "' is an image folder: sslkit was built without OpenCV support (configure with "
                        "-DSSLKIT_WITH_OPENCV=ON)");
  }
}
