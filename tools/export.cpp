// sslkit export: a checkpoint's encoder as a self-contained feature extractor. Parses the flags into
// ssl::exporter::ExportOptions; ssl::exporter::export_encoder does the rest.
#include "cli.h"
#include "commands.h"

#include "sslkit/trainers/export/export.h"

#include <cstdio>

namespace ssl::cli {
namespace {

po::options_description export_description() {
  po::options_description description("sslkit export options");
  description.add_options()
      ("checkpoint", po::value<std::string>(), "checkpoint file or run directory (holding checkpoint.pt)")
      ("format", po::value<std::string>()->default_value("torchscript"), "torchscript or onnx")
      ("out", po::value<std::string>(), "file to write (atomically)")
      ("image-size", po::value<int64_t>()->default_value(0),
       "onnx: height and width of the input (0: the checkpoint's image size)")
      ("batch", po::value<std::string>()->default_value("dynamic"), "onnx: batch size of the input, or dynamic");
  add_weights_option(description);
  add_common_options(description);
  return description;
}

// --batch: "dynamic" (0) or a positive count.
int64_t batch_option(const po::variables_map& v) {
  const std::string text = v["batch"].as<std::string>();
  if (text == "dynamic") return 0;
  size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || value < 1) throw po::error("invalid --batch '" + text + "': expected dynamic or N >= 1");
  return value;
}

exporter::ExportOptions export_options(const po::variables_map& v) {
  if (!v.count("checkpoint")) throw po::error("--checkpoint is required");
  if (!v.count("out")) throw po::error("--out is required");
  const int64_t image_size = v["image-size"].as<int64_t>();
  if (image_size < 0) throw po::error("--image-size must be >= 0, got " + std::to_string(image_size));
  const auto format = exporter::parse_export_format(v["format"].as<std::string>());
  if (format != exporter::ExportFormat::kOnnx && (!v["image-size"].defaulted() || !v["batch"].defaulted()))
    throw po::error("--image-size and --batch shape the ONNX input only; TorchScript takes any [N, C, H, W]");
  return exporter::ExportOptions()
      .checkpoint(v["checkpoint"].as<std::string>())
      .weights(v["weights"].as<std::string>())
      .out(v["out"].as<std::string>())
      .format(format)
      .onnx(exporter::OnnxOptions().batch(batch_option(v)).image_size(image_size));
}

}  // namespace

int export_main(int argc, char** argv) {
  auto vm = parse(export_description(), argc, argv,
                  "usage: sslkit export --checkpoint RUN_DIR|FILE --out FILE [--format torchscript|onnx]\n"
                  "                     [--image-size S] [--batch dynamic|N]\n"
                  "Writes the encoder as one file that takes float images [N,C,H,W] in [0,1], normalizes them as the\n"
                  "run did and returns the features sslkit embed writes. TorchScript loads with torch::jit::load (C++)\n"
                  "or torch.jit.load (Python); ONNX (opset 13) with OpenCV's DNN module or any ONNX runtime.");
  if (!vm) return 0;
  const auto options = export_options(*vm);
  apply_threads(*vm);
  const auto result = exporter::export_encoder(options);
  std::printf("exported %s (%lld channels in, %lld-d features) from %s -> %s (%lld bytes, %s)\n",
              result.encoder.c_str(), static_cast<long long>(result.in_channels),
              static_cast<long long>(result.feature_dim), result.checkpoint_path.c_str(), options.out().c_str(),
              static_cast<long long>(result.bytes), exporter::describe_export_format(options.format()).c_str());
  return 0;
}

}  // namespace ssl::cli
