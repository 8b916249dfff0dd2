#include "sslkit/losses/detail/check.h"

#include <c10/util/Exception.h>

#include <cmath>

namespace ssl::losses::detail {

void check_embeddings(const at::Tensor& t, const char* function, const char* name, int64_t rank) {
  TORCH_CHECK(t.defined(), function, ": ", name, " is an undefined tensor");
  TORCH_CHECK(t.dim() == rank, function, ": ", name, " must have ", rank, " dimensions, got shape ", t.sizes());
  TORCH_CHECK(t.is_floating_point(), function, ": ", name, " must be a floating-point tensor, got ",
              t.scalar_type());
  TORCH_CHECK(t.size(0) > 0, function, ": ", name, " is an empty batch (shape ", t.sizes(), ")");
}

void check_same_shape(const at::Tensor& a, const at::Tensor& b, const char* function, const char* name_a,
                      const char* name_b) {
  TORCH_CHECK(a.sizes() == b.sizes(), function, ": ", name_a, " and ", name_b, " must have the same shape, got ",
              a.sizes(), " and ", b.sizes());
  TORCH_CHECK(a.scalar_type() == b.scalar_type(), function, ": ", name_a, " and ", name_b,
              " must have the same dtype, got ", a.scalar_type(), " and ", b.scalar_type());
  TORCH_CHECK(a.device() == b.device(), function, ": ", name_a, " and ", name_b,
              " must be on the same device, got ", a.device(), " and ", b.device());
}

void check_temperature(double temperature, const char* function) {
  check_positive(temperature, function, "temperature");
}

void check_positive(double value, const char* function, const char* name) {
  TORCH_CHECK_VALUE(std::isfinite(value) && value > 0, function, ": ", name, " must be > 0, got ", value);
}

void check_non_negative(double value, const char* function, const char* name) {
  TORCH_CHECK_VALUE(std::isfinite(value) && value >= 0, function, ": ", name, " must be finite and >= 0, got ", value);
}

void check_min_rows(const at::Tensor& t, int64_t min_rows, const char* function, const char* name) {
  TORCH_CHECK(t.size(0) >= min_rows, function, " needs at least ", min_rows, " rows in ", name,
              " (batch statistics), got shape ", t.sizes());
}

}  // namespace ssl::losses::detail
