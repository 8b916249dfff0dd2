// A program that uses an encoder exported by `sslkit export` with LibTorch alone (no sslkit):
//   use_encoder ENCODER.pt
// prints the run's metadata and the features of a batch of gray images.
#include <torch/script.h>

#include <iostream>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: use_encoder ENCODER.pt\n";
    return 2;
  }
  try {
    torch::jit::Module encoder = torch::jit::load(argv[1]);
    const int64_t channels = encoder.attr("in_channels").toInt();
    const int64_t size = encoder.attr("image_size").toInt();
    std::cout << "encoder " << encoder.attr("encoder").toStringRef() << " (" << encoder.attr("method").toStringRef()
              << "), " << channels << " channels, " << size << " px, " << encoder.attr("feature_dim").toInt()
              << "-d features\n";
    torch::NoGradGuard no_grad;
    const auto images = torch::full({4, channels, size, size}, 0.5);  // float images in [0, 1]
    const auto features = encoder.forward({images}).toTensor();
    std::cout << "features " << features.sizes() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "use_encoder: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
