#pragma once
// Helpers of the training-run tests (test_loop.cpp, test_methods.cpp, test_simclr.cpp).
#include "sslkit/ssl/checkpoint.h"
#include "sslkit/ssl/device.h"
#include "sslkit/trainers/pretrain.h"

#include <ATen/Parallel.h>
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace ssl::testing {

/// One intra-op thread for these small training runs: with OMP_NUM_THREADS=2 on 2 shared, busy cores, OpenMP's
/// spinning made 18 steps take 45 s instead of 3 s (measured with sslkit pretrain --threads 2 vs 1).
struct SingleThread {
  SingleThread() { at::set_num_threads(1); }
};

/// 192 images in batches of 32: 6 steps per epoch; no time budget, so the schedule depends on steps alone.
inline trainers::PretrainOptions tiny_run(const std::string& dir) {
  return trainers::PretrainOptions()
      .loop(trainers::LoopOptions().out_dir(dir).epochs(3).max_minutes(0).log_every(1))
      .max_images(192)
      .batch_size(32)
      .device(parse_device("cpu"))
      .seed(11);
}

/// `options` with `change` applied to its loop options (`with_loop(tiny_run(d), [](auto& l) { l.epochs(2); })`).
template <typename Change>
trainers::PretrainOptions with_loop(trainers::PretrainOptions options, const Change& change) {
  change(options.loop());
  return options;
}

/// Checks that two saved module states hold the same tensors, bitwise.
inline void require_equal_states(const TensorDict& a, const TensorDict& b) {
  REQUIRE(a.size() == b.size());
  for (const auto& item : a) {
    INFO(item.key());
    const torch::Tensor* other = b.find(item.key());
    REQUIRE(other != nullptr);
    CHECK(torch::equal(item.value(), *other));
  }
}

/// The values of the number field `key` ("loss", "accuracy", ...) of every row of a metrics.jsonl file that has it.
inline std::vector<double> logged_values(const std::string& metrics_path, const std::string& key = "loss") {
  std::ifstream in(metrics_path);
  std::vector<double> values;
  const std::regex field("\"" + key + "\":([-0-9.eE+]+)");
  for (std::string line; std::getline(in, line);) {
    std::smatch match;
    if (std::regex_search(line, match, field)) values.push_back(std::stod(match[1]));
  }
  return values;
}

}  // namespace ssl::testing
