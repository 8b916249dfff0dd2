#pragma once
#include <cstdint>
#include <string>

namespace ssl {

/// PNG file bytes of an 8-bit image stored [H, W, C] with C = 1 (gray), 3 (RGB) or 4 (RGBA).
std::string encode_png(const uint8_t* pixels, int64_t height, int64_t width, int64_t channels);

/// Writes `encode_png` of the image to `path` atomically (temporary file + rename); throws naming the path.
void write_png(const std::string& path, const uint8_t* pixels, int64_t height, int64_t width, int64_t channels);

}  // namespace ssl
