#include "sslkit/data/dataset.h"

#include "sslkit/data/idx.h"
#include "sslkit/data/sources/source.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace ssl::data {
namespace {

std::string find_idx_file(const std::string& dir, const std::string& base) {
  for (const std::string& candidate : {base, base + ".gz"}) {
    const std::string path = (std::filesystem::path(dir) / candidate).string();
    if (std::filesystem::exists(path)) return path;
  }
  TORCH_CHECK(false, "data folder '", dir, "' has no ", base, " (nor ", base, ".gz)");
}

}  // namespace

std::string fashion_mnist_dir() {
  const char* env = std::getenv("SSLKIT_FASHION_MNIST_DIR");
  return env && *env ? env : "/usr/share/datasets/fashion-mnist";
}

ImageSet load_split(const std::string& spec, Split split) { return materialize(*open_source(spec, split)); }

ImageSet load_mnist_folder(const std::string& dir, Split split) {
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const std::string images_path = find_idx_file(dir, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_idx_file(dir, prefix + "-labels-idx1-ubyte");
  ImageSet set;
  set.images = read_idx_images(images_path);
  set.labels = read_idx_labels(labels_path);
  set.origin = images_path;
  TORCH_CHECK(set.images.size(0) == set.labels.size(0), "'", labels_path, "' holds ", set.labels.size(0),
              " labels but '", images_path, "' holds ", set.images.size(0), " images");
  return set;
}

ImageSet head(const ImageSet& set, int64_t count) {
  if (count <= 0 || count >= set.size()) return set;
  ImageSet out = set;
  out.images = set.images.narrow(0, 0, count).contiguous();
  if (set.labelled()) out.labels = set.labels.narrow(0, 0, count).contiguous();
  if (set.masks.defined()) out.masks = set.masks.narrow(0, 0, count).contiguous();
  return out;
}

Normalization compute_normalization(const ImageSet& set) {
  auto pixels = set.images.reshape({-1, set.channels()}).to(torch::kDouble).div_(255.0);
  auto mean = pixels.mean(0);
  auto stddev = pixels.std(0).clamp_min(1e-6);
  Normalization norm;
  for (int64_t c = 0; c < set.channels(); ++c) {
    norm.mean.push_back(static_cast<float>(mean[c].item<double>()));
    norm.stddev.push_back(static_cast<float>(stddev[c].item<double>()));
  }
  return norm;
}

torch::Tensor to_float_images(const torch::Tensor& images_uint8, const Normalization& norm) {
  const int64_t channels = images_uint8.size(3);
  TORCH_CHECK(static_cast<int64_t>(norm.mean.size()) == channels, "normalization has ", norm.mean.size(),
              " channels, the images have ", channels);
  auto mean = torch::tensor(norm.mean).view({1, channels, 1, 1});
  auto stddev = torch::tensor(norm.stddev).view({1, channels, 1, 1});
  auto x = images_uint8.permute({0, 3, 1, 2}).to(torch::kFloat).div_(255.0);
  return x.sub_(mean).div_(stddev).contiguous();
}

std::string to_string(const Normalization& norm) {
  std::ostringstream out;
  out.precision(9);
  for (size_t c = 0; c < norm.mean.size(); ++c) out << (c ? "," : "") << norm.mean[c];
  out << ";";
  for (size_t c = 0; c < norm.stddev.size(); ++c) out << (c ? "," : "") << norm.stddev[c];
  return out.str();
}

Normalization parse_normalization(const std::string& text) {
  Normalization norm;
  const auto split_at = text.find(';');
  TORCH_CHECK(split_at != std::string::npos, "malformed normalization '", text, "': expected 'mean,...;std,...'");
  auto parse_list = [&](const std::string& list, std::vector<float>& out) {
    std::stringstream in(list);
    std::string item;
    while (std::getline(in, item, ',')) {
      try {
        out.push_back(std::stof(item));
      } catch (const std::exception&) {
        TORCH_CHECK(false, "malformed normalization '", text, "': '", item, "' is not a number");
      }
    }
  };
  parse_list(text.substr(0, split_at), norm.mean);
  parse_list(text.substr(split_at + 1), norm.stddev);
  TORCH_CHECK(!norm.mean.empty() && norm.mean.size() == norm.stddev.size(), "malformed normalization '", text,
              "': mean and std need the same number of channels");
  for (size_t c = 0; c < norm.mean.size(); ++c) {
    TORCH_CHECK(std::isfinite(norm.mean[c]) && std::isfinite(norm.stddev[c]) && norm.stddev[c] > 0,
                "malformed normalization '", text, "': channel ", c, " needs a finite mean and a finite std > 0");
  }
  return norm;
}

}  // namespace ssl::data
