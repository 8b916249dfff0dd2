#include "errors.h"
#include "temp_dir.h"
#include "trainers/run_helpers.h"

#include "sslkit/data/views/rotations.h"
#include "sslkit/data/views/two_views.h"
#include "sslkit/ssl/checkpoint.h"
#include "sslkit/trainers/loop.h"
#include "sslkit/trainers/eval/metrics.h"
#include "sslkit/trainers/optim.h"
#include "sslkit/trainers/plot.h"
#include "sslkit/trainers/precision.h"
#include "sslkit/trainers/pretrain.h"

#include <ATen/Parallel.h>
#include <catch2/catch.hpp>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

using ssl::testing::error_message;
using ssl::testing::logged_values;
using ssl::testing::require_equal_states;
using ssl::testing::SingleThread;
using ssl::testing::tiny_run;
using ssl::testing::with_loop;
using ssl::testing::TempDir;
namespace T = ssl::trainers;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// SimCLR seen through a wrapper whose `step` a test overrides to watch or alter what the loop passes and gets.
class WrappedSimCLR : public T::Method {
 public:
  explicit WrappedSimCLR(ssl::Encoder encoder) : inner_(std::move(encoder), {}) {}
  std::string name() const override { return "simclr"; }
  ssl::Encoder encoder() const override { return inner_.encoder(); }
  std::vector<std::shared_ptr<torch::nn::Module>> modules() const override { return inner_.modules(); }
  std::shared_ptr<const ssl::data::ViewMaker> view_maker(const ssl::data::Normalization& norm) const override {
    return inner_.view_maker(norm);
  }
  T::StepOutput step(const ssl::data::Batch& batch) override { return inner_.step(batch); }
  std::map<std::string, ssl::TensorDict> extra_state() const override { return inner_.extra_state(); }

 private:
  T::SimCLR inner_;
};

// SimCLR whose loss turns NaN on call `bad_call` (0-based), for the NaN guard.
class NanAfter : public WrappedSimCLR {
 public:
  NanAfter(ssl::Encoder encoder, int64_t bad_call) : WrappedSimCLR(std::move(encoder)), bad_call_(bad_call) {}
  T::StepOutput step(const ssl::data::Batch& batch) override {
    auto out = WrappedSimCLR::step(batch);
    if (calls_++ == bad_call_) out.loss = out.loss * std::numeric_limits<float>::quiet_NaN();
    return out;
  }

 private:
  int64_t bad_call_;
  int64_t calls_ = 0;
};

// SimCLR that records the sides of the two views each step receives.
class SideRecorder : public WrappedSimCLR {
 public:
  using WrappedSimCLR::WrappedSimCLR;
  T::StepOutput step(const ssl::data::Batch& batch) override {
    sides.push_back({batch.views[0].size(2), batch.views[0].size(3), batch.views[1].size(2), batch.views[1].size(3)});
    return WrappedSimCLR::step(batch);
  }
  std::vector<std::vector<int64_t>> sides;
};

// An encoder whose features are all NaN (a registered encoder, so that pretrain builds it by name).
class NanFeaturesImpl : public ssl::EncoderImpl {
 public:
  explicit NanFeaturesImpl(int64_t channels) : ssl::EncoderImpl("NanFeatures") {
    conv_ = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, 8, 3)));
  }
  torch::Tensor feature_map(const torch::Tensor& x) override {
    return conv_->forward(x) * std::numeric_limits<float>::quiet_NaN();
  }
  int64_t feature_dim() const override { return 8; }

 private:
  torch::nn::Conv2d conv_{nullptr};
};

}  // namespace

TEST_CASE("LARS: two steps equal the hand-computed update, and its state survives save/load", "[trainers][optim]") {
  // w = [3, 4], g = [0.6, 0.8], lr 0.1, momentum 0.9, weight decay 0.1, trust coefficient 0.001:
  // g' = g + 0.1 w = [0.9, 1.2] (|g'| = 1.5), trust = 0.001 * 5 / 1.5, v = 0.1 * trust * g' = [3e-4, 4e-4],
  // w = [2.9997, 3.9996]. Step 2: |w| = 4.9995, g' = [0.89997, 1.19996] (|g'| = 1.49995),
  // v = 0.9 v + 0.1 * (0.001 * 4.9995 / 1.49995) g' -> w = [2.99913003, 3.99884004] (float64 by hand/Python).
  // The bias (no decay, no trust ratio): v = 0.1 * 0.5 = 0.05 -> 1.95; v = 0.9 * 0.05 + 0.05 -> 1.855.
  auto make = [] {
    auto w = torch::tensor({{3.0, 4.0}}, torch::kDouble).requires_grad_(true);
    auto b = torch::tensor({2.0}, torch::kDouble).requires_grad_(true);
    const auto base = T::LARSOptions(0.1).momentum(0.9);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(std::vector<torch::Tensor>{w}, std::make_unique<T::LARSOptions>(T::LARSOptions(base).weight_decay(0.1)));
    groups.emplace_back(std::vector<torch::Tensor>{b}, std::make_unique<T::LARSOptions>(T::LARSOptions(base).adapt(false)));
    return std::make_tuple(w, b, std::make_unique<T::LARS>(std::move(groups), base));
  };
  auto set_grads = [](torch::Tensor& w, torch::Tensor& b) {
    w.mutable_grad() = torch::tensor({{0.6, 0.8}}, torch::kDouble);
    b.mutable_grad() = torch::tensor({0.5}, torch::kDouble);
  };
  auto [w, b, lars] = make();
  set_grads(w, b);
  lars->step();
  CHECK(w[0][0].item<double>() == Approx(2.9997).epsilon(1e-12));
  CHECK(w[0][1].item<double>() == Approx(3.9996).epsilon(1e-12));
  CHECK(b[0].item<double>() == Approx(1.95).epsilon(1e-12));

  torch::serialize::OutputArchive saved;
  lars->save(saved);
  std::stringstream bytes;
  saved.save_to(bytes);

  set_grads(w, b);
  lars->step();
  CHECK(w[0][0].item<double>() == Approx(2.99913003).epsilon(1e-12));
  CHECK(w[0][1].item<double>() == Approx(3.99884004).epsilon(1e-12));
  CHECK(b[0].item<double>() == Approx(1.855).epsilon(1e-12));

  // A fresh optimizer loaded with the state after step 1 takes the same second step.
  auto [w2, b2, lars2] = make();
  {
    torch::NoGradGuard no_grad;
    w2.copy_(torch::tensor({{2.9997, 3.9996}}, torch::kDouble));
    b2.fill_(1.95);
  }
  torch::serialize::InputArchive loaded;
  loaded.load_from(bytes);
  lars2->load(loaded);
  set_grads(w2, b2);
  lars2->step();
  CHECK(w2[0][0].item<double>() == Approx(2.99913003).epsilon(1e-12));
  CHECK(b2[0].item<double>() == Approx(1.855).epsilon(1e-12));
}

TEST_CASE("Dynamic loss scaling unscales gradients, backs off on inf and grows after finite steps",
          "[trainers][precision]") {
  T::LossScaler scaler(T::LossScalerOptions().initial_scale(16).growth_interval(2));
  auto p = torch::zeros({2}).requires_grad_(true);
  p.mutable_grad() = torch::tensor({32.0f, -8.0f});
  CHECK(scaler.unscale({p}));
  CHECK(torch::equal(p.grad(), torch::tensor({2.0f, -0.5f})));
  scaler.update(true);
  CHECK(scaler.scale() == 16);
  scaler.update(true);
  CHECK(scaler.scale() == 32);  // two finite steps in a row: x2
  p.mutable_grad() = torch::tensor({1.0f, std::numeric_limits<float>::infinity()});
  CHECK_FALSE(scaler.unscale({p}));
  scaler.update(false);
  CHECK(scaler.scale() == 16);  // x0.5
  CHECK(scaler.growth_tracker() == 0);
}

TEST_CASE("Precision auto: bf16 where /proc/cpuinfo lists avx512_bf16 or amx_bf16, fp32 elsewhere",
          "[trainers][precision]") {
  CHECK(T::parse_precision("auto") == T::Precision::Auto);
  CHECK(T::to_string(T::Precision::Auto) == "auto");
  // Flag lines as Linux writes them (a Sapphire Rapids core, a Cascade Lake core, an AMD Zen 2 core).
  CHECK(T::cpuinfo_has_fast_bf16("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 amx_bf16 amx_tile\n"));
  CHECK(T::cpuinfo_has_fast_bf16("flags\t\t: fpu avx512f avx512_vnni amx_bf16\n"));
  CHECK_FALSE(T::cpuinfo_has_fast_bf16("processor\t: 0\nflags\t\t: fpu avx512f avx512_vnni avx512_bf16x\n"));
  CHECK_FALSE(T::cpuinfo_has_fast_bf16("flags\t\t: fpu sse2 avx2 sha_ni\n"));
  CHECK_FALSE(T::cpuinfo_has_fast_bf16(""));
  CHECK_FALSE(T::cpuinfo_has_fast_bf16("vmx flags\t: avx512_bf16\n"));  // not the flags line
  // Auto resolves to one of the two, never to itself or fp16.
  const auto resolved = T::check_precision(T::Precision::Auto, torch::kCPU);
  CHECK(resolved == (T::has_fast_bf16(torch::kCPU) ? T::Precision::BF16 : T::Precision::FP32));
  // An encoder whose bf16 kernels are the slower ones on CPU (EfficientNet's depthwise convolutions) keeps fp32.
  CHECK(T::check_precision(T::Precision::Auto, torch::kCPU, false) == T::Precision::FP32);
  CHECK(T::check_precision(T::Precision::BF16, torch::kCPU, false) == T::Precision::BF16);
  CHECK_FALSE(ssl::make_encoder("efficientnet-b0", ssl::EncoderOptions(1))->bf16_faster_on_cpu());
  CHECK(ssl::make_encoder("convnet-w", ssl::EncoderOptions(1))->bf16_faster_on_cpu());
  CHECK(ssl::make_encoder("vit-tiny", ssl::EncoderOptions(1))->bf16_faster_on_cpu());
}

TEST_CASE("Precision: names, fp16 refused on CPU, CPU autocast to bf16 with fp32 scopes for losses",
          "[trainers][precision]") {
  CHECK(T::parse_precision("bf16") == T::Precision::BF16);
  CHECK(error_message([] { T::parse_precision("fp8"); }) ==
        "unknown precision 'fp8': expected one of auto, fp32, bf16, fp16");
  CHECK(error_message([] { T::check_precision(T::Precision::FP16, torch::kCPU); }) ==
        "precision fp16 needs a CUDA device (on CPU use bf16 or fp32)");
  const auto a = torch::randn({4, 4});
  {
    T::AutocastGuard autocast(T::Precision::BF16, torch::kCPU);
    CHECK(a.matmul(a).scalar_type() == torch::kBFloat16);
    T::Fp32Scope fp32;
    CHECK(a.matmul(a).scalar_type() == torch::kFloat);
  }
  CHECK(a.matmul(a).scalar_type() == torch::kFloat);
  T::AutocastGuard off(T::Precision::FP32, torch::kCPU);
  CHECK(a.matmul(a).scalar_type() == torch::kFloat);
}

TEST_CASE("Metrics: a resumed run drops rows after its checkpoint, and the CSV has one column per key",
          "[trainers][metrics]") {
  TempDir dir;
  const auto jsonl = dir.file("metrics.jsonl");
  std::ofstream(jsonl) << "{\"epoch\":0,\"step\":1,\"loss\":4.5,\"lr\":0.001}\n"
                          "{\"epoch\":0,\"step\":2,\"loss\":4.25,\"lr\":0.002,\"knn_accuracy\":0.5}\n"
                          "{\"epoch\":1,\"step\":3,\"loss\":null,\"lr\":0.002,\"note\":\"a,\\\"b\\\"\"}\n";
  ssl::eval::write_metrics_csv(jsonl, dir.file("metrics.csv"));
  CHECK(read_text(dir.file("metrics.csv")) ==
        "epoch,step,loss,lr,knn_accuracy,note\n"
        "0,1,4.5,0.001,,\n"
        "0,2,4.25,0.002,0.5,\n"
        "1,3,,0.002,,\"a,\"\"b\"\"\"\n");
  ssl::eval::truncate_metrics(jsonl, 2);
  CHECK(read_text(jsonl) ==
        "{\"epoch\":0,\"step\":1,\"loss\":4.5,\"lr\":0.001}\n"
        "{\"epoch\":0,\"step\":2,\"loss\":4.25,\"lr\":0.002,\"knn_accuracy\":0.5}\n");
}

TEST_CASE("Resume: 7 steps, stop, resume to 18 gives bitwise the weights of an uninterrupted 18-step run",
          "[trainers][resume]") {
  SingleThread single_thread;
  // Bitwise, not within a tolerance: on CPU every op of a step is deterministic for a fixed thread count, the
  // batches depend on (seed, epoch, step) only (workers 0 and 1 give the same ones), and the checkpoint restores
  // weights, BatchNorm buffers, Adam's moments and step counts exactly, so no rounding can differ.
  TempDir dir;
  const auto whole = T::pretrain(with_loop(tiny_run(dir.file("whole")).workers(1), [](auto& l) { l.checkpoint_every(4); }));
  REQUIRE(whole.steps == 18);

  const auto first =
      T::pretrain(with_loop(tiny_run(dir.file("split")).workers(0), [](auto& l) { l.max_steps(7).checkpoint_every(4); }));
  REQUIRE(first.steps == 7);
  CHECK(ssl::load_checkpoint(first.checkpoint).metadata.step == 7);
  const auto second = T::pretrain(
      with_loop(tiny_run(dir.file("split")).workers(1).resume(true), [](auto& l) { l.checkpoint_every(4); }));
  CHECK(second.resumed_from_step == 7);
  CHECK(second.steps == 18);

  const auto a = ssl::load_checkpoint(whole.checkpoint);
  const auto b = ssl::load_checkpoint(second.checkpoint);
  require_equal_states(a.encoder, b.encoder);
  require_equal_states(a.modules.at("head"), b.modules.at("head"));
  // The metrics of the resumed run continue the interrupted one's: same rows as the uninterrupted run up to
  // the timing columns, which differ.
  auto losses = [](const std::string& path) {
    std::ifstream in(path);
    std::string all;
    for (std::string line; std::getline(in, line);) all += line.substr(0, line.find(",\"images_per_second\"")) + "\n";
    return all;
  };
  CHECK(losses(dir.file("whole/metrics.jsonl")) == losses(dir.file("split/metrics.jsonl")));
  CHECK(std::filesystem::exists(dir.file("split/metrics.csv")));
}

TEST_CASE("Resume is bitwise too with LARS, gradient clipping and CPU bf16 autocast", "[trainers][resume]") {
  SingleThread single_thread;
  TempDir dir;
  auto run = [&](const std::string& name) {
    return with_loop(tiny_run(dir.file(name)), [](auto& l) {
      l.epochs(2)
          .optimizer(T::OptimizerOptions().name("lars").lr(0.5).weight_decay(1e-4))
          .clip_grad_norm(1.0)
          .precision(T::Precision::BF16);
    });
  };
  const auto whole = T::pretrain(run("whole"));
  REQUIRE(whole.steps == 12);
  CHECK(whole.precision == "bf16 (CPU autocast)");
  T::pretrain(with_loop(run("split"), [](auto& l) { l.max_steps(5); }));
  const auto resumed = T::pretrain(run("split").resume(true));
  CHECK(resumed.resumed_from_step == 5);
  const auto a = ssl::load_checkpoint(whole.checkpoint);
  const auto b = ssl::load_checkpoint(resumed.checkpoint);
  require_equal_states(a.encoder, b.encoder);
  require_equal_states(a.modules.at("head"), b.modules.at("head"));
  // The metrics record the gradient norm (before clipping) of every step.
  CHECK(read_text(dir.file("whole/metrics.jsonl")).find("\"grad_norm\":") != std::string::npos);
}

TEST_CASE("Resume refuses options that change the run, and a directory without a checkpoint", "[trainers][resume]") {
  SingleThread single_thread;
  TempDir dir;
  T::pretrain(with_loop(tiny_run(dir.str()), [](auto& l) { l.max_steps(2); }));
  CHECK(error_message([&] {
          T::pretrain(with_loop(tiny_run(dir.str()).resume(true), [](auto& l) { l.optimizer().lr(0.5); }));
        }) ==
        "cannot resume '" + dir.str() + "': lr is 0.5 here but 0.002 in the interrupted run (options that change "
        "the run must match its options.ini)");
  CHECK(error_message([&] { T::pretrain(tiny_run(dir.file("empty")).resume(true)); }) ==
        "cannot resume '" + dir.file("empty") + "': it holds no checkpoint.pt");
}

TEST_CASE("A NaN loss stops the run naming the step, without touching the weights or the last checkpoint",
          "[trainers][nan]") {
  SingleThread single_thread;
  TempDir dir;
  auto options = with_loop(tiny_run(dir.str()).workers(0), [](auto& l) { l.checkpoint_every(5); });
  torch::manual_seed(options.seed());
  auto train = ssl::data::head(ssl::data::open_source(options.data(), ssl::data::Split::Train), options.max_images());
  const auto norm = ssl::data::compute_normalization(*train);
  auto encoder = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  NanAfter method(encoder, /*bad_call=*/5);
  ssl::data::Loader loader(train, method.view_maker(norm), ssl::data::LoaderOptions(32).workers(0).seed(11));
  const auto metadata = ssl::make_checkpoint("convnet-s", *encoder, 1, 28).metadata;
  const std::string path = dir.file("checkpoint.pt");
  CHECK(error_message([&] { T::train_loop(method, loader, options.loop(), metadata); }) ==
        "loss is nan at step 6 (epoch 1); the last checkpoint '" + path + "' (step 5) is intact");
  const auto checkpoint = ssl::load_checkpoint(path);
  CHECK(checkpoint.metadata.step == 5);
  // The weights in memory are those of the checkpoint: the NaN step updated none (its forward pass did move the
  // BatchNorm running statistics, which the checkpoint keeps as they were).
  for (const auto& p : encoder->named_parameters()) {
    INFO(p.key());
    CHECK(torch::equal(checkpoint.encoder[p.key()], p.value()));
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir.str()))
    CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);
}

TEST_CASE("The kNN monitor scores the encoder at each epoch end, in the result and the metrics files",
          "[trainers][knn]") {
  SingleThread single_thread;
  TempDir dir;
  const auto result = T::pretrain(
      with_loop(tiny_run(dir.str()).knn_monitor(true).knn_subset(400), [](auto& l) { l.epochs(1).log_every(100); }));
  // 400 bank images, 400 test images, 10 classes: chance is 0.1; even a barely trained encoder's features
  // separate Fashion-MNIST classes far better (the random-init encoder's linear probe reaches 83%).
  CHECK(result.knn_accuracy > 0.3);
  CHECK(result.knn_accuracy <= 1.0);
  const auto csv = read_text(dir.file("metrics.csv"));
  CHECK(csv.substr(0, csv.find('\n')) == "epoch,step,loss,lr,knn_accuracy,images_per_second,elapsed_s");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 2);  // header + the epoch-end row
}

TEST_CASE("The training plot is an 800x400 RGB PNG with the loss in blue and kNN accuracy in orange",
          "[trainers][plot]") {
  TempDir dir;
  // Loss 2 -> 1 over steps 0..10 fills the left axis range; step 5, loss 1.5 lands at pixel (405, 190)
  // (x = 70 + 5/10 * 670, y = 360 - 0.5 * 340). kNN 0.75 at step 10 lands at (740, 105) on the 0-1 right axis.
  T::write_training_plot({{0, 2.0}, {5, 1.5}, {10, 1.0}}, {{10, 0.75}}, dir.file("plot.png"));
  const auto png = read_text(dir.file("plot.png"));
  REQUIRE(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(png[at])) << 24) | (uint32_t(uint8_t(png[at + 1])) << 16) |
           (uint32_t(uint8_t(png[at + 2])) << 8) | uint32_t(uint8_t(png[at + 3]));
  };
  CHECK(png.substr(12, 4) == "IHDR");
  CHECK(be32(16) == 800);
  CHECK(be32(20) == 400);
  const size_t idat = 8 + 12 + 13;  // signature, IHDR chunk
  REQUIRE(png.substr(idat + 4, 4) == "IDAT");
  std::string raw(400 * (1 + 800 * 3), '\0');
  uLongf size = raw.size();
  REQUIRE(uncompress(reinterpret_cast<Bytef*>(raw.data()), &size, reinterpret_cast<const Bytef*>(png.data() + idat + 8),
                     be32(idat)) == Z_OK);
  REQUIRE(size == raw.size());
  auto pixel = [&](int x, int y) {
    const size_t at = static_cast<size_t>(y) * (1 + 800 * 3) + 1 + static_cast<size_t>(x) * 3;
    return std::vector<int>{uint8_t(raw[at]), uint8_t(raw[at + 1]), uint8_t(raw[at + 2])};
  };
  CHECK(pixel(405, 190) == std::vector<int>{31, 119, 180});
  CHECK(pixel(738, 105) == std::vector<int>{255, 127, 14});
  CHECK(pixel(300, 300) == std::vector<int>{255, 255, 255});
}

TEST_CASE("A new run refuses a directory that holds a run unless it overwrites it, which removes the old results",
          "[trainers][rundir]") {
  SingleThread single_thread;
  TempDir dir;
  const auto two_steps = with_loop(tiny_run(dir.str()), [](auto& l) { l.max_steps(2); });
  T::pretrain(two_steps);
  std::ofstream(dir.file("probe.json")) << "{\"test_accuracy\":0.9}\n";  // an evaluation of the old run
  CHECK(error_message([&] { T::pretrain(two_steps); }) ==
        "'" + dir.str() + "' already holds a run (checkpoint.pt): resume it, or start over by overwriting it");
  const auto again = T::pretrain(T::PretrainOptions(two_steps).overwrite(true));
  CHECK(again.steps == 2);
  CHECK(again.resumed_from_step == 0);
  CHECK_FALSE(std::filesystem::exists(dir.file("probe.json")));
  CHECK(logged_values(dir.file("metrics.jsonl")).size() == 2);  // the new run's rows alone
}

TEST_CASE("A run that fails before its first checkpoint leaves nothing at a fresh directory", "[trainers][rundir]") {
  SingleThread single_thread;
  TempDir dir;
  const std::string out = dir.file("fresh/run");
  auto options = tiny_run(out).method("no-such-method").recorded_options({{"method", "no-such-method"}});
  CHECK(error_message([&] { T::pretrain(options); }).rfind("unknown method 'no-such-method'", 0) == 0);
  CHECK_FALSE(std::filesystem::exists(out));
  // A NaN loss at the first step, after options.ini and metrics.jsonl were written: removed with the directory.
  ssl::register_encoder("nan-features", [](const ssl::EncoderOptions& o) -> ssl::Encoder {
    return std::make_shared<NanFeaturesImpl>(o.in_channels());
  });
  options.method("simclr").encoder("nan-features");
  CHECK(error_message([&] { T::pretrain(options); }) == "loss is nan at step 1 (epoch 1); no checkpoint was written");
  CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("Resume refuses a checkpoint whose step lies outside the run's schedule", "[trainers][resume]") {
  SingleThread single_thread;
  TempDir dir;
  T::pretrain(with_loop(tiny_run(dir.str()), [](auto& l) { l.max_steps(2); }));
  const std::string path = dir.file("checkpoint.pt");
  auto checkpoint = ssl::load_checkpoint(path);
  checkpoint.metadata.step = 99999999;
  ssl::save_checkpoint(checkpoint, path);
  // 3 epochs of 6 steps: steps 0..18.
  CHECK(error_message([&] { T::pretrain(tiny_run(dir.str()).resume(true)); }) ==
        "cannot resume from '" + path + "': its step 99999999 is outside this run's schedule of 18 steps (0..18)");
  // A negative step is refused when the file is read, before any run starts.
  checkpoint.metadata.step = -5;
  ssl::save_checkpoint(checkpoint, path);
  CHECK(error_message([&] { T::pretrain(tiny_run(dir.str()).resume(true)); }) ==
        "checkpoint '" + path + "': metadata 'step' is '-5', expected an integer in [0, 1099511627776]");
}

TEST_CASE("Progressive resizing: the start side, then a linear ramp to the full side, rounded to the multiple",
          "[trainers][resize]") {
  const auto o = T::ProgressiveResizeOptions().start_side(16).ramp_start(0.3).ramp_end(0.8);
  CHECK(T::resized_side(o, 28, 0.0, 2) == 16);
  CHECK(T::resized_side(o, 28, 0.3, 2) == 16);
  CHECK(T::resized_side(o, 28, 0.4, 2) == 18);   // 16 + 0.2 * 12 = 18.4
  CHECK(T::resized_side(o, 28, 0.55, 2) == 22);  // halfway: 22
  CHECK(T::resized_side(o, 28, 0.55, 4) == 24);  // 22 / 4 = 5.5 rounds to 6 patches of 4
  CHECK(T::resized_side(o, 28, 0.55, 1) == 22);
  CHECK(T::resized_side(o, 28, 0.79, 2) == 28);  // 27.76
  CHECK(T::resized_side(o, 27, 0.79, 2) == 26);  // 26.78: the nearest even side
  CHECK(T::resized_side(o, 27, 0.8, 2) == 27);   // 28 by rounding, but never above the full side
  CHECK(T::resized_side(o, 28, 1.0, 2) == 28);
  CHECK(T::resized_side(T::ProgressiveResizeOptions(), 28, 0.0, 2) == 28);  // off
  CHECK(T::resized_side(o, 12, 0.0, 2) == 12);                               // start above the views' side

  CHECK(error_message([] { T::validate(T::ProgressiveResizeOptions().start_side(-1)); }) ==
        "progressive resizing: start side must be >= 0 (0: off), got -1");
  CHECK(error_message([] { T::validate(T::ProgressiveResizeOptions().ramp_start(0.5).ramp_end(0.5)); }) ==
        "progressive resizing: expected a ramp 0 <= start < end <= 1, got start 0.5 and end 0.5");
  CHECK(error_message([] { T::validate(T::ProgressiveResizeOptions().ramp_end(1.5)); }) ==
        "progressive resizing: expected a ramp 0 <= start < end <= 1, got start 0.3 and end 1.5");
}

TEST_CASE("Progressive resizing area-downsamples the listed views only, keeping their memory format",
          "[trainers][resize]") {
  ssl::data::Batch batch;
  // Small integers: sums of four and their quarters are exact in float32, so the check is exact.
  const auto global = torch::arange(2 * 3 * 28 * 28, torch::kFloat).remainder(97).reshape({2, 3, 28, 28});
  batch.views = {global.contiguous(torch::MemoryFormat::ChannelsLast), global.clone(), torch::rand({2, 3, 14, 14})};
  const auto resized = T::resize_views(batch, {0, 2}, 14);
  // A 28 -> 14 area downsampling is the mean of each 2x2 block.
  const auto blocks = global.reshape({2, 3, 14, 2, 14, 2}).mean({3, 5});
  CHECK(resized.views[0].sizes() == torch::IntArrayRef({2, 3, 14, 14}));
  CHECK(torch::equal(resized.views[0], blocks));
  CHECK(resized.views[0].is_contiguous(torch::MemoryFormat::ChannelsLast));
  CHECK(resized.views[1].data_ptr() == batch.views[1].data_ptr());  // not listed
  CHECK(resized.views[2].data_ptr() == batch.views[2].data_ptr());  // already at the side
  CHECK(T::resize_views(batch, {0}, 20).views[0].sizes() == torch::IntArrayRef({2, 3, 20, 20}));
}

TEST_CASE("Progressive resizing refuses views that are not crops, a start side at the views' side, and one below a "
          "ViT's patch",
          "[trainers][resize]") {
  const auto source = ssl::data::head(ssl::data::open_source("fashion-mnist", ssl::data::Split::Train), 64);
  const ssl::data::Normalization norm{{0.5}, {0.25}};
  const auto convnet = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  const auto o = T::ProgressiveResizeOptions().start_side(16);
  const ssl::data::TwoViews two_views({}, norm);
  T::check_progressive_resize(o, two_views, *source, *convnet);
  T::check_progressive_resize(T::ProgressiveResizeOptions(), ssl::data::Rotations({}, norm), *source, *convnet);
  CHECK(error_message([&] {
          T::check_progressive_resize(o, ssl::data::Rotations({}, norm), *source, *convnet);
        }) == "progressive resizing: the 'rotations' views of this method are not crops of the whole image and "
              "cannot be resized (two-views and multi-crop views can)");
  CHECK(error_message([&] {
          T::check_progressive_resize(T::ProgressiveResizeOptions().start_side(28), two_views, *source, *convnet);
        }) == "progressive resizing: start side 28 is not below the views' side 28 (0 turns resizing off)");
  const auto vit = ssl::make_encoder("vit-tiny", ssl::EncoderOptions(1).patch_size(7));
  CHECK(T::resize_multiple(*vit) == 7);
  CHECK(T::resize_multiple(*convnet) == 2);
  CHECK(error_message([&] {
          T::check_progressive_resize(T::ProgressiveResizeOptions().start_side(4), two_views, *source, *vit);
        }) == "progressive resizing: start side 4 is below the encoder's smallest input step of 7 pixels");
}

TEST_CASE("Progressive resizing: the steps see the scheduled side, the metrics record it, and resume stays bitwise",
          "[trainers][resize]") {
  SingleThread single_thread;
  TempDir dir;
  const auto resize = T::ProgressiveResizeOptions().start_side(14).ramp_start(0.25).ramp_end(0.75);
  auto options = with_loop(tiny_run(dir.file("recorded")).workers(0), [&](auto& l) { l.progressive_resize(resize); });
  std::filesystem::create_directories(dir.file("recorded"));
  torch::manual_seed(options.seed());
  auto train = ssl::data::head(ssl::data::open_source(options.data(), ssl::data::Split::Train), options.max_images());
  SideRecorder method(ssl::make_encoder("convnet-s", ssl::EncoderOptions(1)));
  ssl::data::Loader loader(train, method.view_maker(ssl::data::compute_normalization(*train)),
                           ssl::data::LoaderOptions(32).workers(0).seed(11));
  const auto metadata = ssl::make_checkpoint("convnet-s", *method.encoder(), 1, 28).metadata;
  T::train_loop(method, loader, options.loop(), metadata);
  // 18 steps; step s runs at progress s / 18: 14 px to 0.25, then 14 + 14 (p - 0.25) / 0.5 rounded to even.
  std::vector<int64_t> expected;
  for (int s = 0; s < 18; ++s) {
    const double t = std::clamp((s / 18.0 - 0.25) / 0.5, 0.0, 1.0);
    expected.push_back(std::min<int64_t>(28, 2 * std::llround((14 + 14 * t) / 2)));
  }
  REQUIRE(method.sides.size() == 18);
  for (size_t s = 0; s < 18; ++s) {
    INFO("step " << s);
    CHECK(method.sides[s] == std::vector<int64_t>(4, expected[s]));
  }
  CHECK(expected.front() == 14);
  CHECK(expected.back() == 28);
  const auto logged = logged_values(dir.file("recorded/metrics.jsonl"), "resolution");
  REQUIRE(logged.size() == 18);
  for (size_t s = 0; s < 18; ++s) CHECK(logged[s] == static_cast<double>(expected[s]));

  // The side depends on the step (or the clock under a time budget) only, so a resumed run repeats it.
  const auto whole =
      T::pretrain(with_loop(tiny_run(dir.file("whole")), [&](auto& l) { l.progressive_resize(resize); }));
  T::pretrain(with_loop(tiny_run(dir.file("split")), [&](auto& l) { l.progressive_resize(resize).max_steps(7); }));
  const auto resumed =
      T::pretrain(with_loop(tiny_run(dir.file("split")).resume(true), [&](auto& l) { l.progressive_resize(resize); }));
  CHECK(resumed.resumed_from_step == 7);
  require_equal_states(ssl::load_checkpoint(whole.checkpoint).encoder,
                       ssl::load_checkpoint(resumed.checkpoint).encoder);
  const auto plain = T::pretrain(tiny_run(dir.file("plain")));
  CHECK_FALSE(torch::equal(ssl::load_checkpoint(whole.checkpoint).encoder.values()[0],
                           ssl::load_checkpoint(plain.checkpoint).encoder.values()[0]));
}

TEST_CASE("Resume refuses another progressive resizing schedule", "[trainers][resize][resume]") {
  SingleThread single_thread;
  TempDir dir;
  const auto resize = T::ProgressiveResizeOptions().start_side(14);
  T::pretrain(with_loop(tiny_run(dir.str()), [&](auto& l) { l.progressive_resize(resize).max_steps(2); }));
  CHECK(error_message([&] {
          T::pretrain(with_loop(tiny_run(dir.str()).resume(true),
                                [&](auto& l) { l.progressive_resize(T::ProgressiveResizeOptions().start_side(16)); }));
        }) ==
        "cannot resume '" + dir.str() + "': start_resolution is 16 here but 14 in the interrupted run (options that "
        "change the run must match its options.ini)");
}
