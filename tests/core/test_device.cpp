#include "sslkit/ssl/device.h"

#include "errors.h"

#include <catch2/catch.hpp>

using ssl::testing::error_message;

TEST_CASE("Device specs parse to a kind and an index, or fail listing the forms", "[core][device]") {
  CHECK(ssl::parse_device("auto").kind == ssl::DeviceKind::Auto);
  CHECK(ssl::parse_device("cpu").kind == ssl::DeviceKind::CPU);
  const auto cuda = ssl::parse_device("cuda:1");
  CHECK(cuda.kind == ssl::DeviceKind::CUDA);
  CHECK(cuda.index == 1);
  CHECK(cuda.str() == "cuda:1");
  CHECK(error_message([] { ssl::parse_device("tpu"); }) == "invalid device 'tpu': expected auto, cpu, cuda or cuda:N");
}

TEST_CASE("A request for more memory than is available is refused in GiB before allocating", "[core][device]") {
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  ssl::check_memory(2 * kGiB, static_cast<int64_t>(2 * kGiB), "fits exactly");
  ssl::check_memory(1e30, -1, "unknown availability checks nothing");
  CHECK(error_message([&] { ssl::check_memory(805.0 * kGiB, static_cast<int64_t>(23.5 * kGiB), "decoding"); }) ==
        "decoding needs 805.0 GiB, more than the 23.5 GiB of memory available");
  // This machine reports its memory (Linux /proc/meminfo): more than nothing, less than an exabyte.
  const int64_t available = ssl::available_memory_bytes();
  CHECK(available > 0);
  CHECK(available < (int64_t{1} << 60));
}
