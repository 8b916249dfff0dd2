#pragma once
#include "sslkit/ssl/checkpoint.h"

#include <torch/arg.h>

#include <cstdint>
#include <string>

namespace ssl::exporter {

/// The shape of the graph's input, and the operator set.
struct OnnxOptions {
  /// Batch size of the input; 0 leaves it dynamic (the dimension is named "N").
  TORCH_ARG(int64_t, batch) = 0;
  /// Height and width of the input; 0 takes the checkpoint's image size.
  TORCH_ARG(int64_t, image_size) = 0;
};

/// The checkpoint's encoder as a serialized ONNX model (opset 13, IR version 7): input "images" float
/// [N, C, S, S] in [0, 1], a BatchNormalization node that applies the run's normalization (mean, variance std^2,
/// epsilon 0), the encoder in eval mode node by node (each BatchNorm that follows a convolution folded into its
/// weights; Relu, Add, SiLU as Sigmoid and Mul) then GlobalAveragePool and Flatten, or a Vision Transformer's
/// patch and class tokens plus position embeddings (interpolated for S as the encoder does) through its blocks in
/// elementary nodes (MatMul, Softmax, LayerNorm decomposed, GELU with Erf) to its class token: the output
/// "features" [N, D], the features `sslkit embed` writes. `metadata_props` carry encoder,
/// method, normalization, in_channels, image_size, feature_dim and sslkit_version. The model passes ONNX's
/// checker. Throws one line naming `what` when the checkpoint records no normalization, the options are out of
/// range, or the encoder holds a module the exporter cannot write.
std::string to_onnx(const Checkpoint& checkpoint, const OnnxOptions& options = {},
                    const std::string& what = "checkpoint");

/// Writes `to_onnx(checkpoint, options, what)` to `path` atomically (nothing is left at `path` on failure).
void export_onnx(const Checkpoint& checkpoint, const std::string& path, const OnnxOptions& options = {},
                 const std::string& what = "checkpoint");

/// Whether this build writes ONNX (it was configured with libonnx-dev).
bool onnx_available();

}  // namespace ssl::exporter
