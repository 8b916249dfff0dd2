#include "sslkit/ssl/png.h"

#include "sslkit/ssl/files.h"

#include <c10/util/Exception.h>
#include <zlib.h>

#include <vector>

namespace ssl {

namespace {

void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void put_chunk(std::string& out, const char* type, const std::string& data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  const std::string body = std::string(type, 4) + data;
  out += body;
  put_u32(out, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

}  // namespace

std::string encode_png(const uint8_t* pixels, int64_t height, int64_t width, int64_t channels) {
  TORCH_CHECK(height > 0 && width > 0 && height < (1LL << 31) && width < (1LL << 31), "png: bad image size ", height,
              "x", width);
  TORCH_CHECK(channels == 1 || channels == 3 || channels == 4, "png: expected 1, 3 or 4 channels, got ", channels);
  // Each row: filter byte 0 (None), then the row's bytes.
  const int64_t row = width * channels;
  std::vector<uint8_t> raw(static_cast<size_t>(height * (row + 1)));
  for (int64_t y = 0; y < height; ++y) {
    raw[static_cast<size_t>(y * (row + 1))] = 0;
    std::copy(pixels + y * row, pixels + (y + 1) * row, raw.begin() + y * (row + 1) + 1);
  }
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::string compressed(size, '\0');
  TORCH_CHECK(compress2(reinterpret_cast<Bytef*>(compressed.data()), &size, raw.data(), static_cast<uLong>(raw.size()),
                        6) == Z_OK,
              "png: zlib compression failed");
  compressed.resize(size);

  std::string header;
  put_u32(header, static_cast<uint32_t>(width));
  put_u32(header, static_cast<uint32_t>(height));
  header += static_cast<char>(8);                                                // bit depth
  header += static_cast<char>(channels == 1 ? 0 : channels == 3 ? 2 : 6);      // colour type
  header += std::string(3, '\0');                                               // deflate, adaptive filters, no interlace
  std::string png("\x89PNG\r\n\x1a\n", 8);
  put_chunk(png, "IHDR", header);
  put_chunk(png, "IDAT", compressed);
  put_chunk(png, "IEND", "");
  return png;
}

void write_png(const std::string& path, const uint8_t* pixels, int64_t height, int64_t width, int64_t channels) {
  ssl::write_file_atomic(path, encode_png(pixels, height, width, channels));
}

}  // namespace ssl
