#pragma once
#include "sslkit/ssl/checkpoint.h"

#include <torch/csrc/jit/api/module.h>

#include <string>

namespace ssl::exporter {

/// The checkpoint's encoder as a self-contained TorchScript feature extractor, built without Python: its parameters
/// and buffers are the encoder's (contiguous, fp32, no gradient) and its `forward` is TorchScript source compiled
/// with `Module::define`. `forward(images)` takes float [N, C, H, W] in [0, 1], normalizes them with the run's
/// per-channel statistics, runs the encoder in eval mode (BatchNorm with its running statistics) and returns the
/// features [N, D] `sslkit embed` writes: global-average-pooled, or a Vision Transformer's class token (its position
/// embeddings interpolated bicubically for a patch grid other than the checkpoint's). String attributes carry the
/// metadata: encoder, method, normalization, sslkit_version; integer ones in_channels, image_size, feature_dim.
/// Throws one line naming `what` (e.g. the checkpoint path) when the checkpoint records no normalization or its
/// encoder holds a module the exporter cannot write.
torch::jit::Module to_torchscript(const Checkpoint& checkpoint, const std::string& what = "checkpoint");

/// Writes `to_torchscript(checkpoint, what)` to `path` atomically (nothing is left at `path` on failure); the file
/// loads with `torch::jit::load` in C++ and `torch.jit.load` in Python.
void export_torchscript(const Checkpoint& checkpoint, const std::string& path, const std::string& what = "checkpoint");

}  // namespace ssl::exporter
