#pragma once
#include <torch/types.h>

#include <string>

namespace ssl::data {

/// Reads an IDX uint8 image file (magic 0x00000803), gzip-compressed or plain, as uint8 [N, H, W, 1].
/// The declared count is checked against the file's real size before anything is allocated; a wrong magic
/// number, zero or absurd dimension, truncated or over-long file is a one-line error naming the file.
torch::Tensor read_idx_images(const std::string& path);

/// Reads an IDX uint8 label file (magic 0x00000801) as int64 [N]; every label must lie in [0, num_classes).
torch::Tensor read_idx_labels(const std::string& path, int64_t num_classes = 10);

/// Writes uint8 [N, H, W] or [N, H, W, 1] images as an IDX file, gzip-compressed when `gzip` is set.
void write_idx_images(const std::string& path, const torch::Tensor& images, bool gzip);

/// Writes integer labels [N] (each in 0..255) as an IDX label file, gzip-compressed when `gzip` is set.
void write_idx_labels(const std::string& path, const torch::Tensor& labels, bool gzip);

}  // namespace ssl::data
