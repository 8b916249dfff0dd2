#include "sslkit/trainers/methods/relpos.h"

namespace ssl::trainers {

RelPos::RelPos(Encoder encoder, RelPosOptions options)
    : PretextClassifier(encoder, encoder ? 2 * encoder->feature_dim() : 1, options.hidden_dim(),
                        data::RelativePatch(options.view(), data::Normalization()).num_classes()),
      options_(std::move(options)) {}

std::shared_ptr<const data::ViewMaker> RelPos::view_maker(const data::Normalization& norm) const {
  return std::make_shared<data::RelativePatch>(options_.view(), norm);
}

std::pair<torch::Tensor, torch::Tensor> RelPos::classifier_inputs(const data::Batch& batch) {
  TORCH_CHECK(batch.views.size() == 2 && batch.targets.defined(),
              "RelPos needs two patches (centre, neighbour) and a position per image, got ", batch.views.size(),
              " views");
  const auto features = encoder_->forward(torch::cat(batch.views));  // [2B, D]: centres, then neighbours
  const auto pair = torch::cat(features.chunk(2, 0), 1);             // [B, 2D]
  return {pair, batch.targets.reshape({-1})};
}

}  // namespace ssl::trainers
