#include "sslkit/trainers/methods/registry.h"

#include "sslkit/ssl/registry.h"

namespace ssl::trainers {
namespace {

std::unique_ptr<Method> make_moco(const MethodContext& c) {
  TORCH_CHECK(c.another_encoder, "moco needs a way to build its key encoder");
  return std::make_unique<MoCo>(c.encoder, c.another_encoder(), c.options.moco());
}

std::unique_ptr<Method> make_byol(const MethodContext& c) {
  TORCH_CHECK(c.another_encoder, "byol needs a way to build its target encoder");
  return std::make_unique<BYOL>(c.encoder, c.another_encoder(), c.options.byol());
}

std::unique_ptr<Method> make_dino(const MethodContext& c) {
  TORCH_CHECK(c.another_encoder, "dino needs a way to build its teacher encoder");
  return std::make_unique<DINOMethod>(c.encoder, c.another_encoder(), c.options.dino());
}

std::unique_ptr<Method> make_mocov3(const MethodContext& c) {
  TORCH_CHECK(c.another_encoder, "mocov3 needs a way to build its momentum encoder");
  return std::make_unique<MoCoV3>(c.encoder, c.another_encoder(), c.options.mocov3());
}

const Registry<MethodFactory>& registry() {
  static const Registry<MethodFactory> instance(
      "method",
      {{"simclr", "two augmented views, projection head, NT-Xent over the batch (Chen et al. 2020)",
        [](const MethodContext& c) -> std::unique_ptr<Method> {
          return std::make_unique<SimCLR>(c.encoder, c.options.simclr());
        }},
       {"moco", "momentum key encoder and a queue of negative keys, InfoNCE (MoCo v2)", make_moco},
       {"instdisc", "instance discrimination against a memory bank, NCE (Wu et al. 2018)",
        [](const MethodContext& c) -> std::unique_ptr<Method> {
          return std::make_unique<InstDisc>(c.encoder, c.num_images, c.options.instdisc());
        }},
       {"rotnet", "predict the rotation 0/90/180/270 of each image (Gidaris et al. 2018)",
        [](const MethodContext& c) -> std::unique_ptr<Method> {
          return std::make_unique<RotNet>(c.encoder, c.options.rotnet());
        }},
       {"jigsaw", "predict the permutation of 3x3 shuffled tiles (Noroozi and Favaro 2016)",
        [](const MethodContext& c) -> std::unique_ptr<Method> {
          return std::make_unique<JigsawMethod>(c.encoder, c.options.jigsaw());
        }},
       {"relpos", "predict a neighbour patch's position relative to the centre (Doersch et al. 2015)",
        [](const MethodContext& c) -> std::unique_ptr<Method> {
          return std::make_unique<RelPos>(c.encoder, c.options.relpos());
        }},
       {"cpc", "contrastive predictive coding down the columns of a patch grid (Henaff et al. 2019)",
        [](const MethodContext& c) -> std::unique_ptr<Method> {
          return std::make_unique<CPCMethod>(c.encoder, c.options.cpc());
        }},
       {"byol", "online network predicts an EMA target network's projection of the other view (Grill et al. 2020)",
        make_byol},
       {"simsiam", "predictor against the stop-gradient projection of the other view, no EMA (Chen and He 2021)",
        [](const MethodContext& c) -> std::unique_ptr<Method> {
          return std::make_unique<SimSiam>(c.encoder, c.options.simsiam());
        }},
       {"barlow", "Barlow Twins: cross-correlation of the two views' embeddings to the identity (Zbontar et al. 2021)",
        [](const MethodContext& c) -> std::unique_ptr<Method> {
          return std::make_unique<BarlowTwinsMethod>(c.encoder, c.options.barlow());
        }},
       {"vicreg", "variance, invariance and covariance terms on the two views' embeddings (Bardes et al. 2022)",
        [](const MethodContext& c) -> std::unique_ptr<Method> {
          return std::make_unique<VICRegMethod>(c.encoder, c.options.vicreg());
        }},
       {"swav", "multi-crop; each crop predicts the Sinkhorn cluster codes of the global crops (Caron et al. 2020)",
        [](const MethodContext& c) -> std::unique_ptr<Method> {
          return std::make_unique<SwAV>(c.encoder, c.options.swav());
        }},
       {"dino", "multi-crop self-distillation from an EMA teacher with centering and sharpening (Caron et al. 2021)",
        make_dino},
       {"mocov3", "MoCo v3: predictor against an EMA momentum encoder's keys of the other view, in-batch InfoNCE, no "
                  "queue (Chen et al. 2021)",
        make_mocov3},
       {"mae", "masked autoencoder: a vit encodes the visible 25% of patches, a light decoder reconstructs the "
               "hidden ones' pixels (He et al. 2022)",
        [](const MethodContext& c) -> std::unique_ptr<Method> { return std::make_unique<MAE>(c.encoder, c.options.mae()); }}});
  return instance;
}

}  // namespace

std::vector<std::string> method_names() { return registry().names(); }

std::string describe_methods() { return registry().describe(); }

std::unique_ptr<Method> make_method(const std::string& name, const MethodContext& context) {
  return registry().factory(name)(context);
}

}  // namespace ssl::trainers
