#pragma once
#include "sslkit/trainers/export/onnx.h"

#include <torch/arg.h>

#include <cstdint>
#include <string>

namespace ssl::exporter {

/// The file formats `export_encoder` writes.
enum class ExportFormat {
  /// A TorchScript module (`torch::jit::load`, `torch.jit.load`).
  kTorchScript,
  /// An ONNX model (opset 13), for OpenCV's DNN module, ONNX Runtime, TensorRT and the like.
  kOnnx,
};

/// Parses a format name ("torchscript", "onnx"); throws one line listing the valid names.
ExportFormat parse_export_format(const std::string& name);

/// What `export_encoder` reads and writes.
struct ExportOptions {
  /// Checkpoint file, or run directory holding checkpoint.pt.
  TORCH_ARG(std::string, checkpoint);
  /// Which of the checkpoint's encoder weights to export (`encoder_weights`: the trained encoder, or an EMA network).
  TORCH_ARG(std::string, weights) = kTrainedEncoder;
  /// File to write (atomically).
  TORCH_ARG(std::string, out);
  /// Format of the file.
  TORCH_ARG(ExportFormat, format) = ExportFormat::kTorchScript;
  /// Input shape of an ONNX file (ignored by TorchScript, whose input shape is free).
  TORCH_ARG(OnnxOptions, onnx) = {};
};

/// What `export_encoder` wrote.
struct ExportResult {
  /// The checkpoint file read.
  std::string checkpoint_path;
  /// Registered name of the exported encoder.
  std::string encoder;
  /// Channels of the images the exported model reads.
  int64_t in_channels = 0;
  /// Width of the features it returns.
  int64_t feature_dim = 0;
  /// Size of the written file in bytes.
  int64_t bytes = 0;
};

/// The format's name as users read it ("TorchScript", "ONNX").
std::string describe_export_format(ExportFormat format);

/// Loads the checkpoint and writes its encoder as a self-contained feature extractor in `options.format()` (see
/// `to_torchscript`, `to_onnx`); throws one line naming the file on any failure, leaving nothing at `options.out()`.
ExportResult export_encoder(const ExportOptions& options);

}  // namespace ssl::exporter
