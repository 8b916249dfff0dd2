#include "sslkit/ssl/encoders.h"
#include "sslkit/ssl/flops.h"

#include <catch2/catch.hpp>
#include <torch/nn/modules/linear.h>

TEST_CASE("convnet-s, convnet-w, convnet-x and convnet-xl forward FLOPs match the hand count", "[core][flops]") {
  auto encoder = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  // Multiply-adds per 28x28 image, output size x C_out x C_in x 3x3:
  // 28*28*32*1*9 + 14*14*64*32*9 + 7*7*128*64*9 + 4*4*256*128*9 = 12,169,728; two FLOPs each.
  CHECK(ssl::encoder_flops_per_image(*encoder, {1, 28, 28}) == 2 * 12169728);
  // Three channels triple only the first layer: 28*28*32*3*9 = 677,376 multiply-adds.
  auto color = ssl::make_encoder("convnet-s", ssl::EncoderOptions(3));
  CHECK(ssl::encoder_flops_per_image(*color, {3, 28, 28}) == 2 * (12169728 - 225792 + 677376));
  // convnet-w's last block: 4*4*1024*128*9 = 18,874,368 multiply-adds instead of 4,718,592.
  auto wide = ssl::make_encoder("convnet-w", ssl::EncoderOptions(1));
  CHECK(ssl::encoder_flops_per_image(*wide, {1, 28, 28}) == 2 * (12169728 - 4718592 + 18874368));
  // convnet-x's last block: 4*4*2048*128*9 = 37,748,736 multiply-adds.
  auto wider = ssl::make_encoder("convnet-x", ssl::EncoderOptions(1));
  CHECK(ssl::encoder_flops_per_image(*wider, {1, 28, 28}) == 2 * (12169728 - 4718592 + 37748736));
  // convnet-xl's last block: 4*4*4096*128*9 = 75,497,472 multiply-adds.
  auto widest = ssl::make_encoder("convnet-xl", ssl::EncoderOptions(1));
  CHECK(ssl::encoder_flops_per_image(*widest, {1, 28, 28}) == 2 * (12169728 - 4718592 + 75497472));
}

TEST_CASE("count_flops counts linear layers by batch and stops counting afterwards", "[core][flops]") {
  torch::nn::Linear linear(16, 8);
  const auto input = torch::randn({5, 16});
  CHECK(ssl::count_flops([&] { linear->forward(input); }) == 2 * 5 * 16 * 8);
  CHECK(ssl::count_flops([] {}) == 0);
}

TEST_CASE("count_flops counts a batched matrix product once", "[core][flops]") {
  const auto a = torch::randn({3, 4, 5});
  const auto b = torch::randn({3, 5, 6});
  CHECK(ssl::count_flops([&] { torch::matmul(a, b); }) == 2 * 3 * 4 * 5 * 6);
}
