#include "sslkit/trainers/eval/probe.h"

#include "sslkit/data/rng.h"

#include <ATen/Parallel.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>
#include <torch/optim/lbfgs.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <thread>

namespace ssl::eval {
namespace {

struct LinearModel {
  torch::Tensor weight, bias;
};

// One fit's current point: its weight [D, K] and bias [K] (their gradients are written here) and its L2 weight.
struct Point {
  torch::Tensor* weight;
  torch::Tensor* bias;
  double weight_decay;
};

// The objective of every point (mean cross entropy of softmax(x·W + b) plus weight_decay·‖W‖²) and its gradient
// in one pass over x: the points' weights side by side make one [D, points·K] matmul per row block, and each block
// of about 4 MiB is still cached when its share of xᵀ·(softmax − onehot) is added. An accelerator takes all rows
// at once.
std::vector<double> evaluate_objectives(const torch::Tensor& x, const torch::Tensor& labels,
                                        const std::vector<Point>& points) {
  torch::NoGradGuard no_grad;
  const int64_t n = x.size(0), dim = x.size(1), fits = static_cast<int64_t>(points.size());
  const int64_t classes = points[0].weight->size(1);
  std::vector<torch::Tensor> weights, biases;
  for (const auto& point : points) {
    weights.push_back(*point.weight);
    biases.push_back(*point.bias);
  }
  const auto weight = torch::cat(weights, 1), bias = torch::cat(biases);
  const int64_t block = x.is_cpu() ? std::max<int64_t>(16, (int64_t{4} << 20) / (std::max<int64_t>(dim, 1) *
                                                                                  x.element_size()))
                                   : std::max<int64_t>(n, 1);
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), (n + block - 1) / block));
  // Each chunk of rows sums into its own gradient and losses; the chunks are added in order, so the result depends
  // on the thread count but not on scheduling.
  std::vector<torch::Tensor> grad_weights(static_cast<size_t>(chunks)), grad_biases(static_cast<size_t>(chunks));
  std::vector<torch::Tensor> losses(static_cast<size_t>(chunks));
  at::parallel_for(0, chunks, 1, [&](int64_t first_chunk, int64_t end_chunk) {
    for (int64_t c = first_chunk; c < end_chunk; ++c) {
      const int64_t begin = n * c / chunks, end = n * (c + 1) / chunks;
      auto grad_weight = torch::zeros_like(weight), grad_bias = torch::zeros_like(bias);
      auto loss = torch::zeros({fits}, x.options().dtype(torch::kDouble));
      for (int64_t row = begin; row < end; row += block) {
        const int64_t rows = std::min(block, end - row);
        const auto xb = x.narrow(0, row, rows);
        const auto yb = labels.narrow(0, row, rows).reshape({rows, 1, 1}).expand({rows, fits, 1});
        auto probabilities = torch::addmm(bias, xb, weight).view({rows, fits, classes}).log_softmax(2);
        loss.sub_(probabilities.gather(2, yb).sum(at::IntArrayRef{0, 2}).to(torch::kDouble));
        probabilities.exp_().scatter_add_(2, yb, torch::full({rows, fits, 1}, -1.0, probabilities.options()));
        grad_weight.addmm_(xb.t(), probabilities.view({rows, fits * classes}));
        grad_bias.add_(probabilities.sum(0).view({fits * classes}));
      }
      grad_weights[static_cast<size_t>(c)] = grad_weight;
      grad_biases[static_cast<size_t>(c)] = grad_bias;
      losses[static_cast<size_t>(c)] = loss;
    }
  });
  for (int64_t c = 1; c < chunks; ++c) {
    grad_weights[0].add_(grad_weights[static_cast<size_t>(c)]);
    grad_biases[0].add_(grad_biases[static_cast<size_t>(c)]);
    losses[0].add_(losses[static_cast<size_t>(c)]);
  }
  const double inverse_n = 1.0 / static_cast<double>(std::max<int64_t>(n, 1));
  const auto total = losses[0].mul_(inverse_n).cpu();
  std::vector<double> objectives;
  for (int64_t f = 0; f < fits; ++f) {
    const Point& point = points[static_cast<size_t>(f)];
    point.weight->mutable_grad() =
        grad_weights[0].narrow(1, f * classes, classes).mul(inverse_n).add_(*point.weight, 2 * point.weight_decay);
    point.bias->mutable_grad() = grad_biases[0].narrow(0, f * classes, classes).mul(inverse_n);
    objectives.push_back(total[f].item<double>() +
                         point.weight_decay * point.weight->square().sum().item<double>());
  }
  return objectives;
}

// An L-BFGS fit from zero weights; `objective(weight, bias)` returns the objective and sets their gradients.
template <typename Objective>
LinearModel lbfgs_fit(const torch::TensorOptions& options, int64_t dim, int64_t classes, int64_t max_iterations,
                      Objective objective) {
  auto weight = torch::zeros({dim, classes}, options);
  auto bias = torch::zeros({classes}, options);
  torch::optim::LBFGS optimizer({weight, bias}, torch::optim::LBFGSOptions(1.0)
                                                     .max_iter(max_iterations)
                                                     .history_size(20)
                                                     .line_search_fn("strong_wolfe"));
  optimizer.step([&] { return objective(weight, bias); });
  return {weight, bias};
}

// The objectives of fits that each run L-BFGS on their own thread, evaluated together: a round waits until every
// running fit has asked for its next point (or ended), then evaluates them all in one pass over x, which costs
// about 1.5 times one fit's evaluation for five fits. Each fit's path is its own: only the rounding of the shared
// matmul differs from fitting it alone.
class LockstepObjectives {
 public:
  LockstepObjectives(const torch::Tensor& x, const torch::Tensor& labels, size_t fits)
      : x_(x), labels_(labels), requests_(fits), running_(fits) {}

  // Fit `slot`'s objective at (weight, bias), their gradients set; blocks until its round is evaluated.
  torch::Tensor evaluate(size_t slot, torch::Tensor& weight, torch::Tensor& bias, double weight_decay) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (error_) std::rethrow_exception(error_);
    requests_[slot] = Request{Point{&weight, &bias, weight_decay}, 0.0, true};
    const uint64_t round = round_;
    ++waiting_;
    if (waiting_ == running_) {
      evaluate_round();
    } else {
      ready_.wait(lock, [&] { return round_ != round; });
    }
    if (error_) std::rethrow_exception(error_);
    return torch::tensor(requests_[slot].objective, x_.options());
  }

  // A fit has ended: later rounds no longer wait for it.
  void finish() {
    std::unique_lock<std::mutex> lock(mutex_);
    --running_;
    if (waiting_ > 0 && waiting_ == running_) evaluate_round();
  }

 private:
  struct Request {
    Point point{};
    double objective = 0;
    bool pending = false;
  };

  // Runs with the lock held, on the thread of the last fit to arrive (the others wait for it).
  void evaluate_round() {
    std::vector<Point> points;
    std::vector<Request*> pending;
    for (auto& request : requests_) {
      if (!request.pending) continue;
      points.push_back(request.point);
      pending.push_back(&request);
    }
    try {
      const auto objectives = evaluate_objectives(x_, labels_, points);
      for (size_t i = 0; i < pending.size(); ++i) pending[i]->objective = objectives[i];
    } catch (...) {
      error_ = std::current_exception();
    }
    for (auto* request : pending) request->pending = false;
    waiting_ = 0;
    ++round_;
    ready_.notify_all();
  }

  const torch::Tensor& x_;
  const torch::Tensor& labels_;
  std::vector<Request> requests_;
  size_t running_, waiting_ = 0;
  uint64_t round_ = 0;
  std::exception_ptr error_;
  std::mutex mutex_;
  std::condition_variable ready_;
};

// One fit per weight decay, all at once (LockstepObjectives), each on its own thread with the caller's intra-op
// thread count.
std::vector<LinearModel> fit_each(const torch::Tensor& x, const torch::Tensor& y, int64_t classes,
                                  const std::vector<double>& weight_decays, int64_t max_iterations) {
  LockstepObjectives objectives(x, y, weight_decays.size());
  std::vector<LinearModel> models(weight_decays.size());
  std::vector<std::exception_ptr> errors(weight_decays.size());
  const int threads = at::get_num_threads();
  std::vector<std::thread> fits;
  for (size_t slot = 0; slot < weight_decays.size(); ++slot) {
    fits.emplace_back([&, slot] {
      try {
        at::set_num_threads(threads);
        models[slot] = lbfgs_fit(x.options(), x.size(1), classes, max_iterations, [&](auto& weight, auto& bias) {
          return objectives.evaluate(slot, weight, bias, weight_decays[slot]);
        });
      } catch (...) {
        errors[slot] = std::current_exception();
      }
      objectives.finish();
    });
  }
  for (auto& fit : fits) fit.join();
  for (const auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  return models;
}

LinearModel fit(const torch::Tensor& x, const torch::Tensor& y, int64_t classes, double weight_decay,
                int64_t max_iterations) {
  return lbfgs_fit(x.options(), x.size(1), classes, max_iterations, [&](torch::Tensor& weight, torch::Tensor& bias) {
    return softmax_regression_objective(x, y, weight, bias, weight_decay);
  });
}

double accuracy(const LinearModel& model, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  auto predicted = torch::addmm(model.bias, x, model.weight).argmax(1);
  return predicted.eq(y).to(torch::kDouble).mean().item<double>();
}

// The augmented views [count, C, H', W'] of the images order[first, first + count) of `train` (`images`: its images,
// contiguous) in `epoch`, each drawn by its own RNG so the batch does not depend on the thread count.
torch::Tensor augmented_batch(const data::Augmentation& augment, const data::ImageSet& train,
                              const torch::Tensor& images, const std::vector<int64_t>& order, int64_t first,
                              int64_t count, uint64_t seed, int64_t epoch) {
  const auto shape = augment.output_shape(train.channels(), train.height(), train.width());
  const int64_t image_numel = shape[0] * shape[1] * shape[2];
  auto batch = torch::empty({count, shape[0], shape[1], shape[2]}, torch::kFloat);
  float* out = batch.data_ptr<float>();
  at::parallel_for(0, count, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t index = order[static_cast<size_t>(first + b)];
      data::Rng rng(seed, static_cast<uint64_t>(epoch), static_cast<uint64_t>(index), /*stream=*/0xa06);
      const data::ImageRef image{images.data_ptr<uint8_t>() + index * train.height() * train.width() * train.channels(),
                                 train.height(), train.width(), train.channels()};
      augment.apply(image, rng, out + b * image_numel);
    }
  });
  return batch;
}

// The seeded order in which the augmented probe visits the n training images in `epoch`.
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  data::Rng rng(seed, static_cast<uint64_t>(epoch), 0, /*stream=*/0x5eed);
  data::shuffle(order, rng);
  return order;
}

// Features of float images through the frozen encoder (no gradient), as float on `device`.
torch::Tensor frozen_features(EncoderImpl& encoder, const torch::Tensor& batch, torch::Device device) {
  torch::NoGradGuard no_grad;
  return encoder.forward(batch.to(device)).to(torch::kFloat);
}

void check_split(const torch::Tensor& features, const torch::Tensor& labels, const char* split) {
  TORCH_CHECK(features.dim() == 2 && features.size(0) > 0, "linear probe: ", split,
              " features must be a non-empty [N, D] tensor, got ", features.sizes());
  TORCH_CHECK(labels.dim() == 1 && labels.size(0) == features.size(0), "linear probe: ", split, " has ",
              features.size(0), " feature rows but labels of shape ", labels.sizes());
}

// How `train_linear_head` trains: the encoder frozen (encoder_learning_rate 0) or trained end to end.
struct HeadTraining {
  int64_t epochs, batch_size;
  double learning_rate, encoder_learning_rate, momentum;
  data::RandomResizedCropOptions crop;
  uint64_t seed;
  const LinearClassifier* start = nullptr;  // the probe the head starts from; null: a zero head
  bool freeze_batch_norm = false;           // when fine-tuning: the encoder's BatchNorm layers in eval mode
};

void check_head_training(const data::ImageSet& train, const data::ImageSet& test, const HeadTraining& t,
                         const char* what) {
  TORCH_CHECK(train.labelled() && test.labelled(), what, ": train and test images need labels");
  TORCH_CHECK(t.epochs > 0 && t.batch_size > 0, what, ": epochs and batch size must be > 0, got ", t.epochs, " and ",
              t.batch_size);
  TORCH_CHECK(std::isfinite(t.learning_rate) && t.learning_rate > 0, what,
              ": learning rate must be finite and > 0, got ", t.learning_rate);
  data::validate(t.crop, what);
}

// The variance floor of a head started from `probe`: the square of the floor the probe added to its standard
// deviations (1e-6 of the largest), so that the head standardizes small features as the probe did.
double probe_epsilon(const LinearClassifier& probe) {
  return std::max(std::pow(1e-6 * probe.stddev.max().item<double>(), 2.0), 1e-30);
}

// A linear layer behind a BatchNorm without affine parameters. Its test-time statistics are the cumulative average
// over all training batches on a frozen encoder (momentum none), the usual running average when fine-tuning. A head
// started from a linear probe takes the probe's weights and its standardization as the running statistics; else
// it starts at zero.
struct LinearHead {
  torch::nn::BatchNorm1d standardize{nullptr};
  torch::nn::Linear linear{nullptr};

  LinearHead(int64_t dim, int64_t classes, bool fine_tune, const LinearClassifier* start, torch::Device device)
      : standardize(torch::nn::BatchNorm1dOptions(dim)
                        .affine(false)
                        .momentum(fine_tune ? c10::optional<double>(0.1) : c10::nullopt)
                        .eps(start != nullptr ? probe_epsilon(*start) : 1e-5)),
        linear(dim, classes) {
    torch::NoGradGuard no_grad;  // zero start: on frozen features the fit is convex and needs no random draw
    if (start != nullptr) {
      TORCH_CHECK(start->weight.sizes() == std::vector<int64_t>({dim, classes}), "linear head: the starting probe's ",
                  "weights are ", start->weight.sizes(), ", expected [", dim, ", ", classes, "]");
      linear->weight.copy_(start->weight.t());
      linear->bias.copy_(start->bias);
      standardize->running_mean.copy_(start->mean);
      standardize->running_var.copy_(start->stddev.square());
    } else {
      linear->weight.zero_();
      linear->bias.zero_();
    }
    standardize->to(device);
    linear->to(device);
  }
  torch::Tensor forward(const torch::Tensor& features) { return linear->forward(standardize->forward(features)); }
};

// Nesterov SGD over the head (group 0) and, when fine-tuning, the encoder (group 1, at its own rate).
torch::optim::SGD head_optimizer(LinearHead& head, EncoderImpl& encoder, const HeadTraining& t) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(head.linear->parameters());
  if (t.encoder_learning_rate > 0) groups.emplace_back(encoder.parameters());
  return torch::optim::SGD(groups, torch::optim::SGDOptions(t.learning_rate).momentum(t.momentum).nesterov(true));
}

// Scales every group's base rate by the cosine factor of `step` out of `total_steps`.
void set_cosine_rates(torch::optim::SGD& optimizer, const HeadTraining& t, int64_t step, int64_t total_steps) {
  const double base_lr[] = {t.learning_rate, t.encoder_learning_rate};
  const double factor = 0.5 * (1 + std::cos(M_PI * static_cast<double>(step) / static_cast<double>(total_steps)));
  for (size_t g = 0; g < optimizer.param_groups().size(); ++g) {
    static_cast<torch::optim::SGDOptions&>(optimizer.param_groups()[g].options()).lr(base_lr[g] * factor);
  }
}

// The head's logits and accuracy on `test`, encoded without augmentation, in eval mode, once.
LinearProbeResult score_head(LinearHead& head, EncoderImpl& encoder, const data::ImageSet& test,
                             const data::Normalization& norm, torch::Device device) {
  torch::NoGradGuard no_grad;
  head.standardize->eval();
  encoder.eval();
  const auto test_features = extract_features(encoder, test.images, norm, device);
  LinearProbeResult result;
  result.feature_dim = encoder.feature_dim();
  result.test_logits = head.forward(test_features.to(device)).cpu();
  result.test_accuracy =
      result.test_logits.argmax(1).eq(test.labels.to(torch::kInt64)).to(torch::kDouble).mean().item<double>();
  return result;
}

// A `LinearHead` trained with Nesterov SGD and a cosine learning rate on random-resized-crop + flip views of
// `train` through the encoder: frozen in eval mode, or in train mode in a second parameter group at its own rate;
// then scored on `test`. `what` names the protocol in errors.
LinearProbeResult train_linear_head(EncoderImpl& encoder, const data::ImageSet& train, const data::ImageSet& test,
                                    const data::Normalization& norm, torch::Device device, const HeadTraining& t,
                                    const char* what) {
  check_head_training(train, test, t, what);
  torch::AutoGradMode enable_grad(true);
  const bool fine_tune = t.encoder_learning_rate > 0;
  const int64_t n = train.size(), classes = std::max(train.labels.max().item<int64_t>(),
                                                     test.labels.max().item<int64_t>()) + 1;
  const data::Augmentation augment({t.crop, data::HorizontalFlipOptions()}, norm);
  LinearHead head(encoder.feature_dim(), classes, fine_tune, t.start, device);
  encoder.to(device);
  encoder.train(fine_tune);
  if (fine_tune && t.freeze_batch_norm) {
    for (const auto& module : encoder.modules(/*include_self=*/false)) {
      if (is_batch_norm(*module)) module->eval();
    }
  }
  auto optimizer = head_optimizer(head, encoder, t);
  const int64_t total_steps = t.epochs * ((n + t.batch_size - 1) / t.batch_size);
  const auto images = train.images.contiguous();
  const auto labels = train.labels.to(torch::kInt64);
  int64_t step = 0;
  for (int64_t epoch = 0; epoch < t.epochs; ++epoch) {
    const auto order = epoch_order(n, t.seed, epoch);
    head.standardize->train();
    for (int64_t first = 0; first < n; first += t.batch_size, ++step) {
      const int64_t count = std::min(t.batch_size, n - first);
      if (count < 2) continue;  // BatchNorm needs two rows; a last batch of one image is left out
      const auto batch = augmented_batch(augment, train, images, order, first, count, t.seed, epoch);
      const auto features =
          fine_tune ? encoder.forward(batch.to(device)).to(torch::kFloat) : frozen_features(encoder, batch, device);
      const auto index = torch::tensor(std::vector<int64_t>(order.begin() + first, order.begin() + first + count));
      const auto target = labels.index_select(0, index).to(device);
      set_cosine_rates(optimizer, t, step, total_steps);
      optimizer.zero_grad();
      torch::nn::functional::cross_entropy(head.forward(features), target).backward();
      optimizer.step();
    }
  }
  return score_head(head, encoder, test, norm, device);
}

}  // namespace

torch::Tensor extract_features(EncoderImpl& encoder, const torch::Tensor& images, const data::Normalization& norm,
                               torch::Device device, int64_t batch_size) {
  const bool was_training = encoder.is_training();
  encoder.eval();
  encoder.to(device);  // outside the inference guard: moved parameters must stay usable for training
  std::vector<torch::Tensor> chunks;
  {
    c10::InferenceMode inference;
    for (int64_t first = 0; first < images.size(0); first += batch_size) {
      const int64_t count = std::min(batch_size, images.size(0) - first);
      auto x = data::to_float_images(images.narrow(0, first, count), norm).to(device);
      chunks.push_back(encoder.forward(x).to(torch::kFloat).cpu());
    }
  }
  encoder.train(was_training);
  return torch::cat(chunks, 0);
}

torch::Tensor raw_pixel_features(const torch::Tensor& images, const data::Normalization& norm) {
  return data::to_float_images(images, norm).flatten(1);
}

torch::Tensor LinearClassifier::logits(const torch::Tensor& features) const {
  torch::NoGradGuard no_grad;
  return torch::addmm(bias, (features.to(torch::kFloat) - mean) / stddev, weight);
}

torch::Tensor softmax_regression_objective(const torch::Tensor& x, const torch::Tensor& labels, torch::Tensor& weight,
                                           torch::Tensor& bias, double weight_decay) {
  TORCH_CHECK(x.dim() == 2 && labels.dim() == 1 && labels.size(0) == x.size(0) && weight.dim() == 2 &&
                  weight.size(0) == x.size(1) && bias.dim() == 1 && bias.size(0) == weight.size(1),
              "softmax regression: expected x [N, D], labels [N], weight [D, K], bias [K], got ", x.sizes(), ", ",
              labels.sizes(), ", ", weight.sizes(), ", ", bias.sizes());
  TORCH_CHECK(labels.scalar_type() == torch::kInt64, "softmax regression: expected int64 labels, got ",
              labels.scalar_type());
  std::vector<Point> points{{&weight, &bias, weight_decay}};
  return torch::tensor(evaluate_objectives(x, labels, points)[0], x.options());
}

LinearClassifier fit_linear_classifier(const torch::Tensor& train_features, const torch::Tensor& train_labels,
                                       int64_t classes, const LinearProbeOptions& options) {
  check_split(train_features, train_labels, "train");
  TORCH_CHECK(!options.weight_decays().empty(), "linear probe: no candidate weight decays");
  const int64_t n = train_features.size(0);
  TORCH_CHECK(options.max_validation_fraction() > 0 && options.max_validation_fraction() < 1,
              "linear probe: max validation fraction must be in (0, 1), got ", options.max_validation_fraction());
  const int64_t validation_size = std::min(
      options.validation_size(), static_cast<int64_t>(options.max_validation_fraction() * static_cast<double>(n)));
  TORCH_CHECK(validation_size > 0 && validation_size < n, "linear probe: validation size ", validation_size,
              " must be in (0, ", n, ")");

  auto train_x = train_features.to(torch::kFloat);
  LinearClassifier model;
  model.mean = train_x.mean(0);
  // The floor that keeps constant features finite is relative to the features' own scale: an absolute 1e-6
  // swamped the 1e-14-scale features of a random-init efficientnet-b0 and left the probe at chance.
  const auto stddev = train_x.std(0);
  const double floor = std::max(1e-6 * stddev.max().item<double>(), static_cast<double>(FLT_MIN));
  model.stddev = stddev.add_(floor);
  train_x = (train_x - model.mean) / model.stddev;
  auto train_y = train_labels.to(torch::kInt64);
  if (classes <= 0) classes = train_y.max().item<int64_t>() + 1;

  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  data::Rng rng(options.seed(), 0, 0, /*stream=*/0x9b0be);
  data::shuffle(order, rng);
  auto permutation = torch::tensor(order);
  auto validation_index = permutation.narrow(0, 0, validation_size);
  auto fit_index = permutation.narrow(0, validation_size, n - validation_size);
  auto fit_x = train_x.index_select(0, fit_index), fit_y = train_y.index_select(0, fit_index);
  auto validation_x = train_x.index_select(0, validation_index);
  auto validation_y = train_y.index_select(0, validation_index);

  for (const double weight_decay : options.weight_decays()) {
    TORCH_CHECK(weight_decay >= 0, "linear probe: weight decay must be >= 0, got ", weight_decay);
  }
  const auto fits = fit_each(fit_x, fit_y, classes, options.weight_decays(), options.max_iterations());
  model.validation_accuracy = -1;
  for (size_t i = 0; i < fits.size(); ++i) {
    const double acc = accuracy(fits[i], validation_x, validation_y);
    if (acc > model.validation_accuracy) {
      model.validation_accuracy = acc;
      model.weight_decay = options.weight_decays()[i];
    }
  }
  const LinearModel fitted = fit(train_x, train_y, classes, model.weight_decay, options.max_iterations());
  model.weight = fitted.weight;
  model.bias = fitted.bias;
  return model;
}

LinearProbeResult linear_probe(const torch::Tensor& train_features, const torch::Tensor& train_labels,
                               const torch::Tensor& test_features, const torch::Tensor& test_labels,
                               const LinearProbeOptions& options) {
  check_split(train_features, train_labels, "train");
  check_split(test_features, test_labels, "test");
  TORCH_CHECK(train_features.size(1) == test_features.size(1), "linear probe: train features have ",
              train_features.size(1), " dimensions, test features ", test_features.size(1));
  const int64_t classes =
      std::max(train_labels.max().item<int64_t>(), test_labels.max().item<int64_t>()) + 1;
  const LinearClassifier model = fit_linear_classifier(train_features, train_labels, classes, options);
  LinearProbeResult result;
  result.feature_dim = train_features.size(1);
  result.weight_decay = model.weight_decay;
  result.validation_accuracy = model.validation_accuracy;
  result.test_logits = model.logits(test_features);
  result.test_accuracy =
      result.test_logits.argmax(1).eq(test_labels.to(torch::kInt64)).to(torch::kDouble).mean().item<double>();
  return result;
}

torch::Tensor class_balanced_subset(const torch::Tensor& labels, double fraction, uint64_t seed) {
  TORCH_CHECK(labels.dim() == 1 && labels.size(0) > 0, "label subset: labels must be a non-empty [N] tensor, got ",
              labels.sizes());
  TORCH_CHECK(fraction > 0 && fraction <= 1, "label fraction must be in (0, 1], got ", fraction);
  const int64_t n = labels.size(0);
  if (fraction == 1.0) return torch::arange(n, torch::kInt64);
  const auto y = labels.to(torch::kInt64).contiguous();
  std::map<int64_t, std::vector<int64_t>> by_class;
  for (int64_t i = 0; i < n; ++i) by_class[y.data_ptr<int64_t>()[i]].push_back(i);
  const auto per_class = std::max<int64_t>(
      1, std::llround(fraction * static_cast<double>(n) / static_cast<double>(by_class.size())));
  std::vector<int64_t> chosen;
  for (auto& [label, members] : by_class) {
    data::Rng rng(seed, static_cast<uint64_t>(label), 0, /*stream=*/0x1abe1);
    data::shuffle(members, rng);
    const auto take = std::min<size_t>(members.size(), static_cast<size_t>(per_class));
    chosen.insert(chosen.end(), members.begin(), members.begin() + static_cast<std::ptrdiff_t>(take));
  }
  std::sort(chosen.begin(), chosen.end());
  return torch::tensor(chosen, torch::kInt64);
}

Encoder random_init_encoder(const std::string& name, int64_t in_channels, int64_t image_size, uint64_t seed) {
  return random_init_encoder(name, EncoderOptions(in_channels).image_size(image_size), seed);
}

Encoder random_init_encoder(const std::string& name, const EncoderOptions& options, uint64_t seed) {
  torch::manual_seed(seed);
  return make_encoder(name, options);
}

LinearProbeResult augmented_linear_probe(EncoderImpl& encoder, const data::ImageSet& train,
                                         const data::ImageSet& test, const data::Normalization& norm,
                                         torch::Device device, const AugmentedProbeOptions& options) {
  return train_linear_head(encoder, train, test, norm, device,
                           HeadTraining{options.epochs(), options.batch_size(), options.learning_rate(), 0.0,
                                        options.momentum(), options.crop(), options.seed()},
                           "augmented probe");
}

int64_t fine_tune_epochs(const FineTuneOptions& options, int64_t train_size) {
  TORCH_CHECK(options.epochs() >= 0, "fine-tuning: epochs must be >= 0 (0: automatic), got ", options.epochs());
  TORCH_CHECK(train_size > 0, "fine-tuning: no training images");
  if (options.epochs() > 0) return options.epochs();
  return std::clamp<int64_t>((360000 + train_size - 1) / train_size, 10, 60);
}

LinearProbeResult fine_tune(EncoderImpl& encoder, const data::ImageSet& train, const data::ImageSet& test,
                            const data::Normalization& norm, torch::Device device, const FineTuneOptions& options) {
  TORCH_CHECK(std::isfinite(options.encoder_lr_scale()) && options.encoder_lr_scale() > 0,
              "fine-tuning: the encoder's learning-rate scale must be finite and > 0, got ", options.encoder_lr_scale());
  HeadTraining training{fine_tune_epochs(options, train.size()),
                        options.batch_size(),
                        options.learning_rate(),
                        options.learning_rate() * options.encoder_lr_scale(),
                        options.momentum(),
                        options.crop(),
                        options.seed()};
  training.freeze_batch_norm = options.freeze_batch_norm();
  LinearClassifier probe;
  if (options.linear_probe_first()) {
    TORCH_CHECK(train.labelled() && test.labelled(), "fine-tuning: train and test images need labels");
    const int64_t classes =
        std::max(train.labels.max().item<int64_t>(), test.labels.max().item<int64_t>()) + 1;
    probe = fit_linear_classifier(extract_features(encoder, train.images, norm, device), train.labels, classes,
                                  options.linear_probe());
    training.start = &probe;
  }
  return train_linear_head(encoder, train, test, norm, device, training, "fine-tuning");
}

}  // namespace ssl::eval
