#include "sslkit/data/idx.h"
#include "sslkit/data/loader.h"
#include "sslkit/data/sources/convert.h"
#include "sslkit/data/sources/feature_file.h"
#include "sslkit/data/sources/hdf5.h"
#include "sslkit/data/views/two_views.h"

#include "errors.h"
#include "random_images.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <hdf5.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <utility>

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
        "'" + path + "': dataset /labels has label -1 at index 1, expected 0..65535 (a file without /classes has at "
        "most 65536 classes)");
  // A stray label of a million would size a 1000001-way classifier (1 GB of logits for a probe).
  const std::vector<int64_t> huge{0, 1000000};
  {
    RawFile file(path);
    add_dataset(file.id, "images", H5T_NATIVE_UINT8, {2, 3, 3, 1}, pixels.data());
    add_dataset(file.id, "labels", H5T_NATIVE_INT64, {2}, huge.data());
  }
  CHECK(error_message([&] { D::Hdf5Source s(path); }) ==
        "'" + path + "': dataset /labels has label 1000000 at index 1, expected 0..65535 (a file without /classes "
        "has at most 65536 classes)");

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

TEST_CASE("HDF5 masks round trip into ImageSet::masks, and convert writes threshold masks", "[data][hdf5][masks]") {
  TempDir dir;
  auto set = random_set(9, 4, 5, 3, 4);
  set.masks = torch::randint(0, 2, {9, 4, 5}, torch::kInt64);
  D::write_hdf5(dir.file("masks.h5"), D::MemorySource(set), D::Hdf5WriteOptions().chunk_images(4));
  const auto source = D::open_source(dir.file("masks.h5"), D::Split::Train);
  REQUIRE(source->has_masks());
  const auto read = D::materialize(*source);
  CHECK(torch::equal(read.images, set.images));
  CHECK(read.masks.scalar_type() == torch::kInt64);
  CHECK(torch::equal(read.masks, set.masks));
  // Through head(): the first 3 images' masks.
  CHECK(torch::equal(D::materialize(*D::head(source, 3)).masks, set.masks.narrow(0, 0, 3)));

  // A file without /masks has none; convert --masks threshold:T writes max channel > T.
  D::write_hdf5(dir.file("plain.h5"), D::MemorySource(random_set(9, 4, 5, 3, 4)));
  CHECK_FALSE(D::open_source(dir.file("plain.h5"), D::Split::Train)->has_masks());
  const auto converted = D::convert_to_hdf5(dir.file("plain.h5"), D::Split::Train, dir.file("thresholded.h5"),
                                            D::ConvertOptions().mask_threshold(128));
  CHECK(converted.masks);
  const auto thresholded = D::materialize(*D::open_source(dir.file("thresholded.h5"), D::Split::Train));
  // Hand check of one pixel: the largest of its 3 channels decides.
  const auto pixel = set.images[2][1][3];
  const int64_t largest = pixel.max().item<int64_t>();
  CHECK(thresholded.masks[2][1][3].item<int64_t>() == (largest > 128 ? 1 : 0));
  CHECK(torch::equal(thresholded.masks, std::get<0>(set.images.max(3)).gt(128).to(torch::kInt64)));
}

TEST_CASE("HDF5 masks that break the schema are refused in one line", "[data][hdf5][masks][errors]") {
  TempDir dir;
  const std::string path = dir.file("bad.h5");
  std::vector<uint8_t> pixels(2 * 3 * 3, 0);
  auto write = [&](const std::vector<hsize_t>& mask_dims, hid_t type, const void* masks) {
    RawFile file(path);
    add_dataset(file.id, "images", H5T_NATIVE_UINT8, {2, 3, 3, 1}, pixels.data());
    add_dataset(file.id, "masks", type, mask_dims, masks);
  };
  std::vector<uint8_t> masks(2 * 3 * 3, 1);
  write({2, 3, 2}, H5T_NATIVE_UINT8, masks.data());
  CHECK(error_message([&] { D::Hdf5Source source(path); }) ==
        "'" + path + "': dataset /masks has shape [2,3,2], expected [2,3,3] (the [N,H,W] of /images)");
  std::vector<float> float_masks(2 * 3 * 3, 1.0f);
  write({2, 3, 3}, H5T_NATIVE_FLOAT, float_masks.data());
  CHECK(error_message([&] { D::Hdf5Source source(path); }) == "'" + path + "': dataset /masks has type float32, expected uint8");
  masks[9 + 4] = 7;  // image 1, pixel (1, 1)
  write({2, 3, 3}, H5T_NATIVE_UINT8, masks.data());
  D::Hdf5Source source(path);
  CHECK(error_message([&] { D::materialize(source); }) ==
        "'" + path + "': dataset /masks has value 7 in image 1, expected 0 or 1");
}

TEST_CASE("Feature files round trip rows, labels and attributes; a discarded writer leaves nothing",
          "[data][hdf5][features]") {
  TempDir dir;
  const std::string path = dir.file("f.h5");
  torch::manual_seed(5);
  const auto rows = torch::randn({300, 7});
  const auto labels = torch::randint(0, 4, {300}, torch::kInt64);
  D::FeatureAttributes attributes;
  attributes.text = {{"encoder", "convnet-s"}, {"normalization", "0.28;0.35"}};
  attributes.integers = {{"feature_dim", 7}, {"channels", 1}};
  {
    D::FeatureWriter writer(path, 7, true, attributes);
    writer.append(rows.narrow(0, 0, 256), labels.narrow(0, 0, 256));
    writer.append(rows.narrow(0, 256, 44).to(torch::kDouble), labels.narrow(0, 256, 44));
    CHECK(writer.size() == 300);
    CHECK_FALSE(std::filesystem::exists(path));  // still under its temporary name
    writer.finish();
  }
  const auto file = D::read_feature_file(path, true);
  CHECK(torch::equal(file.features, rows));
  CHECK(torch::equal(file.labels, labels));
  CHECK(file.attributes.text == attributes.text);
  CHECK(file.attributes.integers == attributes.integers);

  const std::string partial = dir.file("partial.h5");
  {
    D::FeatureWriter writer(partial, 7, false, {});
    writer.append(rows.narrow(0, 0, 10));
  }
  CHECK_FALSE(std::filesystem::exists(partial));
  CHECK(std::distance(std::filesystem::directory_iterator(dir.str()), std::filesystem::directory_iterator()) == 1);
  CHECK(error_message([&] { D::FeatureWriter(dir.file("w.h5"), 7, false, {}).append(rows.narrow(1, 0, 5)); }) ==
        "cannot write '" + dir.file("w.h5") + "': rows of shape [300, 5], expected [B, 7]");
}

TEST_CASE("Feature files that break the schema are refused in one line", "[data][hdf5][features][errors]") {
  TempDir dir;
  const std::string path = dir.file("bad.h5");
  std::vector<double> doubles(6, 0.5);
  std::vector<float> floats(6, 0.5f);
  std::vector<int64_t> labels{0, 1, 2};
  {
    RawFile file(path);
    add_dataset(file.id, "features", H5T_NATIVE_DOUBLE, {3, 2}, doubles.data());
  }
  CHECK(error_message([&] { D::read_feature_file(path, false); }) ==
        "'" + path + "': dataset /features has type float64, expected float32");
  {
    RawFile file(path);
    add_dataset(file.id, "features", H5T_NATIVE_FLOAT, {6}, floats.data());
  }
  CHECK(error_message([&] { D::read_feature_file(path, false); }) ==
        "'" + path + "': dataset /features has rank 1 (shape [6]), expected 2 ([N,D])");
  {
    RawFile file(path);
    add_dataset(file.id, "features", H5T_NATIVE_FLOAT, {3, 2}, floats.data());
  }
  CHECK(error_message([&] { D::read_feature_file(path, true); }) ==
        "'" + path + "': no dataset /labels (the probe needs labels: expected int64 [N])");
  CHECK(D::read_feature_file(path, false).features.sizes() == torch::IntArrayRef({3, 2}));
  {
    RawFile file(path);
    add_dataset(file.id, "features", H5T_NATIVE_FLOAT, {3, 2}, floats.data());
    add_dataset(file.id, "labels", H5T_NATIVE_FLOAT, {3}, floats.data());
  }
  CHECK(error_message([&] { D::read_feature_file(path, true); }) ==
        "'" + path + "': dataset /labels has type float32, expected int64");
  {
    RawFile file(path);
    add_dataset(file.id, "features", H5T_NATIVE_FLOAT, {3, 2}, floats.data());
    add_dataset(file.id, "labels", H5T_NATIVE_INT64, {2}, labels.data());
  }
  CHECK(error_message([&] { D::read_feature_file(path, true); }) ==
        "'" + path + "': dataset /labels holds 2 labels but /features holds 3 rows");
  {
    RawFile file(dir.file("other.h5"));
    add_dataset(file.id, "images", H5T_NATIVE_FLOAT, {3, 2}, floats.data());
  }
  CHECK(error_message([&] { D::read_feature_file(dir.file("other.h5"), true); }) ==
        "'" + dir.file("other.h5") + "': no dataset /features (expected float32 [N,D])");
  {
    RawFile narrow_file(path);
    add_dataset(narrow_file.id, "features", H5T_NATIVE_FLOAT, {3, 2}, floats.data());
    RawFile wide_file(dir.file("wide.h5"));
    add_dataset(wide_file.id, "features", H5T_NATIVE_FLOAT, {2, 3}, floats.data());
  }
  const auto narrow = D::read_feature_file(path, false), wide = D::read_feature_file(dir.file("wide.h5"), false);
  CHECK(error_message([&] { D::check_same_width(narrow, wide); }) ==
        "'" + dir.file("wide.h5") + "': dataset /features has 3 columns but '" + path +
            "' has 2 (train and test features must come from the same encoder)");
}

TEST_CASE("Feature files holding NaN or Inf are refused naming the row", "[data][hdf5][features][errors]") {
  TempDir dir;
  const std::string path = dir.file("nan.h5");
  std::vector<float> rows(4 * 3, 0.5f);
  std::vector<int64_t> labels{0, 1, 0, 1};
  rows[2 * 3 + 1] = std::nanf("");
  {
    RawFile file(path);
    add_dataset(file.id, "features", H5T_NATIVE_FLOAT, {4, 3}, rows.data());
    add_dataset(file.id, "labels", H5T_NATIVE_INT64, {4}, labels.data());
  }
  const auto refusal = [](const std::string& file) {
    try {
      D::read_feature_file(file, true);
    } catch (const c10::ValueError& e) {  // a value error: exit code 2 in the CLI
      return std::string(e.what_without_backtrace());
    }
    return std::string("<no value error>");
  };
  CHECK(refusal(path) == "'" + path + "': dataset /features has nan in row 2 (column 1), expected finite values");
  rows[2 * 3 + 1] = 0.5f;
  rows[3 * 3 + 0] = -std::numeric_limits<float>::infinity();
  {
    RawFile file(path);
    add_dataset(file.id, "features", H5T_NATIVE_FLOAT, {4, 3}, rows.data());
    add_dataset(file.id, "labels", H5T_NATIVE_INT64, {4}, labels.data());
  }
  CHECK(refusal(path) == "'" + path + "': dataset /features has -inf in row 3 (column 0), expected finite values");
}

TEST_CASE("Images stored as floats, NaN or Inf among them, are refused before a pixel is read", "[data][hdf5][errors]") {
  // /images is uint8, which holds no NaN or Inf: a float data set is refused by its type, whatever it holds.
  TempDir dir;
  const std::string path = dir.file("float.h5");
  std::vector<float> pixels(2 * 2 * 2, 0.5f);
  pixels[5] = std::nanf("");
  pixels[6] = std::numeric_limits<float>::infinity();
  {
    RawFile file(path);
    add_dataset(file.id, "images", H5T_NATIVE_FLOAT, {2, 2, 2, 1}, pixels.data());
  }
  CHECK(error_message([&] { D::Hdf5Source s(path); }) == "'" + path + "': dataset /images has type float32, expected uint8");
}

namespace {

// Runs `write` in a child process that may write 64 KiB per file (RLIMIT_FSIZE, SIGXFSZ ignored: writes past it
// fail with EFBIG, as on a full disk); returns the child's wait status and the error message it caught.
std::pair<int, std::string> write_on_full_disk(const std::function<void()>& write) {
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  std::fflush(nullptr);  // the child's exit() flushes its copy of the buffers: nothing may be printed twice
  const pid_t child = fork();
  if (child == 0) {
    close(pipe_fds[0]);
    std::signal(SIGXFSZ, SIG_IGN);
    const struct rlimit limit {64 << 10, 64 << 10};
    setrlimit(RLIMIT_FSIZE, &limit);
    const std::string message = error_message(write);
    const ssize_t n = ::write(pipe_fds[1], message.data(), message.size());
    exit(n == static_cast<ssize_t>(message.size()) ? 0 : 3);  // exit(), not _exit(): libraries' teardown runs
  }
  close(pipe_fds[1]);
  std::string message;
  char buffer[512];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) > 0;) message.append(buffer, static_cast<size_t>(n));
  close(pipe_fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  return {status, message};
}

}  // namespace

TEST_CASE("HDF5 writers on a full disk throw naming the file, leave nothing and exit cleanly", "[data][hdf5][errors]") {
  TempDir dir;
  // 256 images of 28x28 (196 KiB) fit HDF5's 1 MiB chunk cache: they reach the disk when the file is flushed.
  const auto set = random_set(256, 28, 28, 1, 10);
  const std::string images = dir.file("images.h5");
  const auto [image_status, image_error] = write_on_full_disk([&] { D::write_hdf5(images, D::MemorySource(set)); });
  CHECK(WIFEXITED(image_status));
  CHECK(image_error.rfind("cannot write '" + images + "': flushing '" + images + ".tmp.", 0) == 0);
  CHECK(image_error.find("' failed (File too large)") != std::string::npos);
  const std::string features = dir.file("features.h5");
  const auto [feature_status, feature_error] = write_on_full_disk([&] {
    D::FeatureWriter writer(features, 256, true, {});
    writer.append(torch::ones({256, 256}), torch::zeros({256}, torch::kInt64));
    writer.finish();
  });
  CHECK(WIFEXITED(feature_status));
  CHECK(feature_error.rfind("cannot write '" + features + "': flushing '" + features + ".tmp.", 0) == 0);
  CHECK(feature_error.find("' failed (File too large)") != std::string::npos);
  CHECK(std::filesystem::is_empty(dir.str()));
}
