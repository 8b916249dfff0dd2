#include "errors.h"
#include "temp_dir.h"

#include "sslkit/ssl/checkpoint.h"
#include "sslkit/ssl/files.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <tuple>
#include <vector>

using ssl::testing::error_message;
using ssl::testing::TempDir;

TEST_CASE("A checkpoint rebuilds an encoder that gives the same outputs", "[core][checkpoint]") {
  TempDir dir;
  torch::manual_seed(3);
  for (const std::string name : {"convnet-s", "resnet18"}) {
    auto encoder = ssl::make_encoder(name, ssl::EncoderOptions(1));
    // Train-mode passes move the BatchNorm running statistics away from their initial values.
    for (int i = 0; i < 2; ++i) encoder->forward(torch::randn({4, 1, 16, 16}));
    encoder->eval();
    auto input = torch::randn({3, 1, 16, 16});
    auto expected = encoder->forward(input);

    auto checkpoint = ssl::make_checkpoint(name, *encoder, 1, 16);
    checkpoint.metadata.method = "simclr";
    checkpoint.modules["head"] = {{"w", torch::ones({2, 2})}};
    const std::string path = dir.file(name + ".pt");
    ssl::save_checkpoint(checkpoint, path);

    const auto loaded = ssl::load_checkpoint(path);
    CHECK(loaded.metadata.encoder == name);
    CHECK(loaded.metadata.feature_dim == encoder->feature_dim());
    CHECK(loaded.metadata.method == "simclr");
    CHECK(torch::equal(loaded.modules.at("head")["w"], torch::ones({2, 2})));
    auto rebuilt = ssl::rebuild_encoder(loaded);
    CHECK(torch::allclose(rebuilt->forward(input), expected, 1e-6, 1e-6));
  }
  // Atomic write: nothing but the checkpoints is left in the folder.
  int64_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.str())) files += entry.is_regular_file();
  CHECK(files == 2);
}

TEST_CASE("Checkpoints record the stem and patch size, and rebuild ImageNet-stem ResNets and ViTs",
          "[core][checkpoint][encoders]") {
  TempDir dir;
  torch::manual_seed(5);
  for (const auto& [name, options] : std::vector<std::pair<std::string, ssl::EncoderOptions>>{
           {"resnet18", ssl::EncoderOptions(3).image_size(32).stem("imagenet")},
           {"vit-tiny", ssl::EncoderOptions(1).image_size(28).patch_size(7)},
           {"efficientnet-b0", ssl::EncoderOptions(3).image_size(32)}}) {
    INFO(name);
    auto encoder = ssl::make_encoder(name, options);
    for (int i = 0; i < 2; ++i) encoder->forward(torch::randn({4, options.in_channels(), 32, 32}));
    encoder->eval();
    const auto input = torch::randn({2, options.in_channels(), 32, 32});
    const auto expected = encoder->forward(input);
    const std::string path = dir.file(name + ".pt");
    ssl::save_checkpoint(ssl::make_checkpoint(name, *encoder, options.in_channels(), options.image_size()), path);
    const auto loaded = ssl::load_checkpoint(path);
    CHECK(loaded.metadata.stem == encoder->stem());
    CHECK(loaded.metadata.patch_size == encoder->patch_size());
    const auto rebuilt = ssl::rebuild_encoder(loaded);
    CHECK(rebuilt->stem() == encoder->stem());
    CHECK(rebuilt->patch_size() == encoder->patch_size());
    CHECK(torch::allclose(rebuilt->forward(input), expected, 1e-6, 1e-6));
  }
  // A resnet18 checkpoint from before the stem was recorded had the CIFAR stem, even for large images.
  ssl::CheckpointMetadata old;
  old.encoder = "resnet18";
  old.in_channels = 3;
  old.image_size = 128;
  old.feature_dim = 512;
  CHECK(ssl::recorded_encoder_options(old).stem() == "cifar");
  old.encoder = "vit-tiny";
  old.patch_size = 8;
  CHECK(ssl::recorded_encoder_options(old).stem() == "auto");
  CHECK(ssl::recorded_encoder_options(old).patch_size() == 8);
}

TEST_CASE("Loading a damaged or foreign checkpoint is one clear error", "[core][checkpoint][errors]") {
  TempDir dir;
  const std::string path = dir.file("bad.pt");
  ssl::write_file_atomic(path, "this is not a checkpoint");
  CHECK_THROWS_WITH(ssl::load_checkpoint(path), Catch::StartsWith("checkpoint '" + path + "': not a readable sslkit checkpoint"));
  ssl::write_file_atomic(path, "");
  CHECK(error_message([&] { ssl::load_checkpoint(path); }) == "checkpoint '" + path + "': the file is empty");
  CHECK_THROWS_WITH(ssl::load_checkpoint(dir.file("none.pt")), Catch::Contains("none.pt"));

  // A checkpoint whose weights do not fit the encoder its metadata names.
  auto encoder = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  auto checkpoint = ssl::make_checkpoint("convnet-s", *encoder, 1, 28);
  checkpoint.metadata.in_channels = 3;
  ssl::save_checkpoint(checkpoint, path);
  CHECK_THROWS_WITH(ssl::rebuild_encoder(ssl::load_checkpoint(path), "checkpoint 'x'"),
                    Catch::Contains("checkpoint 'x': tensor 'body.0.weight' has shape [32, 1, 3, 3], the module "
                                    "expects [32, 3, 3, 3]"));
  checkpoint.metadata.in_channels = 0;
  ssl::save_checkpoint(checkpoint, path);
  CHECK(error_message([&] { ssl::load_checkpoint(path); }) ==
        "checkpoint '" + path + "': metadata 'in_channels' is '0', expected an integer in [1, 4096]");
}

TEST_CASE("A checkpoint rebuilds the encoder from the weights named, its trained encoder's or a module's",
          "[core][checkpoint]") {
  torch::manual_seed(4);
  auto student = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  auto teacher = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  auto checkpoint = ssl::make_checkpoint("convnet-s", *student, 1, 28);
  checkpoint.modules["teacher_encoder"] = ssl::module_state(*teacher);
  checkpoint.modules["head"] = {{"w", torch::ones({2, 2})}};
  const auto input = torch::randn({2, 1, 28, 28});
  teacher->eval();
  student->eval();
  CHECK(torch::equal(ssl::rebuild_encoder(checkpoint)->forward(input), student->forward(input)));
  CHECK(torch::equal(ssl::rebuild_encoder(checkpoint, "c", "teacher_encoder")->forward(input),
                     teacher->forward(input)));
  CHECK(error_message([&] { ssl::encoder_weights(checkpoint, "teacher", "checkpoint 'c.pt'"); }) ==
        "checkpoint 'c.pt': it holds no weights named 'teacher' (encoder, head, teacher_encoder)");
  CHECK_THROWS_WITH(ssl::rebuild_encoder(checkpoint, "checkpoint 'c.pt'", "head"),
                    Catch::StartsWith("checkpoint 'c.pt' ('head'): "));
}

TEST_CASE("A byte flipped inside the weights, or NaN weights, make a checkpoint refuse to load",
          "[core][checkpoint][errors]") {
  TempDir dir;
  const std::string path = dir.file("c.pt");
  auto encoder = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  auto checkpoint = ssl::make_checkpoint("convnet-s", *encoder, 1, 28);
  // A marker the file stores verbatim: the first conv weights as float32 1, 2, 3, ... (little-endian, contiguous).
  auto& weight = checkpoint.encoder["body.0.weight"];
  weight = torch::arange(1, weight.numel() + 1, torch::kFloat).reshape(weight.sizes());
  ssl::save_checkpoint(checkpoint, path);
  REQUIRE_NOTHROW(ssl::load_checkpoint(path));

  auto bytes = ssl::read_file(path);
  const float marker[3] = {101.0f, 102.0f, 103.0f};
  const auto* begin = reinterpret_cast<const char*>(marker);
  const auto at = std::search(bytes.begin(), bytes.end(), begin, begin + sizeof marker);
  REQUIRE(at != bytes.end());
  at[5] = static_cast<char>(at[5] ^ 0x10);  // weight 102 (bytes 00 00 cc 42) becomes 102.03125
  ssl::write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
  CHECK(error_message([&] { ssl::load_checkpoint(path); }) ==
        "checkpoint '" + path + "': its contents do not match their checksum (the file is damaged)");

  weight[0][0][0][0] = std::numeric_limits<float>::quiet_NaN();
  ssl::save_checkpoint(checkpoint, path);
  CHECK(error_message([&] { ssl::load_checkpoint(path); }) ==
        "checkpoint '" + path + "': tensor 'body.0.weight' of the encoder holds NaN or Inf");
}

TEST_CASE("write_file_atomic replaces the file and reports unwritable paths", "[core][files]") {
  TempDir dir;
  const std::string path = dir.file("f.txt");
  ssl::write_file_atomic(path, "first");
  ssl::write_file_atomic(path, "second");
  auto bytes = ssl::read_file(path);
  CHECK(std::string(bytes.begin(), bytes.end()) == "second");
  CHECK_THROWS_WITH(ssl::write_file_atomic(dir.file("no/such/dir/f"), "x"), Catch::Contains("cannot write"));
}

TEST_CASE("Checkpoint metadata round-trips through its stored dict, and every stored field is range-checked",
          "[core][checkpoint]") {
  ssl::CheckpointMetadata m;
  m.encoder = "convnet-s";
  m.in_channels = 1;
  m.image_size = 28;
  m.feature_dim = 128;
  m.normalization = "0.5;0.25";
  m.data = "fashion-mnist";
  m.seed = 18446744073709551615ULL;
  m.method = "simclr";
  m.epoch = 2;
  m.step = 40;
  m.precision = "bf16";
  m.trainer = {20, 2, 0.1};
  m.run = {{"lr", "0.001"}};
  m.options = {{"batch-size", "32"}};
  const auto stored = ssl::to_stored(m);
  const std::map<std::string, std::string> expected{
      {"encoder", "convnet-s"},        {"in_channels", "1"},
      {"image_size", "28"},            {"feature_dim", "128"},
      {"normalization", "0.5;0.25"},   {"data", "fashion-mnist"},
      {"seed", "18446744073709551615"}, {"method", "simclr"},
      {"epoch", "2"},                  {"step", "40"},
      {"precision", "bf16"},           {"trainer.steps_per_epoch", "20"},
      {"trainer.world_size", "2"},     {"trainer.elapsed_s", "0.10000000000000001"},
      {"run.lr", "0.001"},             {"option.batch-size", "32"}};
  CHECK(stored == expected);
  const auto back = ssl::parse_metadata(stored, "c.pt");
  CHECK(ssl::to_stored(back) == stored);
  CHECK(back.trainer.elapsed_s == 0.1);  // 17 significant digits round-trip a double exactly
  CHECK(*back.seed == 18446744073709551615ULL);

  // An untrained encoder's checkpoint stores its architecture only.
  ssl::CheckpointMetadata bare;
  bare.encoder = "convnet-s";
  bare.in_channels = 3;
  bare.image_size = 32;
  bare.feature_dim = 128;
  CHECK(ssl::to_stored(bare).size() == 4);
  CHECK(ssl::parse_metadata(ssl::to_stored(bare), "c.pt").method.empty());

  const std::vector<std::tuple<std::string, std::string, std::string>> bad{
      {"in_channels", "one", "expected an integer in [1, 4096]"},
      {"image_size", "0", "expected an integer in [1, 65536]"},
      {"feature_dim", "-3", "expected an integer in [1, 1099511627776]"},
      {"step", "12x", "expected an integer in [0, 1099511627776]"},
      {"epoch", "-1", "expected an integer in [0, 1099511627776]"},
      {"seed", "-1", "expected an integer in [0, 18446744073709551615]"},
      {"precision", "fp8", "expected one of fp32, bf16, fp16"},
      {"trainer.world_size", "0", "expected an integer in [1, 65536]"},
      {"trainer.steps_per_epoch", "0", "expected an integer in [1, 1099511627776]"},
      {"trainer.elapsed_s", "nan", "expected a number of seconds >= 0"},
      {"trainer.elapsed_s", "-2", "expected a number of seconds >= 0"},
      {"stem", "vgg", "expected cifar or imagenet"},
      {"patch_size", "0", "expected an integer in [1, 65536]"},
  };
  for (const auto& [key, value, expectation] : bad) {
    auto damaged = stored;
    damaged[key] = value;
    CHECK(error_message([&] { ssl::parse_metadata(damaged, "checkpoint 'c.pt'"); }) ==
          "checkpoint 'c.pt': metadata '" + key + "' is '" + value + "', " + expectation);
  }
  auto unknown = stored;
  unknown["colour"] = "blue";
  CHECK(error_message([&] { ssl::parse_metadata(unknown, "checkpoint 'c.pt'"); }) ==
        "checkpoint 'c.pt': metadata has an unknown key 'colour'");
  auto missing = stored;
  missing.erase("encoder");
  CHECK(error_message([&] { ssl::parse_metadata(missing, "checkpoint 'c.pt'"); }) ==
        "checkpoint 'c.pt': metadata has no 'encoder' entry");
}
