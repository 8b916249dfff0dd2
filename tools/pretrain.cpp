// sslkit pretrain: parse options, fill PretrainOptions, run, report.
#include "cli.h"
#include "commands.h"

#include "sslkit/trainers/pretrain.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ssl::cli {
namespace {

std::string joined(const std::vector<std::string>& names, const std::string& separator) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : separator) + name;
  return text;
}

void add_run_options(po::options_description& description, const trainers::PretrainOptions& d) {
  description.add_options()
      ("out", po::value<std::string>()->default_value(d.loop().out_dir()), "run directory to write")
      ("data", po::value<std::string>()->default_value(d.data()),
       "fashion-mnist, a folder of MNIST-format IDX files, an .h5 file or an image folder")
      ("max-images", po::value<int64_t>()->default_value(0), "train on the first N images only (0: all)")
      ("method", po::value<std::string>()->default_value(d.method()),
       ("pretext method: " + joined(trainers::method_names(), " | ")).c_str())
      ("encoder", po::value<std::string>()->default_value(d.encoder()),
       ("encoder: " + joined(encoder_names(), " | ")).c_str())
      ("stem", po::value<std::string>()->default_value(d.stem()),
       "resnets: auto (imagenet from 96 px) | cifar (conv3x3) | imagenet (conv7x7/2 + max-pool)")
      ("patch-size", po::value<int64_t>()->default_value(d.patch_size()),
       "vits: patch side in pixels (0: 16 from 96 px, else 4)")
      ("epochs", po::value<int64_t>()->default_value(d.loop().epochs()), "epochs the schedule spans")
      ("max-minutes", real(d.loop().max_minutes()),
       "training time budget in minutes (0: none); the schedule ends with whichever budget is first")
      ("max-steps", po::value<int64_t>()->default_value(0), "stop after N steps (0: no limit)")
      ("batch-size", po::value<int64_t>()->default_value(d.batch_size()), "images per batch");
}

void add_optimization_options(po::options_description& description, const trainers::LoopOptions& d) {
  description.add_options()
      ("optimizer", po::value<std::string>()->default_value(d.optimizer().name()), "adam | adamw | sgd | lars")
      ("lr", real(d.optimizer().lr()), "peak learning rate")
      ("weight-decay", real(d.optimizer().weight_decay()),
       "weight decay (not applied to biases and BatchNorm)")
      ("momentum", real(d.optimizer().momentum()), "SGD / LARS momentum")
      ("nesterov", on_off(), "SGD / LARS with Nesterov momentum")
      ("clip-grad-norm", real(d.clip_grad_norm()),
       "clip the gradients' global L2 norm to this (0: off)")
      ("precision", po::value<std::string>()->default_value("auto"),
       "auto (bf16 where the device has fast bf16: a CPU with AVX512-BF16 or AMX, a CUDA GPU of compute "
       "capability 8.0+; fp32 elsewhere) | fp32 | bf16 (CUDA or CPU autocast) | fp16 (CUDA, dynamic loss scaling)")
      ("warmup", real(d.warmup_fraction()),
       "fraction of the run in linear warmup before the cosine decay")
      ("start-resolution", po::value<int64_t>()->default_value(d.progressive_resize().start_side()),
       "progressive resizing: side in pixels the crop views start at, growing to their full side over the ramp "
       "(0: off)")
      ("resolution-ramp-start", real(d.progressive_resize().ramp_start()),
       "progressive resizing: fraction of the run at which the crop views start to grow")
      ("resolution-ramp-end", real(d.progressive_resize().ramp_end()),
       "progressive resizing: fraction of the run from which the crop views have their full side");
}

void add_method_options(po::options_description& description, const trainers::MethodOptions& d) {
  description.add_options()
      ("temperature", po::value<double>(),
       "softmax temperature of simclr / moco / instdisc / swav / mocov3, dino's student temperature (default: the "
       "method's, 0.1 / 0.2 / 0.07 / 0.1 / 0.2 / 0.1)")
      ("crop-scale-min", po::value<double>(),
       "smallest area fraction of the random resized (global) crop of the two-view methods, swav and dino "
       "(default: the method's, 0.2; swav 0.14, dino 0.4)")
      ("view", po::value<std::string>()->default_value("auto"),
       "byol / simclr / swav / dino: multi-crop (2 global and --local-crops local crops) | two-views (the 2 "
       "global crops only); auto: multi-crop for swav and dino, each other method its own view")
      ("local-crops", po::value<int64_t>()->default_value(d.dino().crops().local_crops()),
       "byol / simclr / swav / dino: local crops per image with --view multi-crop")
      ("local-crop-size", po::value<int64_t>()->default_value(d.dino().crops().local_crop_size()),
       "byol / simclr / swav / dino: side of the local crops in pixels")
      ("moco-momentum", real(d.moco().momentum()), "moco: key encoder EMA momentum")
      ("queue-size", po::value<int64_t>()->default_value(d.moco().queue_size()), "moco: keys in the queue")
      ("moco-symmetric", on_off(), "moco: symmetric loss (each view a query against the other's key)")
      ("moco-bn-groups", po::value<int64_t>()->default_value(d.moco().bn_groups()),
       "moco: shuffle-BN groups (BatchNorm statistics per group; keys shuffled; 1: off)")
      ("instdisc-loss", po::value<std::string>()->default_value("nce"),
       "instdisc: nce (the paper's) | softmax (InfoNCE over the positive and the noise rows)")
      ("nce-negatives", po::value<int64_t>()->default_value(d.instdisc().negatives()),
       "instdisc: noise samples K of the NCE loss")
      ("bank-momentum", real(d.instdisc().bank_momentum()),
       "instdisc: memory bank momentum")
      ("nce-z-momentum", real(d.instdisc().normalizer_momentum()),
       "instdisc: NCE normalizer Z <- m Z + (1 - m) Z_batch (0: every step; 1: fixed by the first batch, as the paper)")
      ("cpc-steps", po::value<int64_t>()->default_value(d.cpc().steps()), "cpc: rows predicted ahead")
      ("ema-momentum", po::value<double>(),
       "byol / dino / mocov3: base EMA momentum of the target / teacher / momentum network, on a cosine schedule "
       "from it to 1 (default: the method's, 0.996 / 0.996 / 0.99)")
      ("freeze-patch-embed", on_off(), "mocov3: keep a vit encoder's patch embedding at its random initialization")
      ("mask-ratio", real(d.mae().mask_ratio()), "mae: fraction of each image's patches hidden from the encoder")
      ("prototypes", po::value<int64_t>()->default_value(d.swav().prototypes()), "swav: number of prototypes K")
      ("swav-queue", po::value<int64_t>()->default_value(d.swav().queue_size()),
       "swav: embeddings queued per global crop for Sinkhorn, a multiple of the batch (0: none)")
      ("teacher-temperature", real(d.dino().teacher_temperature()),
       "dino: teacher temperature, reached by a linear warm-up from 0.04 over the first 30% of the run")
      ("projection-hidden-dim", po::value<int64_t>()->default_value(d.simclr().projection_hidden_dim()),
       "simclr / moco: hidden width of the projection head")
      ("projection-dim", po::value<int64_t>(),
       "simclr / moco / byol / simsiam / barlow / vicreg / swav / mocov3: output width of the projection head "
       "(simsiam, barlow, vicreg: every layer's width, the embedding size D; default: the method's, "
       "128 / 128 / 128 / 256 / 512 / 512 / 128 / 128)")
      ("dino-out-dim", po::value<int64_t>()->default_value(d.dino().head().out_dim()),
       "dino: K, the outputs of the DINO head")
      ("off-diagonal-weight", real(d.barlow().off_diagonal_weight()),
       "barlow: lambda, the weight of the off-diagonal (redundancy) term");
}

void add_execution_options(po::options_description& description, const trainers::PretrainOptions& d) {
  description.add_options()
      ("workers", po::value<int64_t>()->default_value(d.workers()), "data loader threads")
      ("prefetch", po::value<int64_t>()->default_value(d.prefetch()), "batches prepared ahead")
      ("log-every", po::value<int64_t>()->default_value(d.loop().log_every()), "steps per metrics line")
      ("checkpoint-every", po::value<int64_t>()->default_value(d.loop().checkpoint_every()),
       "also checkpoint every N steps (0: at epoch ends and the end only)")
      ("keep-checkpoints", on_off(),
       "also keep every checkpoint written as checkpoint-step-S.pt (`sslkit bench accuracy` scores them)")
      ("resume", po::value<std::string>(), "continue the run in RUN_DIR with its options.ini (same final weights)")
      ("overwrite", po::bool_switch(),
       "start over in an --out that holds a run, removing its checkpoint, metrics, options and probe results")
      ("knn-monitor", on_off(), "kNN accuracy (k=200, cosine, t=0.1) at the end of every epoch")
      ("knn-subset", po::value<int64_t>()->default_value(d.knn_subset()),
       "images of each split the kNN monitor uses (0: all)")
      ("quiet,q", on_off(), "no progress line (--quiet=false: show it on a run whose options.ini says quiet)");
}

void add_distributed_options(po::options_description& description) {
  description.add_options()
      ("rank", po::value<int64_t>(), "data parallel: this process's rank (default: $RANK, else 0)")
      ("world-size", po::value<int64_t>(), "data parallel: number of processes (default: $WORLD_SIZE, else 1)")
      ("local-rank", po::value<int64_t>(), "data parallel: rank on this machine, the CUDA device index (default: $LOCAL_RANK)")
      ("master-addr", po::value<std::string>(), "data parallel: host of rank 0 (default: $MASTER_ADDR, else 127.0.0.1)")
      ("master-port", po::value<int64_t>(), "data parallel: rendezvous port on rank 0 (default: $MASTER_PORT, else 29500)")
      ("backend", po::value<std::string>()->default_value("auto"), "data parallel: auto (nccl on CUDA, gloo on CPU) | gloo | nccl")
      ("dist-timeout", real(300), "data parallel: seconds to wait for the other ranks before failing")
      ("sync-batch-norm", on_off(), "data parallel: BatchNorm statistics over the global batch (SyncBN)");
}

po::options_description pretrain_description() {
  const trainers::PretrainOptions defaults;
  po::options_description description("sslkit pretrain options");
  add_run_options(description, defaults);
  add_optimization_options(description, defaults.loop());
  add_method_options(description, defaults.methods());
  add_execution_options(description, defaults);
  add_distributed_options(description);
  add_source_options(description);
  add_common_options(description);
  return description;
}

// --resume RUN_DIR: the run's options.ini fills every option not given on the command line.
std::string resume_options(po::variables_map& v, const po::options_description& description) {
  if (!v.count("resume")) return v["out"].as<std::string>();
  if (v["overwrite"].as<bool>()) throw po::error("--resume continues a run; do not combine it with --overwrite");
  if (v.count("config")) throw po::error("--resume reads the run's own options.ini; do not combine it with --config");
  if (!v["out"].defaulted()) throw po::error("--resume continues the run in its own directory; do not combine it with --out");
  const std::string out_dir = v["resume"].as<std::string>();
  const std::string ini = out_dir + "/options.ini";
  std::ifstream in(ini);
  if (!in) throw std::runtime_error("cannot resume '" + out_dir + "': cannot read '" + ini + "'");
  const auto saved = po::parse_config_file(in, description);
  // The method first: its own flags, read back from options.ini, would otherwise be blamed for the mismatch.
  for (const auto& option : saved.options) {
    if (option.string_key != "method" || option.value.empty() || !v.count("method") || v["method"].defaulted()) continue;
    const std::string here = v["method"].as<std::string>();
    if (here != option.value[0]) {
      throw std::runtime_error("cannot resume '" + out_dir + "': method is " + here + " here but " + option.value[0] +
                               " in the interrupted run (options that change the run must match its options.ini)");
    }
  }
  po::store(saved, v);  // flags on the command line keep their values
  po::notify(v);
  return out_dir;
}

// A method's own flag set (to other than its default, on the command line or in a config file) with another
// method would silently do nothing. Resumed runs read every option back from options.ini, defaults included.
void check_method_flags(const po::variables_map& v, const po::options_description& description) {
  const std::string method = v["method"].as<std::string>();
  po::variables_map default_map;
  po::store(po::command_line_parser(std::vector<std::string>{}).options(description).run(), default_map);
  const auto default_text = to_strings(default_map);
  const auto value_text = to_strings(v);
  for (const auto& [flag, methods] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"temperature", {"simclr", "moco", "instdisc", "swav", "dino", "mocov3"}},
           {"crop-scale-min",
            {"simclr", "moco", "instdisc", "byol", "simsiam", "barlow", "vicreg", "swav", "dino", "mocov3", "mae"}},
           {"view", {"byol", "simclr", "swav", "dino"}},
           {"local-crops", {"byol", "simclr", "swav", "dino"}},
           {"local-crop-size", {"byol", "simclr", "swav", "dino"}},
           {"prototypes", {"swav"}},
           {"swav-queue", {"swav"}},
           {"teacher-temperature", {"dino"}},
           {"dino-out-dim", {"dino"}},
           {"projection-hidden-dim", {"simclr", "moco"}},
           {"projection-dim", {"simclr", "moco", "byol", "simsiam", "barlow", "vicreg", "swav", "mocov3"}},
           {"moco-momentum", {"moco"}},
           {"queue-size", {"moco"}},
           {"moco-symmetric", {"moco"}},
           {"moco-bn-groups", {"moco"}},
           {"instdisc-loss", {"instdisc"}},
           {"nce-negatives", {"instdisc"}},
           {"bank-momentum", {"instdisc"}},
           {"nce-z-momentum", {"instdisc"}},
           {"cpc-steps", {"cpc"}},
           {"ema-momentum", {"byol", "dino", "mocov3"}},
           {"freeze-patch-embed", {"mocov3"}},
           {"mask-ratio", {"mae"}},
           {"off-diagonal-weight", {"barlow"}}}) {
    const auto value = value_text.find(flag), fallback = default_text.find(flag);
    bool given = value != value_text.end() && (fallback == default_text.end() || fallback->second != value->second);
    // Flags that once had a default every options.ini recorded: --crop-scale-min 0.2 (before swav and dino) and
    // --ema-momentum 0.996 (before mocov3). A resumed run reading that value back did not give it.
    static const std::map<std::string, std::string> former_defaults{{"crop-scale-min", "0.2"},
                                                                    {"ema-momentum", "0.996"}};
    const auto former = former_defaults.find(flag);
    if (former != former_defaults.end() && v.count("resume") && value != value_text.end() &&
        value->second == former->second) {
      given = false;
    }
    if (given && std::find(methods.begin(), methods.end(), method) == methods.end()) {
      throw po::error("--" + flag + " applies to --method " + joined(methods, ", ") + " only, not " + method);
    }
  }
}

trainers::DistributedOptions distributed_options(const po::variables_map& v) {
  trainers::DistributedOptions distributed = trainers::distributed_options_from_env();
  if (v.count("rank")) distributed.rank(v["rank"].as<int64_t>());
  if (v.count("world-size")) distributed.world_size(v["world-size"].as<int64_t>());
  if (v.count("local-rank")) distributed.local_rank(v["local-rank"].as<int64_t>());
  if (v.count("master-addr")) distributed.master_addr(v["master-addr"].as<std::string>());
  if (v.count("master-port")) distributed.master_port(v["master-port"].as<int64_t>());
  return distributed.backend(trainers::parse_backend(v["backend"].as<std::string>()))
      .timeout_seconds(v["dist-timeout"].as<double>())
      .sync_batch_norm(v["sync-batch-norm"].as<bool>());
}

// The options the user gave, as options.ini records them (where a process sits in a job is not part of the run:
// each rank reads the same options.ini on --resume).
trainers::OptionStrings recorded_options(const po::variables_map& v, const std::string& out_dir) {
  auto recorded = to_strings(v);
  recorded.erase("resume");
  recorded.erase("overwrite");
  for (const char* key : {"rank", "world-size", "local-rank", "master-addr", "master-port", "backend", "dist-timeout"})
    recorded.erase(key);
  recorded["out"] = out_dir;
  return recorded;
}

trainers::LoopOptions loop_options(const po::variables_map& v, const std::string& out_dir) {
  return trainers::LoopOptions()
      .out_dir(out_dir)
      .epochs(v["epochs"].as<int64_t>())
      .max_minutes(v["max-minutes"].as<double>())
      .max_steps(v["max-steps"].as<int64_t>())
      .optimizer(trainers::OptimizerOptions()
                     .name(v["optimizer"].as<std::string>())
                     .lr(v["lr"].as<double>())
                     .weight_decay(v["weight-decay"].as<double>())
                     .momentum(v["momentum"].as<double>())
                     .nesterov(v["nesterov"].as<bool>()))
      .warmup_fraction(v["warmup"].as<double>())
      .progressive_resize(trainers::ProgressiveResizeOptions()
                              .start_side(v["start-resolution"].as<int64_t>())
                              .ramp_start(v["resolution-ramp-start"].as<double>())
                              .ramp_end(v["resolution-ramp-end"].as<double>()))
      .precision(trainers::parse_precision(v["precision"].as<std::string>()))
      .clip_grad_norm(v["clip-grad-norm"].as<double>())
      .log_every(v["log-every"].as<int64_t>())
      .checkpoint_every(v["checkpoint-every"].as<int64_t>())
      .keep_checkpoints(v["keep-checkpoints"].as<bool>())
      .progress(!v["quiet"].as<bool>());
}

// --projection-dim: the one width every method with a projection head reads (its output, or each layer's).
void set_projection_dim(trainers::MethodOptions& methods, int64_t projection_dim) {
  if (projection_dim < 1) throw po::error("--projection-dim must be >= 1, got " + std::to_string(projection_dim));
  methods.simclr().projection_dim(projection_dim);
  methods.moco().projection_dim(projection_dim);
  methods.byol().projection_dim(projection_dim);
  methods.simsiam().projection_dim(projection_dim);
  methods.barlow().projection_dim(projection_dim);
  methods.vicreg().projection_dim(projection_dim);
  methods.swav().projection_dim(projection_dim);
  methods.mocov3().projection_dim(projection_dim);
}

// --view, --local-crops, --local-crop-size: the crops of the methods that can train on local crops.
void set_views(trainers::MethodOptions& methods, const po::variables_map& v) {
  const std::string view = v["view"].as<std::string>();
  if (view != "auto" && view != "multi-crop" && view != "two-views") {
    throw po::error("unknown --view '" + view + "': expected auto, multi-crop or two-views");
  }
  const int64_t local_crops = view == "two-views" ? 0 : v["local-crops"].as<int64_t>();
  const int64_t local_crop_size = v["local-crop-size"].as<int64_t>();
  for (auto* crops : {&methods.swav().crops(), &methods.dino().crops()}) {
    crops->local_crops(local_crops).local_crop_size(local_crop_size);
  }
  methods.byol().local_crops(view == "multi-crop" ? local_crops : 0).local_crop_size(local_crop_size);
  methods.simclr().local_crops(view == "multi-crop" ? local_crops : 0).local_crop_size(local_crop_size);
}

trainers::MethodOptions method_options(const po::variables_map& v) {
  trainers::MethodOptions methods;
  methods.moco()
      .momentum(v["moco-momentum"].as<double>())
      .queue_size(v["queue-size"].as<int64_t>())
      .symmetric(v["moco-symmetric"].as<bool>())
      .bn_groups(v["moco-bn-groups"].as<int64_t>());
  methods.instdisc()
      .loss(trainers::parse_instdisc_loss(v["instdisc-loss"].as<std::string>()))
      .negatives(v["nce-negatives"].as<int64_t>())
      .bank_momentum(v["bank-momentum"].as<double>())
      .normalizer_momentum(v["nce-z-momentum"].as<double>());
  methods.cpc().steps(v["cpc-steps"].as<int64_t>());
  if (v.count("ema-momentum")) {
    const double momentum = v["ema-momentum"].as<double>();
    methods.byol().ema_momentum(momentum);
    methods.dino().ema_momentum(momentum);
    methods.mocov3().ema_momentum(momentum);
  }
  methods.mocov3().freeze_patch_embed(v["freeze-patch-embed"].as<bool>());
  methods.mae().mask_ratio(v["mask-ratio"].as<double>());
  methods.dino().teacher_temperature(v["teacher-temperature"].as<double>());
  methods.dino().head().out_dim(v["dino-out-dim"].as<int64_t>());
  const int64_t projection_hidden_dim = v["projection-hidden-dim"].as<int64_t>();
  methods.simclr().projection_hidden_dim(projection_hidden_dim);
  methods.moco().projection_hidden_dim(projection_hidden_dim);
  if (v.count("projection-dim")) set_projection_dim(methods, v["projection-dim"].as<int64_t>());
  methods.swav().prototypes(v["prototypes"].as<int64_t>()).queue_size(v["swav-queue"].as<int64_t>());
  set_views(methods, v);
  methods.barlow().off_diagonal_weight(v["off-diagonal-weight"].as<double>());
  if (v.count("temperature")) {
    const double temperature = v["temperature"].as<double>();
    methods.simclr().temperature(temperature);
    methods.moco().temperature(temperature);
    methods.instdisc().temperature(temperature);
    methods.swav().temperature(temperature);
    methods.dino().student_temperature(temperature);
    methods.mocov3().temperature(temperature);
  }
  if (v.count("crop-scale-min")) {
    const double crop_scale_min = v["crop-scale-min"].as<double>();
    for (auto* augment : {&methods.simclr().augment(), &methods.moco().augment(), &methods.instdisc().augment(),
                          &methods.byol().augment(), &methods.simsiam().augment(), &methods.barlow().augment(),
                          &methods.vicreg().augment(), &methods.mocov3().augment(), &methods.mae().augment(),
                          &methods.swav().crops().global(),
                          &methods.dino().crops().global()}) {
      augment->crop().scale_min(crop_scale_min);
    }
  }
  return methods;
}

trainers::PretrainOptions pretrain_options(const po::variables_map& v, const std::string& out_dir) {
  return trainers::PretrainOptions()
      .loop(loop_options(v, out_dir))
      .resume(v.count("resume") > 0)
      .overwrite(v["overwrite"].as<bool>())
      .data(v["data"].as<std::string>())
      .source(source_options(v))
      .max_images(v["max-images"].as<int64_t>())
      .method(v["method"].as<std::string>())
      .methods(method_options(v))
      .encoder(v["encoder"].as<std::string>())
      .stem(v["stem"].as<std::string>())
      .patch_size(v["patch-size"].as<int64_t>())
      .batch_size(v["batch-size"].as<int64_t>())
      .workers(v["workers"].as<int64_t>())
      .prefetch(v["prefetch"].as<int64_t>())
      .seed(v["seed"].as<uint64_t>())
      .device(parse_device(v["device"].as<std::string>()))
      .knn_monitor(v["knn-monitor"].as<bool>())
      .knn_subset(v["knn-subset"].as<int64_t>())
      .distributed(distributed_options(v))
      .recorded_options(recorded_options(v, out_dir));
}

int report(const trainers::PretrainOptions& options, const trainers::PretrainResult& result) {
  if (result.rank != 0) return result.signal != 0 ? 128 + result.signal : 0;  // rank 0 reports for the job
  if (result.signal != 0) {
    std::fprintf(stderr, "sslkit: %s at step %lld: checkpoint written to %s; `sslkit pretrain --resume %s` continues it\n",
                 result.signal == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)",
                 static_cast<long long>(result.steps), result.checkpoint.c_str(), options.loop().out_dir().c_str());
    return 128 + result.signal;
  }
  std::printf("pretrained %s/%s on %s: %.2f epochs, %lld steps in %.0f s, %.0f img/s, loss %.4f, %s",
              options.method().c_str(), options.encoder().c_str(), result.device.c_str(), result.epochs,
              static_cast<long long>(result.steps), result.seconds,
              result.images_per_second, result.final_loss, result.precision.c_str());
  if (result.knn_accuracy >= 0) std::printf(", kNN %.2f%%", 100 * result.knn_accuracy);
  if (result.resumed_from_step > 0) std::printf(", resumed at step %lld", static_cast<long long>(result.resumed_from_step));
  std::printf(", %lld checkpoints (%.1f ms each) -> %s\n", static_cast<long long>(result.checkpoints),
              1000 * result.checkpoint_seconds / std::max<double>(1, static_cast<double>(result.checkpoints)),
              result.checkpoint.c_str());
  return 0;
}

}  // namespace

int pretrain_main(int argc, char** argv) {
  const po::options_description description = pretrain_description();
  auto vm = parse(description, argc, argv,
                  "usage: sslkit pretrain [--out RUN_DIR] [options]\n"
                  "Self-supervised pretraining; writes RUN_DIR/checkpoint.pt, metrics.jsonl, metrics.csv and options.ini.\n"
                  "SIGINT/SIGTERM stop it after a checkpoint (exit 130/143); `sslkit pretrain --resume RUN_DIR` continues.\n\n"
                  "methods:\n" + trainers::describe_methods() + "encoders:\n" + describe_encoders());
  if (!vm) return 0;
  auto& v = *vm;
  const std::string out_dir = resume_options(v, description);
  apply_threads(v);
  check_method_flags(v, description);
  const trainers::PretrainOptions options = pretrain_options(v, out_dir);
  return report(options, trainers::pretrain(options));
}

}  // namespace ssl::cli
