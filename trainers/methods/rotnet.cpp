#include "sslkit/trainers/methods/rotnet.h"

namespace ssl::trainers {

RotNet::RotNet(Encoder encoder, RotNetOptions options)
    : PretextClassifier(encoder, encoder ? encoder->feature_dim() : 1, options.hidden_dim(),
                        data::Rotations(options.view(), data::Normalization()).num_classes()),
      options_(std::move(options)) {}

std::shared_ptr<const data::ViewMaker> RotNet::view_maker(const data::Normalization& norm) const {
  return std::make_shared<data::Rotations>(options_.view(), norm);
}

std::pair<torch::Tensor, torch::Tensor> RotNet::classifier_inputs(const data::Batch& batch) {
  TORCH_CHECK(!batch.views.empty() && batch.targets.defined() &&
                  batch.targets.numel() == static_cast<int64_t>(batch.views.size()) * batch.views[0].size(0),
              "RotNet needs rotated views with one target each, got ", batch.views.size(), " views and targets ",
              batch.targets.sizes());
  // targets [B, T]: view t of image b has target (b, t); the views concatenated are ordered (t, b).
  const auto images = torch::cat(batch.views);
  const auto targets = batch.targets.reshape({batch.views[0].size(0), -1}).t().reshape({-1});
  return {encoder_->forward(images), targets};
}

}  // namespace ssl::trainers
