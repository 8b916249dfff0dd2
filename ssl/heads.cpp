#include "sslkit/ssl/heads.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>

namespace ssl {

ProjectionHeadImpl::ProjectionHeadImpl(const ProjectionHeadOptions& options_) : options(options_) { reset(); }

void ProjectionHeadImpl::reset() {
  TORCH_CHECK(options.in_dim() > 0 && options.hidden_dim() > 0 && options.out_dim() > 0,
              "ProjectionHead: widths must be > 0, got in_dim=", options.in_dim(),
              " hidden_dim=", options.hidden_dim(), " out_dim=", options.out_dim());
  TORCH_CHECK(options.layers() >= 2, "ProjectionHead: layers must be >= 2, got ", options.layers());
  namespace nn = torch::nn;
  mlp_ = nn::Sequential();
  for (int64_t layer = 0; layer + 1 < options.layers(); ++layer) {
    const int64_t in = layer == 0 ? options.in_dim() : options.hidden_dim();
    mlp_->push_back(nn::Linear(nn::LinearOptions(in, options.hidden_dim()).bias(!options.batch_norm())));
    if (options.batch_norm()) mlp_->push_back(nn::BatchNorm1d(options.hidden_dim()));
    mlp_->push_back(nn::ReLU(nn::ReLUOptions(true)));
  }
  mlp_->push_back(nn::Linear(options.hidden_dim(), options.out_dim()));
  if (options.output_batch_norm()) {
    mlp_->push_back(nn::BatchNorm1d(nn::BatchNorm1dOptions(options.out_dim()).affine(false)));
  }
  register_module("mlp", mlp_);
}

void ProjectionHeadImpl::pretty_print(std::ostream& stream) const {
  stream << "ssl::ProjectionHead(" << options.in_dim();
  for (int64_t layer = 0; layer + 1 < options.layers(); ++layer) stream << " -> " << options.hidden_dim();
  stream << " -> " << options.out_dim() << (options.batch_norm() ? ", batch_norm" : "")
         << (options.output_batch_norm() ? ", output_batch_norm" : "") << ")";
}

torch::Tensor ProjectionHeadImpl::forward(const torch::Tensor& h) { return mlp_->forward(h); }

}  // namespace ssl
