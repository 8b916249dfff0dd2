#include "sslkit/trainers/methods/jigsaw.h"

namespace ssl::trainers {

JigsawMethod::JigsawMethod(Encoder encoder, JigsawMethodOptions options)
    : PretextClassifier(encoder, encoder ? 9 * encoder->feature_dim() : 1, options.hidden_dim(),
                        data::Jigsaw(options.view(), data::Normalization()).num_classes()),
      options_(std::move(options)) {}

std::shared_ptr<const data::ViewMaker> JigsawMethod::view_maker(const data::Normalization& norm) const {
  return std::make_shared<data::Jigsaw>(options_.view(), norm);
}

std::pair<torch::Tensor, torch::Tensor> JigsawMethod::classifier_inputs(const data::Batch& batch) {
  TORCH_CHECK(batch.views.size() == 1, "Jigsaw needs one view of tiles per image, got ", batch.views.size());
  TORCH_CHECK(batch.views[0].dim() == 5 && batch.views[0].size(1) == 9 && batch.targets.defined(),
              "Jigsaw needs tiles [B, 9, C, h, w] and a permutation index per image, got tiles ",
              batch.views[0].sizes());
  return {encode_patches(*encoder_, batch.views[0]).flatten(1), batch.targets.reshape({-1})};
}

}  // namespace ssl::trainers
