#pragma once
#include "sslkit/trainers/methods/barlow.h"
#include "sslkit/trainers/methods/byol.h"
#include "sslkit/trainers/methods/mae.h"
#include "sslkit/trainers/methods/mocov3.h"
#include "sslkit/trainers/methods/cpc.h"
#include "sslkit/trainers/methods/dino.h"
#include "sslkit/trainers/methods/instdisc.h"
#include "sslkit/trainers/methods/jigsaw.h"
#include "sslkit/trainers/methods/moco.h"
#include "sslkit/trainers/methods/relpos.h"
#include "sslkit/trainers/methods/rotnet.h"
#include "sslkit/trainers/methods/simclr.h"
#include "sslkit/trainers/methods/simsiam.h"
#include "sslkit/trainers/methods/swav.h"
#include "sslkit/trainers/methods/vicreg.h"

#include <torch/arg.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ssl::trainers {

/// Every method's hyper-parameters, each method reading its own struct; the defaults are each method's.
struct MethodOptions {
  /// SimCLR hyper-parameters.
  TORCH_ARG(SimCLROptions, simclr) = {};
  /// MoCo hyper-parameters.
  TORCH_ARG(MoCoOptions, moco) = {};
  /// Instance discrimination hyper-parameters.
  TORCH_ARG(InstDiscOptions, instdisc) = {};
  /// RotNet hyper-parameters.
  TORCH_ARG(RotNetOptions, rotnet) = {};
  /// Jigsaw hyper-parameters.
  TORCH_ARG(JigsawMethodOptions, jigsaw) = {};
  /// Relative-position hyper-parameters.
  TORCH_ARG(RelPosOptions, relpos) = {};
  /// CPC hyper-parameters.
  TORCH_ARG(CPCMethodOptions, cpc) = {};
  /// BYOL hyper-parameters.
  TORCH_ARG(BYOLOptions, byol) = {};
  /// SimSiam hyper-parameters.
  TORCH_ARG(SimSiamOptions, simsiam) = {};
  /// Barlow Twins hyper-parameters.
  TORCH_ARG(BarlowTwinsMethodOptions, barlow) = {};
  /// VICReg hyper-parameters.
  TORCH_ARG(VICRegMethodOptions, vicreg) = {};
  /// SwAV hyper-parameters.
  TORCH_ARG(SwAVOptions, swav) = {};
  /// DINO hyper-parameters.
  TORCH_ARG(DINOMethodOptions, dino) = {};
  /// MoCo v3 hyper-parameters.
  TORCH_ARG(MoCoV3Options, mocov3) = {};
  /// MAE hyper-parameters.
  TORCH_ARG(MAEOptions, mae) = {};
};

/// What a method's factory builds it from.
struct MethodContext {
  /// The hyper-parameters (the factory reads its method's struct).
  const MethodOptions& options;
  /// The encoder to train.
  Encoder encoder;
  /// Images in the training set (the rows of instdisc's memory bank).
  int64_t num_images;
  /// Makes another encoder of the same architecture (moco's key encoder, byol's target, dino's teacher); may be empty.
  std::function<Encoder()> another_encoder;
};

/// What the method registry holds per name.
using MethodFactory = std::unique_ptr<Method> (*)(const MethodContext&);

/// The registered method names, in registration order.
std::vector<std::string> method_names();

/// One line per registered method, "  NAME: DESCRIPTION\n", for `--help`.
std::string describe_methods();

/// Builds the registered method `name` from `context`; throws listing the registered names when unknown.
std::unique_ptr<Method> make_method(const std::string& name, const MethodContext& context);

}  // namespace ssl::trainers
