#pragma once
#include "sslkit/data/dataset.h"
#include "sslkit/ssl/checkpoint.h"

#include <torch/expanding_array.h>

#include <string>

#include <type_traits>

namespace ssl::exporter::detail {

/// The explicit padding of a convolution's options, or null for 'valid' / 'same'. The unqualified `visit` finds
/// c10::visit (LibTorch 1.x's c10::variant) or std::visit (2.x's std::variant) by argument-dependent lookup.
template <typename Padding>
const torch::ExpandingArray<2>* explicit_padding(const Padding& padding) {
  const torch::ExpandingArray<2>* found = nullptr;
  visit(
      [&](const auto& value) {
        if constexpr (std::is_same_v<std::decay_t<decltype(value)>, torch::ExpandingArray<2>>) found = &value;
      },
      padding);
  return found;
}

/// The checkpoint's input normalization, which every exported extractor applies; throws one line naming `what`
/// when it records none or its channel count differs from the encoder's.
data::Normalization recorded_normalization(const Checkpoint& checkpoint, const std::string& what);

/// The checkpoint's encoder in eval mode, checked to be one the exporters write: a Vision Transformer, or one 'body'
/// module followed by global average pooling; throws one line naming `what` and `format` otherwise.
Encoder rebuild_exportable_encoder(const Checkpoint& checkpoint, const std::string& format, const std::string& what);

}  // namespace ssl::exporter::detail
