#include "sslkit/trainers/export/onnx.h"

#include <c10/util/Exception.h>

namespace ssl::exporter {

bool onnx_available() { return false; }

std::string to_onnx(const Checkpoint&, const OnnxOptions&, const std::string& what) {
  TORCH_CHECK(false, what, ": cannot export to ONNX: this sslkit was built without ONNX (install libonnx-dev and ",
              "configure with -DSSLKIT_WITH_ONNX=ON)");
}

void export_onnx(const Checkpoint& checkpoint, const std::string&, const OnnxOptions& options,
                 const std::string& what) {
  to_onnx(checkpoint, options, what);
}

}  // namespace ssl::exporter
