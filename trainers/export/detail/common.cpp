#include "sslkit/trainers/export/detail/common.h"

#include "sslkit/ssl/vit.h"

#include <c10/util/Exception.h>

namespace ssl::exporter::detail {

data::Normalization recorded_normalization(const Checkpoint& checkpoint, const std::string& what) {
  const auto& meta = checkpoint.metadata;
  TORCH_CHECK(!meta.normalization.empty(), what, ": records no input normalization, which the exported extractor ",
              "applies; retrain or re-save it with a current sslkit");
  auto norm = data::parse_normalization(meta.normalization);
  TORCH_CHECK(static_cast<int64_t>(norm.mean.size()) == meta.in_channels, what, ": normalization '",
              meta.normalization, "' has ", norm.mean.size(), " channels, the encoder reads ", meta.in_channels);
  return norm;
}

Encoder rebuild_exportable_encoder(const Checkpoint& checkpoint, const std::string& format, const std::string& what) {
  Encoder encoder = rebuild_encoder(checkpoint, what);
  const auto children = encoder->named_children();
  const bool vit = dynamic_cast<const VisionTransformerImpl*>(encoder.get()) != nullptr;
  TORCH_CHECK(vit || (children.size() == 1 && children.contains("body")), what, ": cannot export encoder '",
              checkpoint.metadata.encoder, "' to ", format,
              ": it is neither a Vision Transformer nor a single 'body' module followed by global average pooling");
  encoder->eval();
  return encoder;
}

}  // namespace ssl::exporter::detail
