#pragma once
#include "sslkit/data/loader.h"
#include "sslkit/data/sources/source.h"
#include "sslkit/ssl/encoders.h"

#include <torch/arg.h>

#include <cstdint>
#include <vector>

namespace ssl::trainers {

/// Progressive resizing (FFCV's ResolutionScheduler, applied to crop views): the views that are crops of the whole
/// image are area-downsampled to `start_side` pixels early in training and grow linearly to their full side
/// between the `ramp_start` and `ramp_end` fractions of the run, so early steps cost a fraction of a full step and
/// the last ones train at the side the encoder is evaluated at (docs/results.md, "Progressive resizing").
struct ProgressiveResizeOptions {
  /// Side of the crop views at the start of training in pixels (0: off, every step at the full side).
  TORCH_ARG(int64_t, start_side) = 0;
  /// Fraction of training at which the views start to grow.
  TORCH_ARG(double, ramp_start) = 0.3;
  /// Fraction of training from which the views have their full side.
  TORCH_ARG(double, ramp_end) = 0.8;
};

/// Throws one line naming the option when `options` are out of range.
void validate(const ProgressiveResizeOptions& options);

/// Side of views of full side `full_side` at training fraction `progress`: `start_side` until `ramp_start`,
/// then linear up to `full_side` at `ramp_end`, rounded to the nearest multiple of `multiple` and never above
/// `full_side`; `full_side` itself when resizing is off.
int64_t resized_side(const ProgressiveResizeOptions& options, int64_t full_side, double progress, int64_t multiple);

/// The multiple the sides of `encoder`'s inputs are rounded to: its patch side for a ViT, else 2 (every
/// stride-2 stage then halves an even side).
int64_t resize_multiple(const EncoderImpl& encoder);

/// `batch` with its views `views` ([B, C, S, S] each) area-downsampled to `side` x `side` (adaptive average
/// pooling, the memory format kept); the views already at or below `side` and the others are shared, not copied.
data::Batch resize_views(const data::Batch& batch, const std::vector<int64_t>& views, int64_t side);

/// Throws one line unless progressive resizing can run with this view maker, data and encoder: the maker has
/// resizable views, and `start_side` is at least the encoder's `resize_multiple` and below the views' full side.
/// Nothing is checked when resizing is off.
void check_progressive_resize(const ProgressiveResizeOptions& options, const data::ViewMaker& maker,
                              const data::Source& source, const EncoderImpl& encoder);

}  // namespace ssl::trainers
