#pragma once
#include "sslkit/data/loader.h"

#include <torch/arg.h>

#include <string>

namespace ssl::data {

/// Layout of a picture of views.
struct ViewGridOptions {
  /// Screen pixels per image pixel.
  TORCH_ARG(int64_t, scale) = 4;
  /// Screen pixels between cells.
  TORCH_ARG(int64_t, padding) = 6;
  /// Screen pixels per font pixel of the 3x5 caption font.
  TORCH_ARG(int64_t, font_scale) = 2;
};

/// A picture of a batch: one row per image, the original (captioned with its data-set label "y=K", or its
/// index "#K" when unlabelled) followed by one cell per view, all at the same zoom; a multi-patch view
/// [N, C, h, w] is a mosaic of its patches in slot order, row-major. A view's caption is its target "t=K"
/// (per-view targets where the maker has them) or, for patches without targets, "p0-(N-1)". Views are
/// un-normalized with `norm` for display. Returns RGB uint8 [H, W, 3].
torch::Tensor render_view_grid(const torch::Tensor& originals, const Batch& batch, const Normalization& norm,
                               const ViewGridOptions& options = {});

}  // namespace ssl::data
