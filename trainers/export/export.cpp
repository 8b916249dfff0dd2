#include "sslkit/trainers/export/export.h"

#include "sslkit/ssl/checkpoint.h"
#include "sslkit/trainers/export/torchscript.h"

#include <c10/util/Exception.h>

#include <filesystem>

namespace ssl::exporter {

ExportFormat parse_export_format(const std::string& name) {
  if (name == "torchscript") return ExportFormat::kTorchScript;
  if (name == "onnx") return ExportFormat::kOnnx;
  TORCH_CHECK_VALUE(false, "unknown export format '", name, "': expected torchscript or onnx");
}

std::string describe_export_format(ExportFormat format) {
  return format == ExportFormat::kOnnx ? "ONNX" : "TorchScript";
}

ExportResult export_encoder(const ExportOptions& options) {
  TORCH_CHECK_VALUE(!options.checkpoint().empty(), "export needs a checkpoint");
  TORCH_CHECK_VALUE(!options.out().empty(), "export needs an output file");
  ExportResult result;
  result.checkpoint_path = std::filesystem::is_directory(options.checkpoint())
                               ? (std::filesystem::path(options.checkpoint()) / "checkpoint.pt").string()
                               : options.checkpoint();
  Checkpoint checkpoint = load_checkpoint(result.checkpoint_path);
  const std::string what = "checkpoint '" + result.checkpoint_path + "'";
  if (options.weights() != kTrainedEncoder) checkpoint.encoder = encoder_weights(checkpoint, options.weights(), what);
  if (options.format() == ExportFormat::kOnnx) {
    export_onnx(checkpoint, options.out(), options.onnx(), what);
  } else {
    export_torchscript(checkpoint, options.out(), what);
  }
  result.encoder = checkpoint.metadata.encoder;
  result.in_channels = checkpoint.metadata.in_channels;
  result.feature_dim = checkpoint.metadata.feature_dim;
  result.bytes = static_cast<int64_t>(std::filesystem::file_size(options.out()));
  return result;
}

}  // namespace ssl::exporter
