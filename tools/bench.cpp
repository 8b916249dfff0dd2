// sslkit bench: benchmarks behind one small dispatch table; each prints an aligned text table.
#include "cli.h"
#include "commands.h"

#include "sslkit/data/benchmark.h"
#include "sslkit/data/sources/bench.h"
#include "sslkit/data/views/registry.h"
#include "sslkit/ssl/device.h"
#include "sslkit/trainers/mi_benchmark.h"
#include "sslkit/trainers/time_to_accuracy.h"
#include "sslkit/trainers/train_benchmark.h"

#include <cstdio>
#include <iterator>
#include <iostream>
#include <sstream>

namespace ssl::cli {
namespace {

std::string join(const std::vector<double>& values) {
  std::ostringstream out;
  for (size_t i = 0; i < values.size(); ++i) out << (i ? "," : "") << values[i];
  return out.str();
}

int bench_mi(int argc, char** argv) {
  const trainers::MIBenchmarkOptions d;
  std::string bounds_default;
  for (const auto& b : d.bounds()) bounds_default += (bounds_default.empty() ? "" : ",") + b;
  po::options_description description("sslkit bench mi options");
  description.add_options()
      ("steps", po::value<int64_t>()->default_value(d.steps()), "Adam steps per (bound, true MI)")
      ("average-last", po::value<int64_t>()->default_value(d.average_last()), "steps the estimate is averaged over")
      ("batch-size", po::value<int64_t>()->default_value(d.batch_size()), "pairs per batch N")
      ("dim", po::value<int64_t>()->default_value(d.dim()), "dimension of x and y")
      ("lr", real(d.lr()), "Adam learning rate")
      ("mi", po::value<std::string>()->default_value(join(d.true_mi())), "comma-separated true MI values (nats)")
      ("bounds", po::value<std::string>()->default_value(bounds_default), "comma-separated bounds")
      ("critic", po::value<std::string>()->default_value(d.critic()), "separable | concat")
      ("hidden", po::value<int64_t>()->default_value(d.hidden_dim()), "critic hidden width")
      ("layers", po::value<int64_t>()->default_value(d.layers()), "critic hidden layers")
      ("quiet,q", po::bool_switch(), "no per-run progress on stderr");
  add_common_options(description);
  auto vm = parse(description, argc, argv,
                  "usage: sslkit bench mi [options]\n"
                  "Trains MI critics on correlated Gaussians of known MI (Poole et al. 2019) and reports the estimates.\n"
                  "Runs on one CPU thread unless --threads is given.");
  if (!vm) return 0;
  const auto& v = *vm;
  // The critics are small: one thread is fastest, and spare threads only stall on a busy machine.
  if (v["threads"].defaulted()) {
    set_threads(1);
  } else {
    apply_threads(v);
  }
  trainers::MIBenchmarkOptions options;
  options.steps(v["steps"].as<int64_t>())
      .average_last(v["average-last"].as<int64_t>())
      .batch_size(v["batch-size"].as<int64_t>())
      .dim(v["dim"].as<int64_t>())
      .lr(v["lr"].as<double>())
      .true_mi(parse_list<double>(v["mi"].as<std::string>(), "--mi"))
      .bounds(parse_list<std::string>(v["bounds"].as<std::string>(), "--bounds"))
      .critic(v["critic"].as<std::string>())
      .hidden_dim(v["hidden"].as<int64_t>())
      .layers(v["layers"].as<int64_t>())
      .device(v["device"].as<std::string>())
      .seed(v["seed"].as<uint64_t>());
  const bool quiet = v["quiet"].as<bool>();
  const auto rows = trainers::run_mi_benchmark(options, [&](const trainers::MIBenchmarkRow& r) {
    if (!quiet) std::fprintf(stderr, "  %s, true MI %.1f: %.3f (%.1f s)\n", r.bound.c_str(), r.true_mi, r.estimate, r.seconds);
  });
  std::cout << trainers::format_mi_table(rows, options.batch_size());
  return 0;
}

int bench_losses(int argc, char** argv) {
  const trainers::LossBenchmarkOptions d;
  std::string sizes_default;
  for (auto n : d.sizes()) sizes_default += (sizes_default.empty() ? "" : ",") + std::to_string(n);
  po::options_description description("sslkit bench losses options");
  description.add_options()
      ("sizes", po::value<std::string>()->default_value(sizes_default), "comma-separated batch sizes N")
      ("dim", po::value<int64_t>()->default_value(d.dim()), "embedding size D")
      ("repeats", po::value<int64_t>()->default_value(d.repeats()), "timed repetitions (median reported)")
      ("queue", po::value<int64_t>()->default_value(d.queue_size()), "negatives of the info_nce+queue case");
  add_common_options(description);
  auto vm = parse(description, argc, argv,
                  "usage: sslkit bench losses [options]\nForward + backward time of each loss of sslkit::losses.");
  if (!vm) return 0;
  apply_threads(*vm);
  const auto& v = *vm;
  trainers::LossBenchmarkOptions options;
  options.sizes(parse_list<int64_t>(v["sizes"].as<std::string>(), "--sizes"))
      .dim(v["dim"].as<int64_t>())
      .repeats(v["repeats"].as<int64_t>())
      .queue_size(v["queue"].as<int64_t>())
      .device(v["device"].as<std::string>())
      .seed(v["seed"].as<uint64_t>());
  std::cout << trainers::format_loss_table(trainers::run_loss_benchmark(options));
  return 0;
}

int bench_data(int argc, char** argv) {
  const data::DataBenchmarkOptions d;
  std::string views_default, workers_default;
  for (const auto& v : d.views()) views_default += (views_default.empty() ? "" : ",") + v;
  for (auto w : d.workers()) workers_default += (workers_default.empty() ? "" : ",") + std::to_string(w);
  po::options_description description("sslkit bench data options");
  description.add_options()
      ("data", po::value<std::string>()->default_value("fashion-mnist"),
       "fashion-mnist, a folder of IDX files, an .h5 file or an image folder")
      ("views", po::value<std::string>()->default_value(views_default), "comma-separated view names")
      ("workers", po::value<std::string>()->default_value(workers_default), "comma-separated loader thread counts")
      ("batch-size", po::value<int64_t>()->default_value(d.batch_size()), "images per batch")
      ("batches", po::value<int64_t>()->default_value(d.batches()), "timed batches per row");
  add_common_options(description);
  auto vm = parse(description, argc, argv,
                  "usage: sslkit bench data [options]\n"
                  "Images and views per second that the Loader delivers for each pretext view (train split).");
  if (!vm) return 0;
  apply_threads(*vm);
  const auto& v = *vm;
  data::DataBenchmarkOptions options;
  options.views(parse_list<std::string>(v["views"].as<std::string>(), "--views"))
      .workers(parse_list<int64_t>(v["workers"].as<std::string>(), "--workers"))
      .batch_size(v["batch-size"].as<int64_t>())
      .batches(v["batches"].as<int64_t>())
      .seed(v["seed"].as<uint64_t>());
  for (const auto& name : options.views()) data::make_view(name, data::Normalization{{0.5f}, {0.5f}});
  const auto source = data::open_source(v["data"].as<std::string>(), data::Split::Train);
  std::cout << data::format_data_table(data::run_data_benchmark(source, options));
  return 0;
}

int bench_sources(int argc, char** argv) {
  const data::SourceBenchmarkOptions d;
  po::options_description description("sslkit bench sources options");
  description.add_options()
      ("data", po::value<std::string>()->default_value("fashion-mnist"), "data spec to read (train split)")
      ("reads", po::value<int64_t>()->default_value(d.reads()), "images read per access pattern")
      ("batch-size", po::value<int64_t>()->default_value(d.batch_size()), "images per bulk read")
      ("no-memory", po::bool_switch(), "skip the in-memory comparison")
      ("hdf5-cache-mib", real(4), "HDF5 chunk cache per data set, MiB");
  add_source_options(description);
  add_common_options(description);
  auto vm = parse(description, argc, argv,
                  "usage: sslkit bench sources [--data SPEC] [options]\n"
                  "Images/s of random single reads, random batches and sequential reads, vs an in-memory copy.");
  if (!vm) return 0;
  const auto& v = *vm;
  const auto source = data::open_source(
      v["data"].as<std::string>(), data::Split::Train,
      source_options(v).hdf5_cache_bytes(static_cast<int64_t>(v["hdf5-cache-mib"].as<double>() * (1 << 20))));
  const auto rows = data::run_source_benchmark(*source, data::SourceBenchmarkOptions()
                                                            .reads(v["reads"].as<int64_t>())
                                                            .batch_size(v["batch-size"].as<int64_t>())
                                                            .seed(v["seed"].as<uint64_t>())
                                                            .compare_memory(!v["no-memory"].as<bool>()));
  std::cout << data::format_source_table(rows);
  return 0;
}

int bench_train(int argc, char** argv) {
  const trainers::TrainBenchmarkOptions d;
  const trainers::PretrainOptions& c = d.config();
  po::options_description description("sslkit bench train options");
  description.add_options()
      ("data", po::value<std::string>()->default_value(c.data()),
       "fashion-mnist, a folder of IDX files, an .h5 file or an image folder")
      ("method", po::value<std::string>()->default_value(c.method()), "pretext method")
      ("encoder", po::value<std::string>()->default_value(c.encoder()), "encoder")
      ("stem", po::value<std::string>()->default_value(c.stem()), "resnets: auto | cifar | imagenet")
      ("patch-size", po::value<int64_t>()->default_value(c.patch_size()), "vits: patch side (0: by image size)")
      ("batch-size", po::value<int64_t>()->default_value(c.batch_size()), "images per batch")
      ("precision", po::value<std::string>()->default_value(trainers::to_string(c.loop().precision())),
       "fp32 | bf16 | fp16 (CUDA)")
      ("workers", po::value<int64_t>()->default_value(c.workers()), "data loader threads")
      ("steps", po::value<int64_t>()->default_value(d.steps()), "timed steps per measurement")
      ("warmup-steps", po::value<int64_t>()->default_value(d.warmup_steps()), "untimed steps before each")
      ("rounds", po::value<int64_t>()->default_value(d.rounds()), "rounds of the three measurements, order rotated")
      ("matmul-size", po::value<int64_t>()->default_value(d.matmul_size()), "side of the matmul peak's matrices");
  add_common_options(description);
  auto vm = parse(description, argc, argv,
                  "usage: sslkit bench train [options]\n"
                  "End-to-end, compute-only and data-only images/s of one training configuration (the median and\n"
                  "range of interleaved rounds), its GFLOP/s against the measured matmul peak of its precision\n"
                  "(fp32, and bf16 where the device has it fast), and peak memory.");
  if (!vm) return 0;
  apply_threads(*vm);
  const auto& v = *vm;
  trainers::TrainBenchmarkOptions options;
  options.config()
      .data(v["data"].as<std::string>())
      .method(v["method"].as<std::string>())
      .encoder(v["encoder"].as<std::string>())
      .stem(v["stem"].as<std::string>())
      .patch_size(v["patch-size"].as<int64_t>())
      .batch_size(v["batch-size"].as<int64_t>())
      .workers(v["workers"].as<int64_t>())
      .device(parse_device(v["device"].as<std::string>()))
      .seed(v["seed"].as<uint64_t>());
  options.config().loop().precision(trainers::parse_precision(v["precision"].as<std::string>()));
  options.steps(v["steps"].as<int64_t>())
      .warmup_steps(v["warmup-steps"].as<int64_t>())
      .rounds(v["rounds"].as<int64_t>())
      .matmul_size(v["matmul-size"].as<int64_t>());
  const auto result = trainers::run_train_benchmark(options);
  std::cout << trainers::format_train_table(options, result);
  return 0;
}

int bench_encoders(int argc, char** argv) {
  const trainers::EncoderBenchmarkOptions d;
  po::options_description description("sslkit bench encoders options");
  description.add_options()
      ("encoders", po::value<std::string>()->default_value(""), "comma-separated encoder names (default: all)")
      ("channels", po::value<int64_t>()->default_value(d.channels()), "input channels")
      ("image-size", po::value<int64_t>()->default_value(d.image_size()), "input side in pixels")
      ("stem", po::value<std::string>()->default_value(d.stem()), "resnets: auto | cifar | imagenet")
      ("batch-size", po::value<int64_t>()->default_value(d.batch_size()), "images per timed pass")
      ("steps", po::value<int64_t>()->default_value(d.steps()), "timed passes per precision")
      ("precisions", po::value<std::string>()->default_value("fp32,bf16"), "comma-separated precisions timed")
      ("matmul-size", po::value<int64_t>()->default_value(d.matmul_size()), "side of the matmul peak's matrices");
  add_common_options(description);
  auto vm = parse(description, argc, argv,
                  "usage: sslkit bench encoders [options]\n"
                  "Each encoder's features, parameters and forward MFLOP (counted by the code) on one image shape,\n"
                  "and its forward + backward images/s on random images in each precision.");
  if (!vm) return 0;
  apply_threads(*vm);
  const auto& v = *vm;
  trainers::EncoderBenchmarkOptions options;
  const auto names = v["encoders"].as<std::string>();
  if (!names.empty()) options.encoders(parse_list<std::string>(names, "--encoders"));
  std::vector<trainers::Precision> precisions;
  for (const auto& name : parse_list<std::string>(v["precisions"].as<std::string>(), "--precisions")) {
    precisions.push_back(trainers::parse_precision(name));
  }
  options.channels(v["channels"].as<int64_t>())
      .image_size(v["image-size"].as<int64_t>())
      .stem(v["stem"].as<std::string>())
      .batch_size(v["batch-size"].as<int64_t>())
      .steps(v["steps"].as<int64_t>())
      .precisions(precisions)
      .device(v["device"].as<std::string>())
      .seed(v["seed"].as<uint64_t>())
      .matmul_size(v["matmul-size"].as<int64_t>());
  double peak = 0;
  const auto rows = trainers::run_encoder_benchmark(options, &peak);
  std::cout << trainers::format_encoder_table(options, rows, peak);
  return 0;
}

int bench_accuracy(int argc, char** argv) {
  const trainers::TimeToAccuracyOptions d;
  std::vector<double> percents;
  for (const double target : d.targets()) percents.push_back(100 * target);
  po::options_description description("sslkit bench accuracy options");
  description.add_options()
      ("run", po::value<std::string>()->required(), "run directory pretrained with --keep-checkpoints")
      ("targets", po::value<std::string>()->default_value(join(percents)), "comma-separated test accuracies in %")
      ("matmul-size", po::value<int64_t>()->default_value(d.matmul_size()), "side of the matmul peak's matrices");
  add_common_options(description);
  auto vm = parse(description, argc, argv,
                  "usage: sslkit bench accuracy --run RUN_DIR [options]\n"
                  "Minutes to accuracy: the linear probe (L-BFGS, all labels, as `sslkit probe`) of the checkpoints\n"
                  "a run kept (`sslkit pretrain --keep-checkpoints`, spaced by --checkpoint-every and epoch ends),\n"
                  "from the last backwards, and for each target the training minutes from which on every\n"
                  "checkpoint reaches it.");
  if (!vm) return 0;
  apply_threads(*vm);
  const auto& v = *vm;
  std::vector<double> targets;
  for (const double percent : parse_list<double>(v["targets"].as<std::string>(), "--targets")) {
    targets.push_back(percent / 100);
  }
  trainers::TimeToAccuracyOptions options;
  options.run_dir(v["run"].as<std::string>()).targets(targets).matmul_size(v["matmul-size"].as<int64_t>());
  options.probe().device(resolve_device(v["device"].as<std::string>())).seed(v["seed"].as<uint64_t>());
  const auto result = trainers::time_to_accuracy(options);
  std::cout << trainers::format_time_to_accuracy(options, result);
  return 0;
}

constexpr Subcommand kBenchmarks[] = {
    {"mi", bench_mi, "MI bounds and critics on correlated Gaussians of known MI (true vs estimated nats)"},
    {"losses", bench_losses, "forward + backward time of each loss at several batch sizes"},
    {"data", bench_data, "images and views per second through the Loader for each pretext view, 1 and 2 workers"},
    {"train", bench_train, "end-to-end vs compute-only vs data-only images/s of a training step, GFLOP/s, memory"},
    {"encoders", bench_encoders, "each encoder's features, parameters, forward MFLOP and forward + backward images/s"},
    {"accuracy", bench_accuracy, "minutes of training to each linear-probe accuracy target, from a run's kept checkpoints"},
    {"sources", bench_sources, "images/s of random and sequential reads from a data spec vs in memory"},
};

}  // namespace

int bench_main(int argc, char** argv) {
  return dispatch(kBenchmarks, std::size(kBenchmarks), "benchmark",
                  "usage: sslkit bench <benchmark> [options]    (sslkit bench <benchmark> --help for its options)",
                  "benchmarks", argc, argv);
}

}  // namespace ssl::cli
