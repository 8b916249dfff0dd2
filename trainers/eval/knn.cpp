#include "sslkit/trainers/eval/knn.h"

namespace ssl::eval {

torch::Tensor knn_predict(const torch::Tensor& train_features, const torch::Tensor& train_labels,
                          const torch::Tensor& test_features, const KnnOptions& options) {
  TORCH_CHECK(train_features.dim() == 2 && test_features.dim() == 2 &&
                  train_features.size(1) == test_features.size(1),
              "kNN: features must be [N, D] with the same D, got train ", train_features.sizes(), " and test ",
              test_features.sizes());
  TORCH_CHECK(train_labels.dim() == 1 && train_labels.size(0) == train_features.size(0), "kNN: ",
              train_features.size(0), " training rows but labels of shape ", train_labels.sizes());
  TORCH_CHECK(options.k() > 0, "kNN: k must be > 0, got ", options.k());
  TORCH_CHECK(options.temperature() > 0, "kNN: temperature must be > 0, got ", options.temperature());
  torch::NoGradGuard no_grad;
  const int64_t k = std::min(options.k(), train_features.size(0));
  const int64_t classes = train_labels.max().item<int64_t>() + 1;
  auto train = torch::nn::functional::normalize(train_features.to(torch::kFloat),
                                                torch::nn::functional::NormalizeFuncOptions().dim(1));
  auto labels = train_labels.to(torch::kInt64).to(train.device());
  std::vector<torch::Tensor> predictions;
  for (int64_t first = 0; first < test_features.size(0); first += options.chunk_size()) {
    const int64_t count = std::min(options.chunk_size(), test_features.size(0) - first);
    auto test = torch::nn::functional::normalize(test_features.narrow(0, first, count).to(torch::kFloat).to(train.device()),
                                                 torch::nn::functional::NormalizeFuncOptions().dim(1));
    auto [similarity, index] = test.matmul(train.t()).topk(k, 1);
    auto weights = (similarity / options.temperature()).exp();
    auto votes = torch::zeros({count, classes}, weights.options()).scatter_add_(1, labels.index({index}), weights);
    predictions.push_back(votes.argmax(1).cpu());
  }
  return torch::cat(predictions);
}

double knn_accuracy(const torch::Tensor& train_features, const torch::Tensor& train_labels,
                    const torch::Tensor& test_features, const torch::Tensor& test_labels,
                    const KnnOptions& options) {
  auto predicted = knn_predict(train_features, train_labels, test_features, options);
  TORCH_CHECK(test_labels.size(0) == predicted.size(0), "kNN: ", predicted.size(0),
              " test rows but labels of shape ", test_labels.sizes());
  return predicted.eq(test_labels.to(torch::kInt64)).to(torch::kDouble).mean().item<double>();
}

}  // namespace ssl::eval
