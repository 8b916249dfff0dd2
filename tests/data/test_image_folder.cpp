#include "sslkit/data/sources/image_folder.h"

#include "errors.h"
#include "temp_dir.h"

#include <catch2/catch.hpp>
#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <fstream>

namespace D = ssl::data;
using ssl::testing::error_message;
using ssl::testing::TempDir;

namespace {

// A rows x cols BGR image whose pixel (r, c) is (b, r, c) + offset, written as `path` (format from the extension).
cv::Mat write_image(const std::string& path, int rows, int cols, uchar offset) {
  cv::Mat image(rows, cols, CV_8UC3);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) image.at<cv::Vec3b>(r, c) = cv::Vec3b(offset, static_cast<uchar>(r + offset), static_cast<uchar>(c + offset));
  }
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  REQUIRE(cv::imwrite(path, image));
  return image;
}

void write_text(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// An image cut in half: its signature is right, its data is not (format from the extension).
void write_truncated(const std::string& path) {
  write_image(path, 16, 16, 9);
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  write_text(path, bytes.substr(0, bytes.size() / 2));
}

}  // namespace

TEST_CASE("An image folder with class subfolders is labelled by sorted class name", "[data][image_folder]") {
  TempDir dir;
  write_image(dir.file("zebra/b.png"), 4, 5, 10);
  write_image(dir.file("zebra/a.bmp"), 4, 5, 20);
  write_image(dir.file("ant/x.png"), 4, 5, 30);
  write_text(dir.file("ant/.hidden"), "ignored");
  D::ImageFolderSource source(dir.str());
  CHECK(source.classes() == std::vector<std::string>{"ant", "zebra"});
  REQUIRE(source.size() == 3);
  CHECK(source.height() == 4);
  CHECK(source.width() == 5);
  CHECK(source.channels() == 3);
  CHECK(source.labelled());
  CHECK(source.label(0) == 0);  // ant/x.png
  CHECK(source.label(1) == 1);  // zebra/a.bmp
  CHECK(source.label(2) == 1);  // zebra/b.png
  // Stored RGB: pixel (r, c) of zebra/a.bmp is (R, G, B) = (c + 20, r + 20, 20). BMP and PNG are lossless.
  const auto image = source.get(1);
  CHECK(image[2][3][0].item<int>() == 23);
  CHECK(image[2][3][1].item<int>() == 22);
  CHECK(image[2][3][2].item<int>() == 20);
  CHECK(source.skipped().empty());
}

TEST_CASE("A flat image folder is unlabelled; size and channels follow the options", "[data][image_folder]") {
  TempDir dir;
  write_image(dir.file("1.png"), 8, 8, 0);
  write_image(dir.file("2.png"), 8, 12, 5);
  D::ImageFolderSource gray(dir.str(), D::SourceOptions().image_size(8).channels(1));
  CHECK_FALSE(gray.labelled());
  CHECK(gray.size() == 2);
  CHECK(gray.get(1).sizes() == torch::IntArrayRef{8, 8, 1});

  // Crop of the 8x12 image to 8x8 needs no scaling: its columns 2..9. Red is column + 5 (see write_image).
  D::ImageFolderSource cropped(dir.str(), D::SourceOptions().image_size(8).channels(3).fit(D::Fit::Crop));
  const auto image = cropped.get(1);
  REQUIRE(image.sizes() == torch::IntArrayRef{8, 8, 3});
  for (int64_t c = 0; c < 8; ++c) CHECK(image[3][c][0].item<int>() == c + 2 + 5);

  // Size 0 keeps the first image's size: the second is resized to 8x8; channels 0 takes the first's (color).
  D::ImageFolderSource kept(dir.str());
  CHECK(kept.height() == 8);
  CHECK(kept.width() == 8);
  CHECK(kept.channels() == 3);
}

TEST_CASE("Unreadable files are skipped and counted, or fail in one line", "[data][image_folder][errors]") {
  TempDir dir;
  write_image(dir.file("cat/1.png"), 6, 6, 1);
  write_image(dir.file("cat/2.jpg"), 6, 6, 2);
  write_truncated(dir.file("cat/3.png"));
  write_truncated(dir.file("cat/5.jpg"));
  write_text(dir.file("dog/notes.txt"), "not an image\n");
  write_image(dir.file("dog/4.png"), 6, 6, 4);
  D::ImageFolderSource source(dir.str());
  CHECK(source.size() == 3);
  CHECK(source.skipped() ==
        std::vector<std::string>{dir.file("cat/3.png"), dir.file("cat/5.jpg"), dir.file("dog/notes.txt")});
  CHECK(source.label(2) == 1);

  const auto fail = D::SourceOptions().on_bad_image(D::OnBadImage::Fail);
  CHECK(error_message([&] { D::ImageFolderSource s(dir.str(), fail); }) ==
        "'" + dir.file("cat/3.png") +
            "' is not a readable image (corrupt, or not png/jpg/bmp/...); the skip policy for bad images leaves such files out");
}

TEST_CASE("Image folder layouts that cannot be read are refused in one line", "[data][image_folder][errors]") {
  TempDir dir;
  CHECK(error_message([&] { D::list_image_folder(dir.file("none")); }) == "image folder '" + dir.file("none") + "' not found");
  CHECK(error_message([&] { D::list_image_folder(dir.str()); }) == "image folder '" + dir.str() + "' holds no files");
  write_image(dir.file("cls/a.png"), 2, 2, 0);
  write_text(dir.file("readme.txt"), "x");
  CHECK(error_message([&] { D::list_image_folder(dir.str()); }) ==
        "image folder '" + dir.str() +
            "' holds both class folders (e.g. 'cls') and files (e.g. 'readme.txt'): expected root/<class>/<file> or a "
            "flat folder of images");
  std::filesystem::remove(dir.file("readme.txt"));
  write_text(dir.file("cls/b.txt"), "x");
  std::filesystem::remove(dir.file("cls/a.png"));
  CHECK(error_message([&] { D::ImageFolderSource s(dir.str()); }) ==
        "image folder '" + dir.str() + "' holds no readable images (unreadable files: 1)");
}

TEST_CASE("A class folder whose name is not UTF-8 is refused, its bad bytes escaped", "[data][image_folder][errors]") {
  // /classes holds UTF-8 strings: "café" in Latin-1 ("caf\xe9") would be stored undecodable.
  TempDir dir;
  write_image(dir.file("caf\xe9/a.png"), 2, 2, 0);
  write_image(dir.file("caf\xc3\xa9/a.png"), 2, 2, 0);
  CHECK(error_message([&] { D::list_image_folder(dir.str()); }) ==
        "image folder '" + dir.str() + "': class folder 'caf\\xe9' is not valid UTF-8 (class names are stored as UTF-8): "
        "rename it");
  std::filesystem::remove_all(dir.file("caf\xe9"));
  CHECK(D::list_image_folder(dir.str()).classes == std::vector<std::string>{"caf\xc3\xa9"});
}

TEST_CASE("A test split lacking a class folder keeps the training split's labels; an extra class is refused",
          "[data][image_folder][errors]") {
  TempDir dir;
  for (const char* name : {"train/ant/a.png", "train/bee/b.png", "train/cat/c.png", "test/ant/a.png",
                           "test/cat/c.png"}) {
    write_image(dir.file(name), 4, 4, 1);
  }
  const auto train = D::open_source(dir.str(), D::Split::Train);
  const auto test = D::open_source(dir.str(), D::Split::Test);
  CHECK(test->label(1) == 1);  // test/ alone numbers cat 1
  const auto aligned = D::align_classes(test, *train);
  CHECK(aligned->classes() == std::vector<std::string>{"ant", "bee", "cat"});
  CHECK(aligned->label(0) == 0);
  CHECK(aligned->label(1) == 2);  // cat is class 2 of the training split
  CHECK(D::align_classes(train, *train) == train);

  write_image(dir.file("test/dog/d.png"), 4, 4, 1);
  const auto extra = D::open_source(dir.str(), D::Split::Test);
  CHECK(error_message([&] { D::align_classes(extra, *train); }) ==
        "data '" + dir.file("test") + "' has class 'dog', which the training data '" + dir.file("train") +
            "' lacks (its 3 classes: ant, bee, cat)");
}
