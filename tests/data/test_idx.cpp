#include "errors.h"
#include "temp_dir.h"

#include "sslkit/data/dataset.h"
#include "sslkit/data/idx.h"
#include "sslkit/ssl/files.h"

#include <catch2/catch.hpp>

#include <zlib.h>

#include <fstream>

using ssl::testing::error_message;
using ssl::testing::TempDir;
namespace D = ssl::data;

namespace {

torch::Tensor sample_images(int64_t n, int64_t h, int64_t w) {
  return torch::arange(n * h * w, torch::kInt64).remainder(251).to(torch::kUInt8).view({n, h, w});
}

std::string be32(uint32_t v) { return {char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)}; }

void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  REQUIRE(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  gzclose(file);
}

}  // namespace

TEST_CASE("IDX images and labels round-trip, gzip and plain", "[data][idx]") {
  TempDir dir;
  auto images = sample_images(5, 3, 4);
  auto labels = torch::tensor({0, 9, 3, 3, 7}, torch::kInt64);
  for (const bool gzip : {false, true}) {
    const std::string images_path = dir.file(gzip ? "img.gz" : "img");
    const std::string labels_path = dir.file(gzip ? "lab.gz" : "lab");
    D::write_idx_images(images_path, images, gzip);
    D::write_idx_labels(labels_path, labels, gzip);
    auto read = D::read_idx_images(images_path);
    REQUIRE(read.sizes() == torch::IntArrayRef{5, 3, 4, 1});
    CHECK(torch::equal(read.squeeze(3), images));
    CHECK(torch::equal(D::read_idx_labels(labels_path), labels));
  }
}

TEST_CASE("A folder of MNIST-format files loads as an ImageSet", "[data][idx]") {
  TempDir dir;
  D::write_idx_images(dir.file("train-images-idx3-ubyte.gz"), sample_images(6, 2, 2), true);
  D::write_idx_labels(dir.file("train-labels-idx1-ubyte"), torch::tensor({1, 2, 3, 4, 5, 6}), false);
  auto set = D::load_split(dir.str(), D::Split::Train);
  CHECK(set.size() == 6);
  CHECK(set.channels() == 1);
  CHECK(set.labels[5].item<int64_t>() == 6);
  CHECK_THROWS_WITH(D::load_split(dir.str(), D::Split::Test),
                    Catch::Contains("has no t10k-images-idx3-ubyte (nor t10k-images-idx3-ubyte.gz)"));
}

TEST_CASE("IDX reader rejects bad files with one line naming the file", "[data][idx][errors]") {
  TempDir dir;
  const std::string path = dir.file("bad");

  write_raw(path, "");
  CHECK(error_message([&] { D::read_idx_images(path); }) == "'" + path + "': the file is empty");

  write_raw(path, be32(0x00000801) + be32(1) + "x");
  CHECK_THROWS_WITH(D::read_idx_images(path), Catch::Contains("wrong magic number 0x00000801, expected 0x00000803"));

  // Declares 10 images of 2x2 but holds 3.
  write_raw(path, be32(0x00000803) + be32(10) + be32(2) + be32(2) + std::string(12, '\1'));
  CHECK_THROWS_WITH(D::read_idx_images(path),
                    Catch::Contains("header declares 10 images (56 bytes with the header) but the file holds 28 bytes "
                                    "(truncated)"));

  // The same lie inside a gzip stream is caught from the gzip trailer (ISIZE) before allocating.
  write_gzip(path + ".gz", be32(0x00000803) + be32(1000000) + be32(28) + be32(28) + std::string(100, '\1'));
  CHECK_THROWS_WITH(D::read_idx_images(path + ".gz"),
                    Catch::Contains("header declares 1000000 images (784000016 bytes with the header) but the "
                                    "decompressed file holds 116 bytes"));

  // A gzip stream cut short: the trailer no longer matches and reading fails with the file named.
  D::write_idx_images(path + ".gz", sample_images(50, 28, 28), true);
  auto bytes = ssl::read_file(path + ".gz");
  write_raw(path + ".gz", std::string(bytes.begin(), bytes.begin() + static_cast<long>(bytes.size() / 2)));
  CHECK_THROWS_WITH(D::read_idx_images(path + ".gz"), Catch::StartsWith("'" + path + ".gz': "));

  // Labels out of range and count mismatch.
  write_raw(path, be32(0x00000801) + be32(2) + std::string("\x01\x0c", 2));
  CHECK_THROWS_WITH(D::read_idx_labels(path), Catch::Contains("label 12 at index 1 is outside [0, 10)"));

  CHECK_THROWS_WITH(D::read_idx_images(dir.file("missing")), Catch::Contains("no such file"));
}

TEST_CASE("Images and labels of different counts are refused", "[data][idx][errors]") {
  TempDir dir;
  D::write_idx_images(dir.file("train-images-idx3-ubyte"), sample_images(4, 2, 2), false);
  D::write_idx_labels(dir.file("train-labels-idx1-ubyte"), torch::tensor({1, 2, 3}), false);
  CHECK_THROWS_WITH(D::load_split(dir.str(), D::Split::Train), Catch::Contains("holds 3 labels but"));
  CHECK_THROWS_WITH(D::load_split(dir.file("nope"), D::Split::Train),
                    Catch::Contains("not found: expected fashion-mnist or a folder"));
}

TEST_CASE("Normalization statistics round-trip through their text form", "[data]") {
  D::ImageSet set;
  set.images = torch::tensor({0, 255, 0, 255}, torch::kUInt8).view({1, 2, 2, 1});
  auto norm = D::compute_normalization(set);
  CHECK(norm.mean[0] == Approx(0.5));
  CHECK(norm.stddev[0] == Approx(std::sqrt(1.0 / 3.0)));  // unbiased std of {0, 1, 0, 1}
  auto parsed = D::parse_normalization(D::to_string(norm));
  CHECK(parsed.mean[0] == Approx(norm.mean[0]));
  CHECK(parsed.stddev[0] == Approx(norm.stddev[0]));
  CHECK_THROWS_WITH(D::parse_normalization("0.5"), Catch::Contains("expected 'mean,...;std,...'"));
  // A zero or non-finite std would turn every normalized pixel into Inf or NaN (a damaged checkpoint).
  CHECK(error_message([] { D::parse_normalization("0.5;0"); }) ==
        "malformed normalization '0.5;0': channel 0 needs a finite mean and a finite std > 0");
  CHECK_THROWS_WITH(D::parse_normalization("nan;1"), Catch::Contains("channel 0 needs a finite mean"));
}
