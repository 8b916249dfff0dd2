#include "sslkit/losses/reduction.h"

#include <c10/util/Exception.h>

namespace ssl::losses {

at::Tensor reduce(const at::Tensor& per_sample, Reduction reduction) {
  switch (reduction) {
    case Reduction::None: return per_sample;
    case Reduction::Mean: return per_sample.mean();
    case Reduction::Sum: return per_sample.sum();
  }
  TORCH_INTERNAL_ASSERT(false, "unhandled Reduction value");
}

Reduction parse_reduction(const std::string& name) {
  if (name == "none") return Reduction::None;
  if (name == "mean") return Reduction::Mean;
  if (name == "sum") return Reduction::Sum;
  TORCH_CHECK(false, "unknown reduction '", name, "': expected one of none, mean, sum");
}

std::string to_string(Reduction reduction) {
  switch (reduction) {
    case Reduction::None: return "none";
    case Reduction::Mean: return "mean";
    case Reduction::Sum: return "sum";
  }
  return "?";
}

}  // namespace ssl::losses
