// sslkit pretrain: parse options, fill PretrainOptions, run, report.
#include "cli.h"
#include "commands.h"

#include "sslkit/trainers/pretrain.h"

#include <cstdio>

namespace ssl::cli {

int pretrain_main(int argc, char** argv) {
  const trainers::PretrainOptions defaults;
  po::options_description description("sslkit pretrain options");
  description.add_options()
      ("out", po::value<std::string>()->default_value(defaults.out_dir()), "run directory to write")
      ("data", po::value<std::string>()->default_value(defaults.data()),
       "fashion-mnist, a folder of MNIST-format IDX files, an .h5 file or an image folder")
      ("max-images", po::value<int64_t>()->default_value(0), "train on the first N images only (0: all)")
      ("method", po::value<std::string>()->default_value(defaults.method()), "pretext method: simclr")
      ("encoder", po::value<std::string>()->default_value(defaults.encoder()), "encoder: convnet-s | resnet18")
      ("epochs", po::value<int64_t>()->default_value(defaults.epochs()), "epochs the schedule spans")
      ("max-minutes", po::value<double>()->default_value(defaults.max_minutes()),
       "training time budget in minutes (0: none); the schedule ends with whichever budget is first")
      ("max-steps", po::value<int64_t>()->default_value(0), "stop after N steps (0: no limit)")
      ("batch-size", po::value<int64_t>()->default_value(defaults.batch_size()), "images per batch")
      ("optimizer", po::value<std::string>()->default_value(defaults.optimizer().name()), "adam | adamw | sgd")
      ("lr", po::value<double>()->default_value(defaults.optimizer().lr()), "peak learning rate")
      ("weight-decay", po::value<double>()->default_value(defaults.optimizer().weight_decay()),
       "weight decay (not applied to biases and BatchNorm)")
      ("momentum", po::value<double>()->default_value(defaults.optimizer().momentum()), "SGD momentum")
      ("nesterov", po::bool_switch(), "SGD with Nesterov momentum")
      ("warmup", po::value<double>()->default_value(defaults.warmup_fraction()),
       "fraction of the run in linear warmup before the cosine decay")
      ("temperature", po::value<double>()->default_value(defaults.simclr().temperature()), "NT-Xent temperature")
      ("workers", po::value<int64_t>()->default_value(defaults.workers()), "data loader threads")
      ("prefetch", po::value<int64_t>()->default_value(defaults.prefetch()), "batches prepared ahead")
      ("log-every", po::value<int64_t>()->default_value(defaults.log_every()), "steps per metrics line")
      ("quiet,q", po::bool_switch(), "no progress line");
  add_source_options(description);
  add_common_options(description);
  auto vm = parse(description, argc, argv,
                  "usage: sslkit pretrain [--out RUN_DIR] [options]\n"
                  "Self-supervised pretraining; writes RUN_DIR/checkpoint.pt, metrics.jsonl and options.ini.");
  if (!vm) return 0;
  apply_threads(*vm);
  const auto& v = *vm;

  const auto recorded = to_strings(v);
  trainers::PretrainOptions options;
  options.out_dir(v["out"].as<std::string>())
      .data(v["data"].as<std::string>())
      .source(source_options(v))
      .max_images(v["max-images"].as<int64_t>())
      .method(v["method"].as<std::string>())
      .encoder(v["encoder"].as<std::string>())
      .epochs(v["epochs"].as<int64_t>())
      .max_minutes(v["max-minutes"].as<double>())
      .max_steps(v["max-steps"].as<int64_t>())
      .batch_size(v["batch-size"].as<int64_t>())
      .optimizer(trainers::OptimizerOptions()
                     .name(v["optimizer"].as<std::string>())
                     .lr(v["lr"].as<double>())
                     .weight_decay(v["weight-decay"].as<double>())
                     .momentum(v["momentum"].as<double>())
                     .nesterov(v["nesterov"].as<bool>()))
      .warmup_fraction(v["warmup"].as<double>())
      .simclr(trainers::SimCLROptions().temperature(v["temperature"].as<double>()))
      .workers(v["workers"].as<int64_t>())
      .prefetch(v["prefetch"].as<int64_t>())
      .seed(v["seed"].as<uint64_t>())
      .device(v["device"].as<std::string>())
      .log_every(v["log-every"].as<int64_t>())
      .progress(!v["quiet"].as<bool>())
      .recorded_options(recorded);

  const auto result = trainers::pretrain(options);
  std::printf("pretrained %s/%s on %s: %lld epochs, %lld steps in %.0f s, %.0f img/s, loss %.4f -> %s\n",
              options.method().c_str(), options.encoder().c_str(), result.device.c_str(),
              static_cast<long long>(result.epochs), static_cast<long long>(result.steps), result.seconds,
              result.images_per_second, result.final_loss, result.checkpoint.c_str());
  return 0;
}

}  // namespace ssl::cli
