#include "sslkit/data/views/registry.h"

#include "sslkit/data/views/jigsaw.h"
#include "sslkit/data/views/multi_crop.h"
#include "sslkit/data/views/patch_grid.h"
#include "sslkit/data/views/relative_patch.h"
#include "sslkit/data/views/rotations.h"
#include "sslkit/data/views/two_views.h"
#include "sslkit/ssl/registry.h"

namespace ssl::data {

namespace {

// The view `View` with its default options `Options`.
template <typename View, typename Options>
std::shared_ptr<const ViewMaker> with_defaults(const Normalization& norm) {
  return std::make_shared<View>(Options(), norm);
}

const Registry<ViewFactory>& registry() {
  static const Registry<ViewFactory> instance(
      "view", {{"two-views", "two SimCLR augmentations of each image (SimCLR, MoCo)",
                with_defaults<TwoViews, ContrastiveAugmentOptions>},
               {"multi-crop", "2 global crops and 4 local 14 px crops of each image (SwAV, DINO)",
                with_defaults<MultiCrop, MultiCropOptions>},
               {"rotations", "the image at 0/90/180/270 degrees, targets 0..3 (RotNet)",
                with_defaults<Rotations, RotationsOptions>},
               {"patch-grid", "a grid of overlapping jittered patches (CPC)", with_defaults<PatchGrid, PatchGridOptions>},
               {"jigsaw", "3x3 tiles shuffled by one of P permutations, target its index",
                with_defaults<Jigsaw, JigsawOptions>},
               {"relative-patch", "the centre patch and a neighbour, target its position 0..7",
                with_defaults<RelativePatch, RelativePatchOptions>}});
  return instance;
}

}  // namespace

std::vector<std::string> view_names() { return registry().names(); }

std::string describe_views() { return registry().describe(); }

std::shared_ptr<const ViewMaker> make_view(const std::string& name, const Normalization& norm) {
  return registry().factory(name)(norm);
}

}  // namespace ssl::data
