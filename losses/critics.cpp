#include "sslkit/losses/critics.h"

#include "sslkit/losses/detail/check.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include <ostream>

namespace ssl::losses {
namespace {

void check_options(const CriticOptions& o, const char* module) {
  TORCH_CHECK_VALUE(o.x_dim() > 0 && o.y_dim() > 0, module, ": x_dim and y_dim must be > 0, got ", o.x_dim(), " and ",
              o.y_dim());
  TORCH_CHECK(o.hidden_dim() > 0 && o.layers() >= 1 && o.embed_dim() > 0, module,
              ": hidden_dim, layers and embed_dim must be >= 1, got ", o.hidden_dim(), ", ", o.layers(), " and ",
              o.embed_dim());
}

torch::nn::Sequential make_mlp(int64_t in, int64_t hidden, int64_t layers, int64_t out) {
  torch::nn::Sequential mlp;
  for (int64_t i = 0; i < layers; ++i) {
    mlp->push_back(torch::nn::Linear(i == 0 ? in : hidden, hidden));
    mlp->push_back(torch::nn::ReLU());
  }
  mlp->push_back(torch::nn::Linear(hidden, out));
  return mlp;
}

void check_pairs(const at::Tensor& x, const at::Tensor& y, const CriticOptions& o, const char* module) {
  detail::check_embeddings(x, module, "x", 2);
  detail::check_embeddings(y, module, "y", 2);
  TORCH_CHECK(x.size(0) == y.size(0) && x.size(1) == o.x_dim() && y.size(1) == o.y_dim(), module,
              ": expected x [N, ", o.x_dim(), "] and y [N, ", o.y_dim(), "], got shapes ", x.sizes(), " and ",
              y.sizes());
}

void print(std::ostream& stream, const char* module, const CriticOptions& o) {
  stream << "ssl::losses::" << module << "(x_dim=" << o.x_dim() << ", y_dim=" << o.y_dim()
         << ", hidden_dim=" << o.hidden_dim() << ", layers=" << o.layers();
}

}  // namespace

SeparableCriticImpl::SeparableCriticImpl(CriticOptions options_) : options(options_) { reset(); }

void SeparableCriticImpl::reset() {
  check_options(options, "SeparableCritic");
  g = register_module("g", make_mlp(options.x_dim(), options.hidden_dim(), options.layers(), options.embed_dim()));
  h = register_module("h", make_mlp(options.y_dim(), options.hidden_dim(), options.layers(), options.embed_dim()));
}

void SeparableCriticImpl::pretty_print(std::ostream& stream) const {
  print(stream, "SeparableCritic", options);
  stream << ", embed_dim=" << options.embed_dim() << ")";
}

at::Tensor SeparableCriticImpl::forward(const at::Tensor& x, const at::Tensor& y) {
  check_pairs(x, y, options, "SeparableCritic");
  return at::matmul(g->forward(x), h->forward(y).t());
}

ConcatCriticImpl::ConcatCriticImpl(CriticOptions options_) : options(options_) { reset(); }

void ConcatCriticImpl::reset() {
  check_options(options, "ConcatCritic");
  mlp = register_module("mlp", make_mlp(options.x_dim() + options.y_dim(), options.hidden_dim(), options.layers(), 1));
}

void ConcatCriticImpl::pretty_print(std::ostream& stream) const {
  print(stream, "ConcatCritic", options);
  stream << ")";
}

at::Tensor ConcatCriticImpl::forward(const at::Tensor& x, const at::Tensor& y) {
  check_pairs(x, y, options, "ConcatCritic");
  const int64_t n = x.size(0);
  // pairs[i][j] = [x_i, y_j]
  const auto pairs = at::cat({x.unsqueeze(1).expand({n, n, x.size(1)}), y.unsqueeze(0).expand({n, n, y.size(1)})}, 2);
  return mlp->forward(pairs.reshape({n * n, -1})).reshape({n, n});
}

}  // namespace ssl::losses
