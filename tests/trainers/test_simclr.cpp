#include "temp_dir.h"
#include "trainers/run_helpers.h"

#include "sslkit/ssl/checkpoint.h"
#include "sslkit/trainers/optim.h"
#include "sslkit/trainers/pretrain.h"
#include "sslkit/trainers/schedule.h"

#include <catch2/catch.hpp>

using ssl::testing::logged_values;
using ssl::testing::TempDir;
namespace T = ssl::trainers;

TEST_CASE("A short SimCLR run on a Fashion-MNIST subset lowers the loss and saves a usable checkpoint",
          "[trainers][simclr]") {
  torch::set_num_threads(1);  // two OpenMP threads spin badly when the cores are shared
  TempDir dir;
  const auto options = T::PretrainOptions()
                           .loop(T::LoopOptions().out_dir(dir.str()).epochs(5).max_minutes(0).log_every(8))
                           .max_images(512)
                           .batch_size(64)
                           .device(ssl::parse_device("cpu"))
                           .seed(7)
                           .recorded_options({{"lr", "0.001"}});
  const auto result = T::pretrain(options);
  CHECK(result.steps == 40);
  CHECK(result.epochs == 5);
  const auto losses = logged_values(dir.file("metrics.jsonl"));
  REQUIRE(losses.size() == 5);
  INFO("first epoch loss " << losses.front() << ", last " << losses.back());
  // NT-Xent over 2*64 samples starts near log(127) = 4.84 (the first epoch's mean is lower, since it learns
  // within the epoch: 4.26 with seed 7 on the default convnet-w); a working pipeline then learns well below it.
  CHECK(losses.front() > 3.9);
  CHECK(losses.back() < losses.front() - 0.5);

  const auto checkpoint = ssl::load_checkpoint(result.checkpoint);
  CHECK(checkpoint.metadata.method == "simclr");
  CHECK(checkpoint.metadata.epoch == 5);
  CHECK(checkpoint.metadata.step == 40);
  CHECK(checkpoint.metadata.options.at("lr") == "0.001");
  CHECK(checkpoint.modules.count("head") == 1);
  auto encoder = ssl::rebuild_encoder(checkpoint);
  CHECK(encoder->forward(torch::randn({2, 1, 28, 28})).size(1) == 1024);  // convnet-w, the default
}

TEST_CASE("Warmup then cosine: 0 -> 1 linearly, then down to the final fraction", "[trainers][schedule]") {
  CHECK(T::warmup_cosine(0.0, 0.1) == Approx(0.001 / 0.101));
  CHECK(T::warmup_cosine(0.1, 0.1) == Approx(1.0));
  CHECK(T::warmup_cosine(0.55, 0.1) == Approx(0.5));  // halfway through the cosine: (1 + cos(pi/2)) / 2
  CHECK(T::warmup_cosine(1.0, 0.1) == Approx(0.0).margin(1e-12));
  CHECK(T::warmup_cosine(1.0, 0.0, 0.1) == Approx(0.1));
  CHECK(T::warmup_cosine(2.0, 0.0) == Approx(0.0).margin(1e-12));  // clamped
}

TEST_CASE("Optimizers put biases and BatchNorm parameters in the group without weight decay", "[trainers][optim]") {
  auto encoder = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  for (const std::string name : {"adam", "adamw", "sgd", "lars"}) {
    auto optimizer = T::make_optimizer({encoder}, T::OptimizerOptions().name(name).weight_decay(0.05));
    REQUIRE(optimizer->param_groups().size() == 2);
    CHECK(optimizer->param_groups()[0].params().size() == 4);  // the four conv weights
    CHECK(optimizer->param_groups()[1].params().size() == 8);  // BatchNorm weights and biases
    T::set_learning_rate(*optimizer, 0.25);
    CHECK(optimizer->param_groups()[1].options().get_lr() == 0.25);
  }
  CHECK_THROWS_WITH(T::make_optimizer({encoder}, T::OptimizerOptions().name("lbfgs")),
                    Catch::Contains("unknown optimizer 'lbfgs': expected one of adam, adamw, sgd, lars"));
}

TEST_CASE("Pretraining refuses bad options before touching the output", "[trainers][errors]") {
  TempDir dir;
  CHECK_THROWS_WITH(T::pretrain(T::PretrainOptions().loop(T::LoopOptions().out_dir(dir.file("run"))).batch_size(1)),
                    Catch::Contains("batch size must be >= 2"));
  CHECK_THROWS_WITH(T::pretrain(T::PretrainOptions()
                                    .loop(T::LoopOptions().out_dir(dir.file("run")))
                                    .method("nope")
                                    .device(ssl::parse_device("cpu"))),
                    Catch::Contains("unknown method 'nope': expected one of simclr"));
  CHECK_FALSE(std::filesystem::exists(dir.file("run/checkpoint.pt")));
}
