// Writes six 4x4 gray images with labels as MNIST IDX files, reads them back with an installed sslkit::data (also
// through an HDF5 copy when sslkit was built with HDF5), rotates the first image with the rotations view maker,
// and prints counts and sums. Usage: use_data FOLDER (created; the files are written there).
#include <sslkit/data/idx.h>
#include <sslkit/data/sources/convert.h>
#include <sslkit/data/sources/source.h>
#include <sslkit/data/views/registry.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

namespace {

namespace D = ssl::data;

// Prints the image count, the sum of all pixels and the sum of the labels of `source`.
void print_sums(const char* what, const D::Source& source) {
  long long pixels = 0, labels = 0;
  for (int64_t i = 0; i < source.size(); ++i) {
    pixels += source.get(i).sum().item<int64_t>();
    labels += source.label(i);
  }
  std::printf("%s images %lld pixel_sum %lld label_sum %lld\n", what, static_cast<long long>(source.size()), pixels,
              labels);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: use_data FOLDER\n");
    return 2;
  }
  try {
    const std::filesystem::path dir = argv[1];
    const std::string idx = (dir / "idx").string();
    std::filesystem::create_directories(idx);
    // Pixel k, counted row-major over all six images, is 7k mod 256; image i has label i mod 3.
    const auto images = (torch::arange(96, torch::kInt64) * 7).remainder(256).to(torch::kUInt8).reshape({6, 4, 4});
    const auto labels = torch::arange(6, torch::kInt64).remainder(3);
    D::write_idx_images(idx + "/train-images-idx3-ubyte.gz", images, /*gzip=*/true);
    D::write_idx_labels(idx + "/train-labels-idx1-ubyte.gz", labels, /*gzip=*/true);
    const auto source = D::open_source(idx, D::Split::Train);
    print_sums("idx", *source);

    if (D::built_with_hdf5()) {
      const std::string h5 = (dir / "images.h5").string();
      D::convert_to_hdf5(idx, D::Split::Train, h5);
      print_sums("hdf5", *D::open_source(h5, D::Split::Train));
    } else {
      std::printf("hdf5 off\n");
    }

    // Mean 0 and deviation 1 leave pixels on the [0, 1] scale; a rotation (or flip) keeps their sum.
    const auto rotations = D::make_view("rotations", D::Normalization{{0.0f}, {1.0f}});
    const torch::Tensor first = source->get(0).contiguous();
    const D::ImageRef image{first.data_ptr<uint8_t>(), first.size(0), first.size(1), first.size(2)};
    std::vector<std::vector<float>> views(static_cast<size_t>(rotations->num_views()),
                                          std::vector<float>(static_cast<size_t>(first.numel())));
    std::vector<float*> outs;
    for (auto& view : views) outs.push_back(view.data());
    std::vector<int64_t> targets(static_cast<size_t>(rotations->targets_per_image()));
    D::Rng rng(/*seed=*/1, /*epoch=*/0, /*index=*/0);
    rotations->make(image, rng, outs.data(), targets.data());
    std::printf("rotations views %zu view_sums", views.size());
    for (const auto& view : views) {
      double sum = 0;
      for (const float v : view) sum += v;
      std::printf(" %.4f", sum);
    }
    std::printf(" targets");
    for (const int64_t target : targets) std::printf(" %lld", static_cast<long long>(target));
    std::printf("\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "use_data: %s\n", e.what());
    return 1;
  }
}
