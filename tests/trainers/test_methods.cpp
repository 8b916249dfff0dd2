#include "errors.h"
#include "random_images.h"
#include "temp_dir.h"
#include "trainers/run_helpers.h"

#include "sslkit/losses/info_nce.h"
#include "sslkit/losses/sinkhorn.h"
#include "sslkit/ssl/checkpoint.h"
#include "sslkit/ssl/vit.h"
#include "sslkit/trainers/methods/byol.h"
#include "sslkit/trainers/methods/dino.h"
#include "sslkit/trainers/methods/instdisc.h"
#include "sslkit/trainers/methods/mae.h"
#include "sslkit/trainers/methods/moco.h"
#include "sslkit/trainers/methods/mocov3.h"
#include "sslkit/trainers/methods/pretext.h"
#include "sslkit/trainers/methods/simclr.h"
#include "sslkit/trainers/methods/swav.h"
#include "sslkit/trainers/optim.h"
#include "sslkit/trainers/precision.h"
#include "sslkit/trainers/pretrain.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>

using ssl::testing::error_message;
using ssl::testing::logged_values;
using ssl::testing::require_equal_states;
using ssl::testing::SingleThread;
using ssl::testing::TempDir;
using ssl::testing::tiny_run;
using ssl::testing::with_loop;
namespace T = ssl::trainers;

namespace {

// 256 images in batches of 64 (4 steps per epoch, one metrics row per epoch), `epochs` epochs of Adam 2e-3,
// on convnet-s (the measured values below are its; the default convnet-w takes twice as long).
T::PretrainOptions short_run(const std::string& dir, const std::string& method, int64_t epochs) {
  return T::PretrainOptions()
      .loop(T::LoopOptions().out_dir(dir).epochs(epochs).max_minutes(0).log_every(4))
      .method(method)
      .encoder("convnet-s")
      .max_images(256)
      .batch_size(64)
      .workers(1)
      .device(ssl::parse_device("cpu"))
      .seed(5);
}

struct Trace {
  std::vector<double> loss;      // mean loss of each epoch
  std::vector<double> accuracy;  // pretext accuracy of each epoch's last step (empty if none)
};

// Trains, checks the checkpoint's encoder is the one `sslkit probe` rebuilds (and that it takes whole 28x28
// images, also after patch pretexts), and returns the per-epoch losses and accuracies.
Trace train(const T::PretrainOptions& options) {
  const auto result = T::pretrain(options);
  REQUIRE(result.steps == 4 * options.loop().epochs());
  const auto checkpoint = ssl::load_checkpoint(result.checkpoint);
  CHECK(checkpoint.metadata.method == options.method());
  auto encoder = ssl::rebuild_encoder(checkpoint);
  CHECK(encoder->forward(torch::randn({2, 1, 28, 28})).sizes() == std::vector<int64_t>{2, 256});
  const std::string metrics = options.loop().out_dir() + "/metrics.jsonl";
  Trace trace{logged_values(metrics, "loss"), logged_values(metrics, "accuracy")};
  REQUIRE(trace.loss.size() == static_cast<size_t>(options.loop().epochs()));
  INFO(options.method() << " losses: first epoch " << trace.loss.front() << ", last " << trace.loss.back());
  return trace;
}

}  // namespace

TEST_CASE("Every method is registered; an unknown one gets a message listing them all", "[trainers][methods]") {
  CHECK(T::method_names() == std::vector<std::string>{"simclr", "moco", "instdisc", "rotnet", "jigsaw", "relpos", "cpc",
                                                      "byol", "simsiam", "barlow", "vicreg", "swav", "dino",
                                                      "mocov3", "mae"});
  for (const auto& name : T::method_names()) {
    // mae needs a vision transformer; every other method takes any encoder.
    const std::string architecture = name == "mae" ? "vit-tiny" : "convnet-s";
    auto encoder = ssl::make_encoder(architecture, ssl::EncoderOptions(1));
    auto another = [&] { return ssl::make_encoder(architecture, ssl::EncoderOptions(1)); };
    const auto method = T::make_method(T::PretrainOptions().method(name), encoder, 100, another);
    CHECK(method->name() == name);
    CHECK(method->encoder() == encoder);
  }
  auto encoder = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  auto another = [] { return ssl::make_encoder("convnet-s", ssl::EncoderOptions(1)); };
  CHECK(error_message([&] { T::make_method(T::PretrainOptions().method("nope"), encoder, 100, another); }) ==
        "unknown method 'nope': expected one of simclr, moco, instdisc, rotnet, jigsaw, relpos, cpc, byol, simsiam, "
        "barlow, vicreg, swav, dino, mocov3, mae");
}

// The loss-falls tests: 256 Fashion-MNIST images, batches of 64, seed 5, single thread, Adam 2e-3 (the
// defaults). Thresholds leave a margin to the per-epoch mean losses these seeded runs reached (in each comment,
// measured with `sslkit pretrain --encoder convnet-s --max-images 256 --batch-size 64 --log-every 4 --seed 5
// --threads 1`).
// Each takes 2-15 s; MoCo needs 8 epochs because its queue fills during the first.

TEST_CASE("MoCo's loss falls on a small subset", "[trainers][methods][moco]") {
  SingleThread single_thread;
  TempDir dir;
  // A queue of 128 keys (2 batches; with all 256 images it would hold every query's own older key) fills in
  // the first epoch. Random keys are easier negatives than real ones, so the comparison starts at epoch 2.
  // Measured (shuffle-BN in 4 groups, the default): 3.62 4.51 4.38 4.33 4.32 4.25 4.16 4.12.
  auto options = short_run(dir.str(), "moco", 8);
  options.methods().moco().queue_size(128);
  const auto trace = train(options);
  CHECK(trace.loss[1] > 4.0);
  CHECK(trace.loss.back() < trace.loss[1] - 0.3);
}

TEST_CASE("Instance discrimination's NCE loss falls on a small subset", "[trainers][methods][instdisc]") {
  SingleThread single_thread;
  TempDir dir;
  // Measured: 14.22 14.97 10.53 8.91 8.64 8.52 8.43 8.47.
  const auto trace = train(short_run(dir.str(), "instdisc", 8));
  CHECK(trace.loss.front() > 12);
  CHECK(trace.loss.back() < trace.loss.front() - 3);
}

TEST_CASE("RotNet's loss falls and its rotation accuracy rises above chance", "[trainers][methods][rotnet]") {
  SingleThread single_thread;
  TempDir dir;
  // 4-way cross-entropy starts near log 4 = 1.386. Measured: 1.339 1.178 0.985 0.786, accuracy 0.38 -> 0.77.
  const auto trace = train(short_run(dir.str(), "rotnet", 4));
  CHECK(trace.loss.front() > 1.2);
  CHECK(trace.loss.back() < trace.loss.front() - 0.4);
  CHECK(trace.accuracy.back() > 0.6);
}

TEST_CASE("Jigsaw's loss falls below the chance level of 100 permutations", "[trainers][methods][jigsaw]") {
  SingleThread single_thread;
  TempDir dir;
  // Measured: 4.650 4.555 4.301 3.777 3.382 3.009 (log 100 = 4.605).
  const auto trace = train(short_run(dir.str(), "jigsaw", 6));
  CHECK(trace.loss.front() > std::log(100.0) - 0.3);
  CHECK(trace.loss.back() < trace.loss.front() - 1.0);
}

TEST_CASE("Relative position's loss falls below the chance level of 8 positions", "[trainers][methods][relpos]") {
  SingleThread single_thread;
  TempDir dir;
  // Measured: 2.005 1.827 1.759 1.652 1.564 1.512 1.427 1.388 (log 8 = 2.079), accuracy 0.22 -> 0.41.
  const auto trace = train(short_run(dir.str(), "relpos", 8));
  CHECK(trace.loss.front() > std::log(8.0) - 0.3);
  CHECK(trace.loss.back() < trace.loss.front() - 0.4);
  CHECK(trace.accuracy.back() > 0.25);
}

TEST_CASE("CPC's loss falls and its prediction accuracy rises", "[trainers][methods][cpc]") {
  SingleThread single_thread;
  TempDir dir;
  // Each step's InfoNCE scores a prediction against all 64 x 4 x (4 - k) patches of its step: log 768 = 6.64
  // for k = 1. Measured: 6.477 5.491 4.998 4.697, accuracy 0.00 -> 0.04.
  const auto trace = train(short_run(dir.str(), "cpc", 4));
  CHECK(trace.loss.front() > 6.0);
  CHECK(trace.loss.back() < trace.loss.front() - 1.0);
  CHECK(trace.accuracy.back() > trace.accuracy.front());
}

TEST_CASE("BYOL's loss falls on a small subset", "[trainers][methods][byol]") {
  SingleThread single_thread;
  TempDir dir;
  // Sum over both view orders of 2 - 2 cos(p, z'), in [0, 8]. Measured: 3.424 1.903 1.683 1.642 1.616 1.622
  // (--threads 2: within 0.002 of these).
  const auto trace = train(short_run(dir.str(), "byol", 6));
  CHECK(trace.loss.back() < trace.loss.front() - 1.0);
}

TEST_CASE("SimSiam's loss falls towards -1 on a small subset", "[trainers][methods][simsiam]") {
  SingleThread single_thread;
  TempDir dir;
  // D(p1, z2) / 2 + D(p2, z1) / 2, in [-1, 1]. Measured: -0.026 -0.147 -0.288 -0.373 -0.444 -0.442
  // (--threads 2: within 0.017).
  const auto trace = train(short_run(dir.str(), "simsiam", 6));
  CHECK(trace.loss.back() < trace.loss.front() - 0.25);
}

TEST_CASE("Barlow Twins' loss falls on a small subset", "[trainers][methods][barlow]") {
  SingleThread single_thread;
  TempDir dir;
  // sum_i (1 - c_ii)^2 + 0.0051 sum_{i != j} c_ij^2 over D = 512. Measured: 373.2 212.7 191.8 196.1 188.0 189.3
  // (--threads 2: within 0.9).
  const auto trace = train(short_run(dir.str(), "barlow", 6));
  CHECK(trace.loss.back() < trace.loss.front() - 100);
}

TEST_CASE("VICReg's loss falls on a small subset", "[trainers][methods][vicreg]") {
  SingleThread single_thread;
  TempDir dir;
  // 25 invariance + 25 variance + 1 covariance over D = 512. Measured: 22.09 20.75 20.28 20.39 20.15 20.03
  // (--threads 2: within 0.04).
  const auto trace = train(short_run(dir.str(), "vicreg", 6));
  CHECK(trace.loss.back() < trace.loss.front() - 1.0);
}

TEST_CASE("SwAV's loss falls on a small subset", "[trainers][methods][swav]") {
  SingleThread single_thread;
  TempDir dir;
  // Mean over the 2 global crops of the cross-entropy from their Sinkhorn codes to the other 5 crops' softmax over
  // K = 64 prototypes (log 64 = 4.16 for uniform predictions), trained from step 8 of 32.
  // Measured: 4.388 4.206 4.136 4.117 4.103 4.087 4.066 4.069.
  auto options = short_run(dir.str(), "swav", 8);
  options.methods().swav().prototypes(64).freeze_prototypes_steps(8);
  const auto trace = train(options);
  CHECK(trace.loss.back() < trace.loss.front() - 0.15);
}

TEST_CASE("DINO's loss falls on a small subset", "[trainers][methods][dino]") {
  SingleThread single_thread;
  TempDir dir;
  // Cross-entropy from the centred, sharpened teacher (2 global crops) to the student (6 crops) over K = 256
  // outputs (log 256 = 5.55), averaged over the 10 pairs. Last layer trained from step 8 of 32.
  // Measured: 5.431 5.337 5.231 5.159 5.074 5.049 5.008 5.068.
  auto options = short_run(dir.str(), "dino", 8);
  options.methods().dino().freeze_last_layer_steps(8).head().out_dim(256);
  const auto trace = train(options);
  CHECK(trace.loss.back() < trace.loss.front() - 0.2);

  // The teacher (the official evaluation's encoder) is saved under the name `--weights` takes, apart from the student.
  const auto checkpoint = ssl::load_checkpoint(dir.file("checkpoint.pt"));
  const auto& teacher = checkpoint.modules.at("teacher_encoder");
  require_equal_states(ssl::module_state(*ssl::rebuild_encoder(checkpoint, "c", "teacher_encoder")), teacher);
  bool student_differs = false;
  for (const auto& item : teacher) student_differs |= !torch::equal(item.value(), checkpoint.encoder[item.key()]);
  CHECK(student_differs);
}

namespace {

// A batch of `crops` views of random 28x28 images (2 global), then local crops of 14x14.
ssl::data::Batch random_crops(int64_t images, int64_t crops, uint64_t seed) {
  torch::manual_seed(static_cast<int64_t>(seed));
  ssl::data::Batch batch;
  for (int64_t v = 0; v < crops; ++v) batch.views.push_back(torch::randn({images, 1, v < 2 ? 28 : 14, v < 2 ? 28 : 14}));
  return batch;
}

}  // namespace

TEST_CASE("MoCo v3's loss falls on a small subset", "[trainers][methods][mocov3]") {
  SingleThread single_thread;
  TempDir dir;
  // 2 tau (InfoNCE(q1, k2) + InfoNCE(q2, k1)) over 64 keys starts near 2 * 0.4 * log(64) = 3.33. Measured:
  // 3.301 3.047 2.909 2.879 2.777 2.789.
  const auto trace = train(short_run(dir.str(), "mocov3", 6));
  CHECK(trace.loss.front() > 2.0);
  CHECK(trace.loss.back() < trace.loss.front() - 0.5);
}

TEST_CASE("MoCo v3: the contrastive loss is 2 tau InfoNCE over the batch's keys", "[trainers][methods][mocov3]") {
  // Orthonormal q_i = k_i: logits I / tau, so each row's loss is log(1 + (N - 1) e^{-1/tau}) (the official
  // contrastive_loss: CrossEntropy(q k^T / T, arange(N)) * 2T). N = 2, tau = 0.2: 0.4 log(1 + e^-5).
  const auto eye = torch::eye(2, torch::kDouble);
  CHECK(T::mocov3_contrastive_loss(eye, eye, 0.2).item<double>() == Approx(0.4 * std::log1p(std::exp(-5.0))).epsilon(1e-12));
  // Three keys: 2 * 1.0 * log(1 + 2 e^-1) at tau 1 (the ResNet setting), scaled rows changing nothing (cosine).
  const auto three = torch::eye(3, torch::kDouble) * torch::tensor({1.0, 2.0, 5.0}, torch::kDouble).unsqueeze(1);
  CHECK(T::mocov3_contrastive_loss(three, torch::eye(3, torch::kDouble), 1.0).item<double>() ==
        Approx(2 * std::log1p(2 * std::exp(-1.0))).epsilon(1e-12));
}

TEST_CASE("MoCo v3: the momentum network is an EMA of the online one, and the patch embedding can be frozen",
          "[trainers][methods][mocov3]") {
  torch::manual_seed(3);
  auto encoder = ssl::make_encoder("vit-tiny", ssl::EncoderOptions(1).image_size(28).patch_size(7));
  auto momentum_encoder = ssl::make_encoder("vit-tiny", ssl::EncoderOptions(1).image_size(28).patch_size(7));
  T::MoCoV3 method(encoder, momentum_encoder, T::MoCoV3Options().freeze_patch_embed(true));
  method.set_progress(0.5);
  CHECK(method.momentum() == Approx(T::byol_momentum(0.99, 0.5)).epsilon(1e-15));
  // Move the online encoder away from its copy, then one step updates the copy first.
  {
    torch::NoGradGuard no_grad;
    for (auto& p : encoder->parameters()) p.add_(0.01);
  }
  // Copies: module_state's CPU tensors share the parameters' storage.
  const auto snapshot = [](const torch::nn::Module& module) {
    std::map<std::string, torch::Tensor> copy;
    for (const auto& p : module.named_parameters()) copy[p.key()] = p.value().detach().clone();
    return copy;
  };
  const auto before = snapshot(*momentum_encoder);
  const auto online = snapshot(*encoder);
  ssl::data::Batch batch;
  batch.views = {torch::randn({8, 1, 28, 28}), torch::randn({8, 1, 28, 28})};
  auto optimizer = T::make_optimizer(method.modules(), T::OptimizerOptions().name("sgd").lr(0.5));
  const auto output = method.step(batch);
  CHECK(output.metrics.at("ema_momentum") == Approx(T::byol_momentum(0.99, 0.5)).epsilon(1e-15));
  const double m = method.momentum();
  for (const auto& p : momentum_encoder->named_parameters()) {
    INFO(p.key());
    const auto expected = m * before.at(p.key()) + (1 - m) * online.at(p.key());
    // float32 rounding of a two-term sum of values below 2 in magnitude: under 4 ulp(2) = 1e-6.
    CHECK(torch::allclose(p.value(), expected, 0, 1e-6));
    CHECK_FALSE(p.value().requires_grad());
  }
  optimizer->zero_grad();
  output.loss.backward();
  optimizer->step();
  const auto& vit = dynamic_cast<ssl::VisionTransformerImpl&>(*encoder);
  for (const auto& p : vit.named_parameters()) {
    INFO(p.key());
    const bool patch_embedding = p.key().rfind("patch_embed.", 0) == 0;
    CHECK(torch::equal(p.value(), online.at(p.key())) == patch_embedding);
  }
  CHECK(error_message([] {
          T::MoCoV3(ssl::make_encoder("convnet-s", ssl::EncoderOptions(1)),
                    ssl::make_encoder("convnet-s", ssl::EncoderOptions(1)), T::MoCoV3Options().freeze_patch_embed(true));
        }) == "mocov3: freezing the patch embedding needs a vit encoder");
}

TEST_CASE("MAE masking keeps the patches it names, from a seeded shuffle as the official random_masking",
          "[trainers][methods][mae]") {
  const auto tokens = torch::arange(2 * 16 * 3, torch::kFloat).reshape({2, 16, 3});
  torch::manual_seed(7);
  const auto noise = torch::rand({2, 16});
  const auto expected_kept = noise.argsort(int64_t{1}, false).narrow(1, 0, 4);  // keep = floor(16 * 0.25) = 4
  torch::manual_seed(7);
  const auto masked = T::mae_random_masking(tokens, 0.75);
  CHECK(torch::equal(masked.kept_indices, expected_kept));
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t i = 0; i < 4; ++i) {
      const int64_t j = masked.kept_indices[b][i].item<int64_t>();
      CHECK(torch::equal(masked.visible[b][i], tokens[b][j]));
      CHECK(masked.mask[b][j].item<float>() == 0);
      CHECK(masked.restore_indices[b][j].item<int64_t>() == i);  // kept token i goes back to position j
    }
    CHECK(masked.mask[b].sum().item<float>() == 12);
    CHECK(torch::equal(masked.restore_indices[b].lt(4), masked.mask[b].eq(0)));
  }
  // Another seed, another mask.
  torch::manual_seed(8);
  CHECK_FALSE(torch::equal(T::mae_random_masking(tokens, 0.75).kept_indices, masked.kept_indices));
}

TEST_CASE("MAE targets: patches in the ViT's token order, and 2-D sine-cosine decoder positions",
          "[trainers][methods][mae]") {
  // 2 channels, 4x4, patches of 2: patch 1 is the top-right 2x2 block, pixels row-major with channels last.
  const auto images = torch::arange(32, torch::kFloat).reshape({1, 2, 4, 4});
  const auto patches = T::patchify(images, 2);
  REQUIRE(patches.sizes() == torch::IntArrayRef{1, 4, 8});
  const auto at = [&](int64_t c, int64_t y, int64_t x) { return images[0][c][y][x].item<float>(); };
  const std::vector<float> top_right{at(0, 0, 2), at(1, 0, 2), at(0, 0, 3), at(1, 0, 3),
                                     at(0, 1, 2), at(1, 1, 2), at(0, 1, 3), at(1, 1, 3)};
  CHECK(torch::equal(patches[0][1], torch::tensor(top_right)));
  // dim 4 on a 1x2 grid: the column part [sin(x), cos(x)] then the row part [sin(y), cos(y)] (omega = 1).
  const auto positions = T::sincos_position_embedding(1, 2, 4);
  CHECK(torch::allclose(positions[1], torch::tensor({std::sin(1.0f), std::cos(1.0f), 0.0f, 1.0f})));
  CHECK(torch::allclose(positions[0], torch::tensor({0.0f, 1.0f, 0.0f, 1.0f})));
  CHECK(error_message([] { T::MAE(ssl::make_encoder("convnet-s", ssl::EncoderOptions(1)), T::MAEOptions()); }) ==
        "mae needs a vision transformer encoder (vit-tiny or vit-small)");
}

TEST_CASE("MAE and MoCo v3 steps run under bf16 autocast with finite losses", "[trainers][methods][mae][mocov3]") {
  torch::manual_seed(2);
  const auto vit = [] { return ssl::make_encoder("vit-tiny", ssl::EncoderOptions(1).image_size(28).patch_size(7)); };
  T::MAE mae(vit(), T::MAEOptions());
  T::MoCoV3 mocov3(vit(), vit(), T::MoCoV3Options());
  ssl::data::Batch one, two;
  one.views = {torch::randn({4, 1, 28, 28})};
  two.views = {torch::randn({4, 1, 28, 28}), torch::randn({4, 1, 28, 28})};
  for (auto [method, batch] : {std::pair<T::Method*, ssl::data::Batch*>{&mae, &one}, {&mocov3, &two}}) {
    INFO(method->name());
    torch::Tensor loss;
    {
      T::AutocastGuard autocast(T::Precision::BF16, torch::kCPU);
      loss = method->step(*batch).loss;
    }
    CHECK(loss.scalar_type() == torch::kFloat);
    CHECK(std::isfinite(loss.item<double>()));
    loss.backward();
  }
}

TEST_CASE("MAE's reconstruction loss falls on a small subset with vit-tiny", "[trainers][methods][mae]") {
  SingleThread single_thread;
  TempDir dir;
  auto options = short_run(dir.str(), "mae", 4).encoder("vit-tiny").patch_size(7);
  const auto result = T::pretrain(options);
  REQUIRE(result.steps == 16);
  const auto losses = logged_values(dir.file("metrics.jsonl"));
  REQUIRE(losses.size() == 4);
  INFO("losses: first epoch " << losses.front() << ", last " << losses.back());
  // Per-patch normalized pixels have variance ~1, so predicting 0 scores ~1. Measured (seed 5, one thread):
  // 1.145 0.890 0.869 0.858.
  CHECK(losses.back() < losses.front() - 0.1);
  const auto checkpoint = ssl::load_checkpoint(result.checkpoint);
  CHECK(checkpoint.metadata.patch_size == 7);
  CHECK(checkpoint.modules.count("decoder") == 1);
  CHECK(ssl::rebuild_encoder(checkpoint)->forward(torch::randn({2, 1, 28, 28})).sizes() == torch::IntArrayRef{2, 192});
}

TEST_CASE("SwAV: one step's loss is the swapped prediction of Sinkhorn codes, prototypes renormalized and frozen",
          "[trainers][methods][swav]") {
  SingleThread single_thread;
  torch::manual_seed(8);
  auto encoder = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  T::SwAV swav(encoder, T::SwAVOptions().prototypes(20).freeze_prototypes_steps(1));
  const auto batch = random_crops(8, 4, 2);
  {
    torch::NoGradGuard no_grad;
    swav.prototypes().mul_(3);  // the step renormalizes them
  }
  const auto loss = swav.step(batch).loss;
  const auto w = swav.prototypes();
  CHECK(torch::allclose(w.norm(2, 1), torch::ones({20}), 1e-6, 1e-6));
  loss.backward();
  CHECK_FALSE(w.grad().defined());  // frozen for the first step
  CHECK(swav.steps() == 1);

  // The same loss from the definition: the projector in training mode on all crops (one BatchNorm batch),
  // unit embeddings, scores against the unit prototypes, codes of the global crops, cross-entropy to the others.
  auto projector = std::dynamic_pointer_cast<ssl::ProjectionHeadImpl>(swav.modules()[1]);
  REQUIRE(projector);
  torch::NoGradGuard no_grad;
  const auto features = torch::cat({encoder->forward(torch::cat({batch.views[0], batch.views[1]})),
                                    encoder->forward(torch::cat({batch.views[2], batch.views[3]}))});
  const auto scores = T::unit_rows(projector->forward(features)).mm(w.t()).chunk(4);
  double expected = 0;
  for (int64_t i = 0; i < 2; ++i) {
    const auto q = ssl::losses::sinkhorn(scores[static_cast<size_t>(i)]);
    CHECK(torch::allclose(q.sum(1), torch::ones({8}), 1e-5, 1e-5));
    for (int64_t v = 0; v < 4; ++v) {
      if (v != i) {
        expected += -(q * torch::log_softmax(scores[static_cast<size_t>(v)] / 0.1, 1)).sum(1).mean().item<double>() / 3;
      }
    }
  }
  CHECK(loss.item<double>() == Approx(expected / 2).epsilon(1e-5));

  // From the second step on, the prototypes get a gradient.
  torch::GradMode::set_enabled(true);
  swav.step(batch).loss.backward();
  CHECK(w.grad().defined());
}

TEST_CASE("DINO: teacher temperature warm-up, EMA teacher and center update after one step",
          "[trainers][methods][dino]") {
  // tau_t rises linearly from 0.04 to 0.07 over the first 30% of the run, then stays (0.04 throughout by default).
  const auto options = T::DINOMethodOptions().teacher_temperature(0.07);
  CHECK(T::dino_teacher_temperature(T::DINOMethodOptions(), 0.1) == 0.04);
  CHECK(T::dino_teacher_temperature(options, 0.0) == Approx(0.04).epsilon(1e-15));
  CHECK(T::dino_teacher_temperature(options, 0.15) == Approx(0.055).epsilon(1e-14));
  CHECK(T::dino_teacher_temperature(options, 0.3) == 0.07);
  CHECK(T::dino_teacher_temperature(options, 0.9) == 0.07);
  CHECK(T::dino_teacher_temperature(T::DINOMethodOptions(options).teacher_warmup_fraction(0), 0.0) == 0.07);

  SingleThread single_thread;
  torch::manual_seed(4);
  auto encoder = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  auto teacher = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  T::DINOMethod dino(encoder, teacher, T::DINOMethodOptions().freeze_last_layer_steps(1).head(
                                           T::DINOHeadOptions(0).out_dim(32).hidden_dim(16).bottleneck_dim(8)));
  for (const auto& p : teacher->named_parameters()) {
    INFO(p.key());
    CHECK(torch::equal(p.value(), encoder->named_parameters()[p.key()]));
    CHECK_FALSE(p.value().requires_grad());
  }
  // Every logit is a cosine between the unit bottleneck and a unit row of the last layer.
  const auto logits = dino.head()->forward(torch::randn({5, 256}));
  CHECK(logits.abs().max().item<double>() <= 1 + 1e-6);

  const auto batch = random_crops(6, 4, 3);
  dino.set_progress(0.5);
  const auto output = dino.step(batch);
  output.loss.backward();
  CHECK(output.metrics.at("ema_momentum") == Approx(T::byol_momentum(0.996, 0.5)).epsilon(1e-15));
  CHECK(output.metrics.at("teacher_temperature") == 0.04);
  CHECK_FALSE(dino.head()->named_parameters()["last_layer"].grad().defined());  // frozen for the first step
  CHECK(dino.steps() == 1);
  // center = 0.9 * 0 + 0.1 * mean of the teacher logits of the two global crops (one teacher batch).
  torch::NoGradGuard no_grad;
  const auto teacher_logits = dino.teacher_head()->forward(teacher->forward(torch::cat({batch.views[0], batch.views[1]})));
  CHECK(torch::allclose(dino.center(), 0.1 * teacher_logits.mean(0), 1e-6, 1e-7));

  // One EMA step at progress 0.5 after moving the student: t <- m t + (1 - m) s, in float64.
  for (auto& p : encoder->parameters()) p.add_(torch::randn_like(p));
  const double m = dino.momentum();
  std::map<std::string, torch::Tensor> before;
  for (const auto& p : teacher->named_parameters()) before[p.key()] = p.value().to(torch::kDouble);
  dino.update_teacher();
  for (const auto& p : teacher->named_parameters()) {
    INFO(p.key());
    const auto expected = m * before[p.key()] + (1 - m) * encoder->named_parameters()[p.key()].to(torch::kDouble);
    CHECK(torch::allclose(p.value().to(torch::kDouble), expected, 1e-6, 1e-6));
  }
}

TEST_CASE("BYOL with multi-crop: every online crop regresses the target of each other global crop",
          "[trainers][methods][byol]") {
  SingleThread single_thread;
  torch::manual_seed(5);
  auto encoder = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  auto target = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  T::BYOL byol(encoder, target, T::BYOLOptions().local_crops(2));
  const auto maker = byol.view_maker({{0.5f}, {0.5f}});
  CHECK(maker->name() == "multi-crop");
  CHECK(maker->num_views() == 4);
  CHECK(T::BYOL(encoder, ssl::make_encoder("convnet-s", ssl::EncoderOptions(1)), {}).view_maker({{0.5f}, {0.5f}})->name() ==
        "two-views");
  const auto batch = random_crops(8, 4, 6);
  const double loss = byol.step(batch).loss.item<double>();
  // The same sum from the modules (training mode, each global view on its own, the two local crops in one pass):
  // pairs (t0, p1), (t1, p0), (t0, p2), (t1, p2), (t0, p3), (t1, p3), each 2 - 2 cos.
  torch::NoGradGuard no_grad;
  auto predictor = std::dynamic_pointer_cast<ssl::ProjectionHeadImpl>(byol.modules()[2]);
  REQUIRE(predictor);
  auto online = [&](const torch::Tensor& x) {
    return predictor->forward(byol.projector()->forward(encoder->forward(x)));
  };
  std::vector<torch::Tensor> p{online(batch.views[0]), online(batch.views[1])}, t;
  for (auto& part : online(torch::cat({batch.views[2], batch.views[3]})).chunk(2)) p.push_back(part);
  for (int g = 0; g < 2; ++g) t.push_back(byol.target_projector()->forward(target->forward(batch.views[g])));
  auto term = [](const torch::Tensor& a, const torch::Tensor& b) {
    return (2 - 2 * torch::cosine_similarity(a, b, 1)).mean().item<double>();
  };
  const double expected = term(p[1], t[0]) + term(p[0], t[1]) + term(p[2], t[0]) + term(p[2], t[1]) +
                          term(p[3], t[0]) + term(p[3], t[1]);
  CHECK(loss == Approx(expected).epsilon(1e-5));
}

TEST_CASE("SimCLR with multi-crop: NT-Xent with every other crop of the image as a positive",
          "[trainers][methods][simclr]") {
  SingleThread single_thread;
  torch::manual_seed(7);
  auto encoder = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  T::SimCLR simclr(encoder, T::SimCLROptions().local_crops(2));
  const auto maker = simclr.view_maker({{0.5f}, {0.5f}});
  CHECK(maker->name() == "multi-crop");
  CHECK(maker->num_views() == 4);
  CHECK(T::SimCLR(encoder, {}).view_maker({{0.5f}, {0.5f}})->name() == "two-views");
  const auto batch = random_crops(8, 4, 8);
  const double loss = simclr.step(batch).loss.item<double>();
  // The same loss from the modules (training mode, each global view on its own, the two local crops in one pass),
  // by the definition written out: l_k = -log sum_{positives} exp(s / 0.1) + log sum_{j != k} exp(s / 0.1) over
  // the 32 normalized projections.
  torch::NoGradGuard no_grad;
  auto head = std::dynamic_pointer_cast<ssl::ProjectionHeadImpl>(simclr.modules()[1]);
  REQUIRE(head);
  std::vector<torch::Tensor> z;
  for (int v = 0; v < 2; ++v) z.push_back(head->forward(encoder->forward(batch.views[v])).to(torch::kDouble));
  for (auto& part : head->forward(encoder->forward(torch::cat({batch.views[2], batch.views[3]}))).chunk(2)) {
    z.push_back(part.to(torch::kDouble));
  }
  auto all = torch::nn::functional::normalize(torch::cat(z), torch::nn::functional::NormalizeFuncOptions().dim(1));
  auto e = torch::exp(all.matmul(all.t()) / 0.1);
  double expected = 0;
  for (int64_t k = 0; k < 32; ++k) {
    double positives = 0, others = 0;
    for (int64_t j = 0; j < 32; ++j) {
      if (j == k) continue;
      others += e[k][j].item<double>();
      if (j % 8 == k % 8) positives += e[k][j].item<double>();
    }
    expected += -std::log(positives / others) / 32;
  }
  // The float32 step against this float64 recomputation measured 6.3e-8 relative (2026-12-04, one thread); the
  // bound 1e-5 is the BYOL multi-crop test's, 160x that.
  CHECK(loss == Approx(expected).epsilon(1e-5));
}

TEST_CASE("BYOL: cosine momentum schedule from tau_base to 1", "[trainers][methods][byol]") {
  // tau = 1 - (1 - tau_base) (cos(pi k / K) + 1) / 2: k = 0 gives tau_base, k = K / 2 gives (1 + tau_base) / 2,
  // k = K gives 1; progress outside [0, 1] is clamped.
  CHECK(T::byol_momentum(0.996, 0.0) == Approx(0.996).epsilon(1e-15));
  CHECK(T::byol_momentum(0.996, 0.5) == Approx(0.998).epsilon(1e-15));
  CHECK(T::byol_momentum(0.996, 1.0) == 1.0);
  CHECK(T::byol_momentum(0.996, 0.25) == Approx(1 - 0.004 * (std::sqrt(0.5) + 1) / 2).epsilon(1e-15));
  CHECK(T::byol_momentum(0.9, 2.0) == 1.0);
  CHECK(T::byol_momentum(0.9, -1.0) == Approx(0.9).epsilon(1e-15));
}

TEST_CASE("BYOL: the target starts as a frozen copy and one EMA step is tau t + (1 - tau) o",
          "[trainers][methods][byol]") {
  torch::manual_seed(3);
  auto encoder = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  auto target = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  T::BYOL byol(encoder, target, T::BYOLOptions().ema_momentum(0.9));
  for (const auto& p : target->named_parameters()) {
    INFO(p.key());
    CHECK(torch::equal(p.value(), encoder->named_parameters()[p.key()]));
    CHECK_FALSE(p.value().requires_grad());
  }
  const auto optimizer = T::make_optimizer(byol.modules(), T::OptimizerOptions());
  size_t optimized = 0;
  for (const auto& group : optimizer->param_groups()) optimized += group.params().size();
  // + projector and predictor: each Linear (no bias) - BN (weight, bias) - Linear (weight, bias).
  CHECK(optimized == encoder->parameters().size() + 2 * 5);

  // Move the online network away, then at progress 0.5 (tau = 0.95) t <- tau t + (1 - tau) o, checked in float64.
  {
    torch::NoGradGuard no_grad;
    for (auto& p : encoder->parameters()) p.add_(torch::randn_like(p));
    for (auto& p : byol.projector()->parameters()) p.add_(torch::randn_like(p));
  }
  byol.set_progress(0.5);
  const double tau = 0.95;
  CHECK(byol.momentum() == Approx(tau).epsilon(1e-15));
  auto snapshot = [](const torch::nn::Module& m) {
    std::map<std::string, torch::Tensor> values;
    for (const auto& p : m.named_parameters()) values[p.key()] = p.value().clone().to(torch::kDouble);
    return values;
  };
  const auto target_before = snapshot(*target), projector_before = snapshot(*byol.target_projector());
  byol.update_target();
  auto check_ema = [&](const torch::nn::Module& t, const torch::nn::Module& o, std::map<std::string, torch::Tensor> b) {
    for (const auto& p : t.named_parameters()) {
      INFO(p.key());
      const auto expected = tau * b[p.key()] + (1 - tau) * o.named_parameters()[p.key()].to(torch::kDouble);
      CHECK(torch::allclose(p.value().to(torch::kDouble), expected, 1e-6, 1e-6));
      CHECK_FALSE(torch::allclose(p.value().to(torch::kDouble), b[p.key()], 1e-6, 1e-6));
    }
  };
  check_ema(*target, *encoder, target_before);
  check_ema(*byol.target_projector(), *byol.projector(), projector_before);
  // At the end of the schedule tau = 1: the target no longer moves.
  byol.set_progress(1.0);
  const auto frozen = snapshot(*target);
  byol.update_target();
  for (const auto& p : target->named_parameters()) {
    CHECK(torch::equal(p.value().to(torch::kDouble), frozen.at(p.key())));
  }
}

TEST_CASE("MoCo: the key encoder starts as a frozen copy and one EMA step is exact", "[trainers][methods][moco]") {
  torch::manual_seed(3);
  auto encoder = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  auto key = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  const double m = 0.9;
  T::MoCo moco(encoder, key, T::MoCoOptions().momentum(m).queue_size(16));
  // The key network is a copy, outside the optimizer.
  for (const auto& p : key->named_parameters()) {
    INFO(p.key());
    CHECK(torch::equal(p.value(), encoder->named_parameters()[p.key()]));
    CHECK_FALSE(p.value().requires_grad());
  }
  const auto optimizer = T::make_optimizer(moco.modules(), T::OptimizerOptions());
  size_t optimized = 0;
  for (const auto& group : optimizer->param_groups()) optimized += group.params().size();
  CHECK(optimized == encoder->parameters().size() + 4);  // + the query head's 2 weights and 2 biases

  // Move the query away from the key, then theta_k <- m theta_k + (1 - m) theta_q, checked in float64.
  {
    torch::NoGradGuard no_grad;
    for (auto& p : encoder->parameters()) p.add_(torch::randn_like(p));
  }
  std::map<std::string, torch::Tensor> before;
  for (const auto& p : key->named_parameters()) before[p.key()] = p.value().clone().to(torch::kDouble);
  moco.update_key_encoder();
  for (const auto& p : key->named_parameters()) {
    INFO(p.key());
    const auto expected = m * before[p.key()] + (1 - m) * encoder->named_parameters()[p.key()].to(torch::kDouble);
    CHECK(torch::allclose(p.value().to(torch::kDouble), expected, 1e-6, 1e-6));
    CHECK_FALSE(torch::allclose(p.value().to(torch::kDouble), before[p.key()], 1e-6, 1e-6));
  }
}

TEST_CASE("MoCo: shuffle-BN normalizes queries in contiguous groups and keys in shuffled groups",
          "[trainers][methods][moco]") {
  SingleThread single_thread;
  torch::manual_seed(4);
  auto encoder = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  // Momentum 1 keeps the key network the copy of the query network it starts as, so the query network
  // (not updated: no optimizer step here) computes the expected keys too.
  T::MoCo moco(encoder, ssl::make_encoder("convnet-s", ssl::EncoderOptions(1)),
               T::MoCoOptions().momentum(1.0).queue_size(8).bn_groups(2));
  const auto head = std::dynamic_pointer_cast<ssl::ProjectionHeadImpl>(moco.modules()[1]);
  REQUIRE(head);
  ssl::data::Batch batch;
  batch.views = {torch::randn({8, 1, 28, 28}), torch::randn({8, 1, 28, 28})};
  const auto negatives = moco.queue().clone();
  torch::manual_seed(11);
  const auto loss = moco.step(batch).loss;

  torch::NoGradGuard no_grad;
  torch::manual_seed(11);
  const auto shuffle = torch::randperm(8, torch::kLong);
  auto network = [&](const torch::Tensor& x) { return head->forward(encoder->forward(x)); };
  const auto shuffled = batch.views[1].index_select(0, shuffle);
  const auto keys_shuffled = torch::cat({network(shuffled.slice(0, 0, 4)), network(shuffled.slice(0, 4, 8))});
  const auto keys = T::unit_rows(torch::zeros_like(keys_shuffled).index_copy_(0, shuffle, keys_shuffled));
  CHECK(torch::allclose(moco.queue(), keys, 1e-5, 1e-6));
  CHECK_FALSE(torch::allclose(moco.queue(), T::unit_rows(network(batch.views[1])), 1e-3, 1e-3));  // one group differs

  const auto queries = torch::cat({network(batch.views[0].slice(0, 0, 4)), network(batch.views[0].slice(0, 4, 8))});
  const auto expected = ssl::losses::info_nce(queries, keys, negatives, ssl::losses::InfoNCEOptions().temperature(0.2));
  CHECK(loss.item<double>() == Approx(expected.item<double>()).epsilon(1e-5));
}

TEST_CASE("MoCo: the queue takes each batch of keys at its pointer and wraps around", "[trainers][methods][moco]") {
  auto make = [] { return ssl::make_encoder("convnet-s", ssl::EncoderOptions(1)); };
  T::MoCo moco(make(), make(), T::MoCoOptions().queue_size(10).projection_dim(4));
  REQUIRE(moco.queue().sizes() == std::vector<int64_t>{10, 4});
  CHECK(moco.queue_pointer() == 0);
  // Key batch b (b = 1, 2, 3) is 4 rows whose entries all equal b.
  auto batch = [](double b) { return torch::full({4, 4}, b); };
  moco.enqueue(batch(1));
  CHECK(moco.queue_pointer() == 4);
  moco.enqueue(batch(2));
  CHECK(moco.queue_pointer() == 8);
  moco.enqueue(batch(3));
  CHECK(moco.queue_pointer() == 2);  // rows 8, 9 then 0, 1
  const auto first_column = moco.queue().select(1, 0);
  CHECK(torch::equal(first_column, torch::tensor({3.f, 3.f, 1.f, 1.f, 2.f, 2.f, 2.f, 2.f, 3.f, 3.f})));
  CHECK(error_message([&] { moco.enqueue(torch::zeros({11, 4})); }) ==
        "MoCo: cannot enqueue keys [11, 4] into a queue of [10, 4]");
}

TEST_CASE("InstDisc: the memory bank rows of a batch move to normalize(m v + (1 - m) f)",
          "[trainers][methods][instdisc]") {
  torch::manual_seed(4);
  T::InstDisc method(ssl::make_encoder("convnet-s", ssl::EncoderOptions(1)), 6,
                     T::InstDiscOptions().feature_dim(3).bank_momentum(0.5).fill_on_first_visit(false));
  const auto old = method.bank().clone();
  REQUIRE(old.sizes() == std::vector<int64_t>{6, 3});
  CHECK(torch::allclose(old.norm(2, 1), torch::ones({6})));
  CHECK(method.normalizer() == 0);
  // Row 1 = (1, 0, 0) and f = (0, 1, 0): 0.5 (1, 0, 0) + 0.5 (0, 1, 0) normalized is (1, 1, 0) / sqrt 2.
  {
    torch::NoGradGuard no_grad;
    method.bank()[1] = torch::tensor({1.f, 0.f, 0.f});
  }
  const auto f = torch::tensor({{0.f, 1.f, 0.f}, {0.f, 0.f, 1.f}});
  method.update_bank(torch::tensor({1, 4}), f);
  const float r = 1 / std::sqrt(2.f);
  CHECK(torch::allclose(method.bank()[1], torch::tensor({r, r, 0.f})));
  const auto row4 = 0.5 * old[4] + 0.5 * f[1];
  CHECK(torch::allclose(method.bank()[4], row4 / row4.norm()));
  for (const int64_t i : {0, 2, 3, 5}) CHECK(torch::equal(method.bank()[i], old[i]));

  // By default a row's first update stores f itself; the second mixes.
  T::InstDisc filling(ssl::make_encoder("convnet-s", ssl::EncoderOptions(1)), 6,
                      T::InstDiscOptions().feature_dim(3).bank_momentum(0.5));
  filling.update_bank(torch::tensor({1, 4}), f);
  CHECK(torch::allclose(filling.bank().index_select(0, torch::tensor({1, 4})), f));
  filling.update_bank(torch::tensor({1}), torch::tensor({{1.f, 0.f, 0.f}}));
  CHECK(torch::allclose(filling.bank()[1], torch::tensor({r, r, 0.f})));
}

TEST_CASE("InstDisc's softmax loss is InfoNCE of f against its bank row and the K noise rows",
          "[trainers][methods][instdisc]") {
  SingleThread single_thread;
  torch::manual_seed(6);
  auto encoder = ssl::make_encoder("convnet-s", ssl::EncoderOptions(1));
  T::InstDisc method(encoder, 10,
                     T::InstDiscOptions().loss(T::InstDiscLoss::Softmax).negatives(5).feature_dim(8).temperature(0.5));
  const auto projection = std::dynamic_pointer_cast<torch::nn::LinearImpl>(method.modules()[1]);
  REQUIRE(projection);
  ssl::data::Batch batch;
  batch.views = {torch::randn({3, 1, 28, 28})};
  batch.indices = torch::tensor({7, 2, 4});
  const auto bank = method.bank().clone();
  torch::manual_seed(12);
  const auto loss = method.step(batch).loss.item<double>();

  torch::NoGradGuard no_grad;
  torch::manual_seed(12);
  const auto noise = torch::randint(10, {5}, torch::kLong);
  const auto f = T::unit_rows(projection->forward(encoder->forward(batch.views[0]))).to(torch::kDouble);
  // -log softmax of the positive among [positive, noise...], in float64 from the definition.
  const auto logits = torch::cat({(f * bank.index_select(0, batch.indices).to(torch::kDouble)).sum(1, true),
                                  f.mm(bank.index_select(0, noise).to(torch::kDouble).t())}, 1) / 0.5;
  const double expected = (torch::logsumexp(logits, 1) - logits.select(1, 0)).mean().item<double>();
  CHECK(loss == Approx(expected).epsilon(1e-5));
  CHECK(method.normalizer() == 0);  // no NCE normalizer is estimated
  CHECK_FALSE(torch::equal(method.bank().index_select(0, batch.indices), bank.index_select(0, batch.indices)));
  CHECK(error_message([] { T::parse_instdisc_loss("infonce"); }) ==
        "unknown instdisc loss 'infonce': expected nce or softmax");
}

namespace {

// Trains run("whole") for 12 steps, and run("split") for 5 then resumed to 12; requires the encoder and every
// method state of the two checkpoints to be bitwise equal. Returns the uninterrupted run's checkpoint.
ssl::Checkpoint require_bitwise_resume(const std::function<T::PretrainOptions(const std::string&)>& run) {
  const auto whole = T::pretrain(run("whole"));
  REQUIRE(whole.steps == 12);
  T::pretrain(with_loop(run("split"), [](auto& l) { l.max_steps(5); }));
  const auto resumed = T::pretrain(run("split").resume(true));
  CHECK(resumed.resumed_from_step == 5);
  const auto a = ssl::load_checkpoint(whole.checkpoint);
  const auto b = ssl::load_checkpoint(resumed.checkpoint);
  require_equal_states(a.encoder, b.encoder);
  for (const auto& [name, state] : a.modules) {
    if (name == "trainer") continue;
    INFO(name);
    REQUIRE(b.modules.count(name) == 1);
    require_equal_states(state, b.modules.at(name));
  }
  return a;
}

}  // namespace

TEST_CASE("Resume: BYOL restores its target network and momentum schedule bitwise",
          "[trainers][methods][byol][resume]") {
  SingleThread single_thread;
  TempDir dir;
  auto run = [&](const std::string& name) {
    return with_loop(tiny_run(dir.file(name)).method("byol").encoder("convnet-s"), [](auto& l) { l.epochs(2); });
  };
  const auto a = require_bitwise_resume(run);
  for (const std::string name : {"projector", "predictor", "target_encoder", "target_projector"}) {
    INFO(name);
    CHECK(a.modules.count(name) == 1);
  }
  // The momentum logged at each step follows the cosine schedule over the 12 steps, resumed or not.
  const auto momentum = logged_values(dir.file("split/metrics.jsonl"), "ema_momentum");
  REQUIRE(momentum.size() == 12);
  CHECK(momentum == logged_values(dir.file("whole/metrics.jsonl"), "ema_momentum"));
  CHECK(momentum[0] == Approx(0.996).epsilon(1e-7));  // metrics.jsonl holds 8 significant digits
  CHECK(momentum[6] == Approx(T::byol_momentum(0.996, 6.0 / 12)).epsilon(1e-7));
}

TEST_CASE("Resume: SwAV and DINO restore their queue, center, teacher and freeze counters bitwise",
          "[trainers][methods][resume]") {
  SingleThread single_thread;
  TempDir dir;
  for (const std::string method : {"swav", "dino"}) {
    INFO(method);
    auto run = [&](const std::string& name) {
      auto options = tiny_run(dir.file(method + "-" + name)).method(method).encoder("convnet-s");
      options.loop().epochs(2);
      options.methods().swav().queue_size(64).freeze_prototypes_steps(3);  // queue full from step 2
      options.methods().dino().freeze_last_layer_steps(3);
      options.methods().dino().crops().local_crops(2);
      return options;
    };
    const auto a = require_bitwise_resume(run);
    CHECK(a.modules.at("state")["steps"].item<int64_t>() == 12);
  }
}

TEST_CASE("Resume: MoCo, MoCo v3 and InstDisc restore their queue, key encoder and memory bank bitwise",
          "[trainers][methods][resume]") {
  SingleThread single_thread;
  TempDir dir;
  for (const std::string method : {"moco", "mocov3", "instdisc"}) {
    INFO(method);
    auto run = [&](const std::string& name) {
      auto options = tiny_run(dir.file(method + "-" + name)).method(method);
      options.loop().epochs(2);
      options.methods().moco().queue_size(100);
      options.methods().instdisc().negatives(50);
      return options;
    };
    require_bitwise_resume(run);
  }
}
