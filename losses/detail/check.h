#pragma once
#include <ATen/core/Tensor.h>

#include <string>

namespace ssl::losses::detail {

/// Throws unless `t` is a floating-point tensor of the given rank with a non-empty first dimension.
void check_embeddings(const at::Tensor& t, const char* function, const char* name, int64_t rank);

/// Throws unless `a` and `b` have exactly the same shape, naming both shapes.
void check_same_shape(const at::Tensor& a, const at::Tensor& b, const char* function, const char* name_a,
                      const char* name_b);

/// Throws unless the temperature is finite and positive.
void check_temperature(double temperature, const char* function);

/// Throws unless the option `name` is finite and > 0.
void check_positive(double value, const char* function, const char* name);

/// Throws unless the option `name` (a loss weight) is finite and >= 0.
void check_non_negative(double value, const char* function, const char* name);

/// Throws unless `t` has at least `min_rows` rows (the loss needs batch statistics over them).
void check_min_rows(const at::Tensor& t, int64_t min_rows, const char* function, const char* name);

}  // namespace ssl::losses::detail
