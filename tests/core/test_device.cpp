#include "sslkit/ssl/device.h"

#include "errors.h"

#include <catch2/catch.hpp>

#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

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

#if defined(__GLIBC__)
TEST_CASE("keep_freed_memory serves blocks under 32 MiB from the heap and keeps the freed top", "[core][device]") {
  // A 24 MiB block (a batch of 256 convnet activations 32 x 28 x 28 in fp32 is 25.7 MB) must not get its own mmap,
  // and freeing it must not shrink the heap: the next step reuses its pages.
  REQUIRE(ssl::keep_freed_memory());
  const auto before = mallinfo2();
  void* block = std::malloc(24 << 20);
  REQUIRE(block != nullptr);
  const auto during = mallinfo2();
  CHECK(during.hblks == before.hblks);  // no new mmapped block
  CHECK(during.arena >= before.arena);  // served from the heap
  std::free(block);
  const auto after = mallinfo2();
  CHECK(after.arena == during.arena);           // the heap kept its pages
  CHECK(after.fordblks >= (size_t{24} << 20));  // now free for the next allocation

  // The user's environment wins over the built-in settings.
  setenv("MALLOC_TRIM_THRESHOLD_", "131072", 1);
  CHECK_FALSE(ssl::keep_freed_memory());
  unsetenv("MALLOC_TRIM_THRESHOLD_");
}
#endif
