#include "sslkit/data/views/registry.h"

#include "sslkit/data/views/jigsaw.h"
#include "sslkit/data/views/patch_grid.h"
#include "sslkit/data/views/relative_patch.h"
#include "sslkit/data/views/rotations.h"
#include "sslkit/data/views/two_views.h"

#include <c10/util/Exception.h>

namespace ssl::data {

namespace {

struct Registered {
  const char* name;
  std::shared_ptr<const ViewMaker> (*make)(const Normalization&);
  const char* summary;
};

const Registered kViews[] = {
    {"two-views", [](const Normalization& n) -> std::shared_ptr<const ViewMaker> {
       return std::make_shared<TwoViews>(ContrastiveAugmentOptions(), n);
     }, "two SimCLR augmentations of each image (SimCLR, MoCo)"},
    {"rotations", [](const Normalization& n) -> std::shared_ptr<const ViewMaker> {
       return std::make_shared<Rotations>(RotationsOptions(), n);
     }, "the image at 0/90/180/270 degrees, targets 0..3 (RotNet)"},
    {"patch-grid", [](const Normalization& n) -> std::shared_ptr<const ViewMaker> {
       return std::make_shared<PatchGrid>(PatchGridOptions(), n);
     }, "a grid of overlapping jittered patches (CPC)"},
    {"jigsaw", [](const Normalization& n) -> std::shared_ptr<const ViewMaker> {
       return std::make_shared<Jigsaw>(JigsawOptions(), n);
     }, "3x3 tiles shuffled by one of P permutations, target its index"},
    {"relative-patch", [](const Normalization& n) -> std::shared_ptr<const ViewMaker> {
       return std::make_shared<RelativePatch>(RelativePatchOptions(), n);
     }, "the centre patch and a neighbour, target its position 0..7"},
};

}  // namespace

std::vector<std::string> view_names() {
  std::vector<std::string> names;
  for (const auto& view : kViews) names.emplace_back(view.name);
  return names;
}

std::string describe_views() {
  std::string text;
  for (const auto& view : kViews) text += std::string("  ") + view.name + ": " + view.summary + "\n";
  return text;
}

std::shared_ptr<const ViewMaker> make_view(const std::string& name, const Normalization& norm) {
  std::string valid;
  for (const auto& view : kViews) {
    if (name == view.name) return view.make(norm);
    valid += std::string(valid.empty() ? "" : ", ") + view.name;
  }
  TORCH_CHECK(false, "unknown view '", name, "': expected one of ", valid);
}

}  // namespace ssl::data
