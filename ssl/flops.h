#pragma once
#include "sslkit/ssl/encoders.h"

#include <functional>
#include <vector>

namespace ssl {

/// FLOPs (two per multiply-add) of the convolutions and linear layers that `fn` runs on the calling
/// thread, read off the operators' input shapes as they run. Other operators (norms, activations,
/// pooling) are not counted: on these models they are a few percent of the total.
int64_t count_flops(const std::function<void()>& fn);

/// Forward-pass FLOPs of `encoder` for one image of shape [C, H, W] (`count_flops` of a forward pass).
int64_t encoder_flops_per_image(EncoderImpl& encoder, const std::vector<int64_t>& image_shape);

}  // namespace ssl
