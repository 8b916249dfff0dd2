#include "sslkit/data/idx.h"

#include "sslkit/ssl/files.h"

#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

namespace ssl::data {
namespace {

constexpr uint32_t kImagesMagic = 0x00000803;
constexpr uint32_t kLabelsMagic = 0x00000801;
constexpr uint32_t kMaxSide = 1 << 14;

uint32_t read_be32(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

/// One IDX file opened through zlib (which reads plain files transparently), with the size of its
/// uncompressed content known up front so declared counts can be checked before allocating.
class IdxFile {
 public:
  explicit IdxFile(const std::string& path) : path_(path) {
    std::error_code ec;
    TORCH_CHECK(std::filesystem::is_regular_file(path, ec), "'", path, "': no such file");
    const uint64_t file_size = std::filesystem::file_size(path, ec);
    TORCH_CHECK(!ec, "'", path, "': cannot read size: ", ec.message());
    TORCH_CHECK(file_size > 0, "'", path, "': the file is empty");
    std::ifstream raw(path, std::ios::binary);
    std::array<unsigned char, 2> head{};
    raw.read(reinterpret_cast<char*>(head.data()), 2);
    gzip_ = raw.gcount() == 2 && head[0] == 0x1f && head[1] == 0x8b;
    if (gzip_) {
      TORCH_CHECK(file_size >= 18, "'", path, "': truncated gzip file (", file_size, " bytes)");
      std::array<unsigned char, 4> tail{};
      raw.seekg(static_cast<std::streamoff>(file_size - 4));
      raw.read(reinterpret_cast<char*>(tail.data()), 4);
      // ISIZE: the uncompressed size modulo 2^32, little-endian (RFC 1952).
      content_size_ = uint32_t(tail[0]) | (uint32_t(tail[1]) << 8) | (uint32_t(tail[2]) << 16) |
                      (uint32_t(tail[3]) << 24);
    } else {
      content_size_ = file_size;
    }
    file_ = gzopen(path.c_str(), "rb");
    TORCH_CHECK(file_ != nullptr, "'", path, "': cannot open: ", std::strerror(errno));
  }
  ~IdxFile() {
    if (file_) gzclose(file_);
  }
  IdxFile(const IdxFile&) = delete;
  IdxFile& operator=(const IdxFile&) = delete;

  /// Reads the magic number and `rank` dimensions; checks the magic and that the content holds exactly
  /// header + product(dims) bytes. Returns the dimensions.
  std::vector<int64_t> read_header(uint32_t magic, int rank, const char* what) {
    std::array<unsigned char, 4> word{};
    read_exact(word.data(), 4, "header");
    const uint32_t found = read_be32(word.data());
    TORCH_CHECK(found == magic, "'", path_, "': wrong magic number 0x", hex(found), ", expected 0x", hex(magic),
                " (IDX ", what, ")", gzip_ ? "" : "; the file is neither gzip-compressed nor an IDX file of that kind");
    std::vector<int64_t> dims;
    uint64_t payload = 1;
    for (int i = 0; i < rank; ++i) {
      read_exact(word.data(), 4, "header");
      const uint32_t d = read_be32(word.data());
      TORCH_CHECK(d > 0, "'", path_, "': dimension ", i, " is 0");
      TORCH_CHECK(i == 0 || d <= kMaxSide, "'", path_, "': dimension ", i, " is ", d, ", expected at most ",
                  kMaxSide);
      dims.push_back(d);
      payload *= d;
    }
    const uint64_t header = 4 + 4 * uint64_t(rank);
    const uint64_t expected = header + payload;
    const uint64_t expected_mod = gzip_ ? (expected & 0xffffffffULL) : expected;
    TORCH_CHECK(expected_mod == content_size_, "'", path_, "': header declares ", dims[0], " ", what, " (",
                expected, " bytes with the header) but the ", gzip_ ? "decompressed " : "", "file holds ",
                content_size_, gzip_ ? " bytes (mod 2^32)" : " bytes", expected > content_size_ ? " (truncated)" : "");
    return dims;
  }

  /// Reads exactly `n` bytes or throws naming the file and what was being read.
  void read_exact(void* out, uint64_t n, const char* what) {
    auto* dst = static_cast<unsigned char*>(out);
    while (n > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<uint64_t>(n, 1u << 30));
      const int got = gzread(file_, dst, chunk);
      if (got <= 0) {
        int err = 0;
        const char* message = gzerror(file_, &err);
        TORCH_CHECK(false, "'", path_, "': truncated or corrupt while reading the ", what,
                    err != Z_OK && err != Z_BUF_ERROR ? std::string(" (") + message + ")" : std::string(""));
      }
      dst += got;
      n -= static_cast<uint64_t>(got);
    }
  }

  const std::string& path() const { return path_; }

 private:
  static std::string hex(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", v);
    return buf;
  }
  std::string path_;
  bool gzip_ = false;
  uint64_t content_size_ = 0;
  gzFile file_ = nullptr;
};

void write_bytes(const std::string& path, const std::string& bytes, bool gzip) {
  if (!gzip) {
    write_file_atomic(path, bytes);
    return;
  }
  uLongf bound = compressBound(static_cast<uLong>(bytes.size()));
  // Raw gzip framing: header, deflate stream, CRC32 and ISIZE trailer (RFC 1952).
  z_stream zs{};
  TORCH_CHECK(deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK,
              "'", path, "': zlib deflateInit failed");
  std::string out(bound + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  const auto produced = zs.total_out;
  deflateEnd(&zs);
  TORCH_CHECK(rc == Z_STREAM_END, "'", path, "': gzip compression failed");
  out.resize(produced);
  write_file_atomic(path, out);
}

std::string be32(uint32_t v) {
  return {char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)};
}

}  // namespace

torch::Tensor read_idx_images(const std::string& path) {
  IdxFile file(path);
  const auto dims = file.read_header(kImagesMagic, 3, "images");
  auto images = torch::empty({dims[0], dims[1], dims[2], 1}, torch::kUInt8);
  file.read_exact(images.data_ptr<uint8_t>(), static_cast<uint64_t>(images.numel()), "image data");
  return images;
}

torch::Tensor read_idx_labels(const std::string& path, int64_t num_classes) {
  IdxFile file(path);
  const auto dims = file.read_header(kLabelsMagic, 1, "labels");
  auto raw = torch::empty({dims[0]}, torch::kUInt8);
  file.read_exact(raw.data_ptr<uint8_t>(), static_cast<uint64_t>(raw.numel()), "label data");
  const uint8_t* p = raw.data_ptr<uint8_t>();
  for (int64_t i = 0; i < dims[0]; ++i) {
    TORCH_CHECK(p[i] < num_classes, "'", path, "': label ", int(p[i]), " at index ", i, " is outside [0, ",
                num_classes, ")");
  }
  return raw.to(torch::kInt64);
}

void write_idx_images(const std::string& path, const torch::Tensor& images, bool gzip) {
  TORCH_CHECK(images.scalar_type() == torch::kUInt8, "write_idx_images: expected uint8 images, got ",
              images.scalar_type());
  TORCH_CHECK(images.dim() == 3 || (images.dim() == 4 && images.size(3) == 1),
              "write_idx_images: expected [N,H,W] or [N,H,W,1], got ", images.sizes());
  auto data = images.contiguous();
  std::string bytes = be32(kImagesMagic) + be32(uint32_t(images.size(0))) + be32(uint32_t(images.size(1))) +
                      be32(uint32_t(images.size(2)));
  bytes.append(reinterpret_cast<const char*>(data.data_ptr<uint8_t>()), static_cast<size_t>(data.numel()));
  write_bytes(path, bytes, gzip);
}

void write_idx_labels(const std::string& path, const torch::Tensor& labels, bool gzip) {
  TORCH_CHECK(labels.dim() == 1, "write_idx_labels: expected [N], got ", labels.sizes());
  TORCH_CHECK(labels.numel() == 0 || (labels.min().item<int64_t>() >= 0 && labels.max().item<int64_t>() <= 255),
              "write_idx_labels: labels must lie in 0..255");
  auto data = labels.to(torch::kUInt8).contiguous();
  std::string bytes = be32(kLabelsMagic) + be32(uint32_t(labels.size(0)));
  bytes.append(reinterpret_cast<const char*>(data.data_ptr<uint8_t>()), static_cast<size_t>(data.numel()));
  write_bytes(path, bytes, gzip);
}

}  // namespace ssl::data
