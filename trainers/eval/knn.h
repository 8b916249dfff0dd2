#pragma once
#include <torch/arg.h>
#include <torch/types.h>

namespace ssl::eval {

/// Options of the weighted kNN classifier of Wu et al. 2018 (instance discrimination).
struct KnnOptions {
  /// Neighbours that vote.
  TORCH_ARG(int64_t, k) = 200;
  /// Temperature of the vote weights exp(cos / temperature).
  TORCH_ARG(double, temperature) = 0.1;
  /// Test rows scored per similarity block (bounds memory at chunk x N_train floats).
  TORCH_ARG(int64_t, chunk_size) = 500;
};

/// Predicts a label for each test row from its k most cosine-similar training rows, each voting for its
/// label with weight exp(similarity / temperature). Returns int64 [N_test].
torch::Tensor knn_predict(const torch::Tensor& train_features, const torch::Tensor& train_labels,
                          const torch::Tensor& test_features, const KnnOptions& options = {});

/// Fraction of test rows whose kNN prediction equals their label.
double knn_accuracy(const torch::Tensor& train_features, const torch::Tensor& train_labels,
                    const torch::Tensor& test_features, const torch::Tensor& test_labels,
                    const KnnOptions& options = {});

}  // namespace ssl::eval
