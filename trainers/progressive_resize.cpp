#include "sslkit/trainers/progressive_resize.h"

#include <ATen/ops/adaptive_avg_pool2d.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>

namespace ssl::trainers {

void validate(const ProgressiveResizeOptions& o) {
  TORCH_CHECK_VALUE(o.start_side() >= 0, "progressive resizing: start side must be >= 0 (0: off), got ",
                    o.start_side());
  TORCH_CHECK_VALUE(o.ramp_start() >= 0 && o.ramp_start() < o.ramp_end() && o.ramp_end() <= 1,
                    "progressive resizing: expected a ramp 0 <= start < end <= 1, got start ", o.ramp_start(),
                    " and end ", o.ramp_end());
}

int64_t resized_side(const ProgressiveResizeOptions& o, int64_t full_side, double progress, int64_t multiple) {
  if (o.start_side() <= 0 || o.start_side() >= full_side) return full_side;
  const double t = std::clamp((progress - o.ramp_start()) / (o.ramp_end() - o.ramp_start()), 0.0, 1.0);
  const double side = static_cast<double>(o.start_side()) + t * static_cast<double>(full_side - o.start_side());
  const int64_t step = std::max<int64_t>(multiple, 1);
  return std::min(full_side, step * std::max<int64_t>(1, std::llround(side / static_cast<double>(step))));
}

int64_t resize_multiple(const EncoderImpl& encoder) { return encoder.patch_size() > 0 ? encoder.patch_size() : 2; }

data::Batch resize_views(const data::Batch& batch, const std::vector<int64_t>& views, int64_t side) {
  data::Batch resized = batch;
  for (const int64_t v : views) {
    TORCH_INTERNAL_ASSERT(v >= 0 && v < static_cast<int64_t>(batch.views.size()), "view ", v, " of ",
                          batch.views.size());
    torch::Tensor& view = resized.views[static_cast<size_t>(v)];
    if (view.dim() != 4 || (view.size(2) <= side && view.size(3) <= side)) continue;
    const auto format = view.suggest_memory_format();
    view = at::adaptive_avg_pool2d(view, {side, side}).contiguous(format);
  }
  return resized;
}

void check_progressive_resize(const ProgressiveResizeOptions& o, const data::ViewMaker& maker,
                              const data::Source& source, const EncoderImpl& encoder) {
  if (o.start_side() == 0) return;
  const auto views = maker.resizable_views();
  TORCH_CHECK_VALUE(!views.empty(), "progressive resizing: the '", maker.name(),
                    "' views of this method are not crops of the whole image and cannot be resized (two-views and "
                    "multi-crop views can)");
  const auto shape = maker.shape_of_view(views.front(), source.channels(), source.height(), source.width());
  const int64_t height = shape[shape.size() - 2], width = shape.back();
  TORCH_CHECK_VALUE(height == width, "progressive resizing: expected square views, got ", height, "x", width,
                    " from ", source.origin());
  TORCH_CHECK_VALUE(o.start_side() < height, "progressive resizing: start side ", o.start_side(),
                    " is not below the views' side ", height, " (0 turns resizing off)");
  const int64_t multiple = resize_multiple(encoder);
  TORCH_CHECK_VALUE(o.start_side() >= multiple, "progressive resizing: start side ", o.start_side(),
                    " is below the encoder's smallest input step of ", multiple, " pixels");
}

}  // namespace ssl::trainers
