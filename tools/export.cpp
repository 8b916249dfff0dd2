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
      ("format", po::value<std::string>()->default_value("torchscript"), "torchscript")
      ("out", po::value<std::string>(), "file to write (atomically)");
  add_common_options(description);
  return description;
}

exporter::ExportOptions export_options(const po::variables_map& v) {
  if (!v.count("checkpoint")) throw po::error("--checkpoint is required");
  if (!v.count("out")) throw po::error("--out is required");
  return exporter::ExportOptions()
      .checkpoint(v["checkpoint"].as<std::string>())
      .out(v["out"].as<std::string>())
      .format(exporter::parse_export_format(v["format"].as<std::string>()));
}

}  // namespace

int export_main(int argc, char** argv) {
  auto vm = parse(export_description(), argc, argv,
                  "usage: sslkit export --checkpoint RUN_DIR|FILE --out ENCODER.pt [--format torchscript]\n"
                  "Writes the encoder as one file that takes float images [N,C,H,W] in [0,1], normalizes them as the\n"
                  "run did and returns the features sslkit embed writes; load it with torch::jit::load (C++) or\n"
                  "torch.jit.load (Python).");
  if (!vm) return 0;
  const auto options = export_options(*vm);
  apply_threads(*vm);
  const auto result = exporter::export_encoder(options);
  std::printf("exported %s (%lld channels in, %lld-d features) from %s -> %s (%lld bytes, TorchScript)\n",
              result.encoder.c_str(), static_cast<long long>(result.in_channels),
              static_cast<long long>(result.feature_dim), result.checkpoint_path.c_str(), options.out().c_str(),
              static_cast<long long>(result.bytes));
  return 0;
}

}  // namespace ssl::cli
