#include "sslkit/trainers/pretrain.h"

#include "sslkit/ssl/device.h"
#include "sslkit/ssl/files.h"
#include "sslkit/trainers/loop.h"
#include "sslkit/trainers/sync_batch_norm.h"
#include "sslkit/trainers/precision.h"

#include <torch/utils.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>

namespace ssl::trainers {
namespace {

void validate(const PretrainOptions& o) {
  TORCH_CHECK(o.epochs() > 0, "epochs must be > 0, got ", o.epochs());
  TORCH_CHECK(o.max_minutes() >= 0, "max-minutes must be >= 0, got ", o.max_minutes());
  TORCH_CHECK(o.batch_size() >= 2, "batch size must be >= 2 (contrastive losses need negatives), got ",
              o.batch_size());
  TORCH_CHECK(o.warmup_fraction() >= 0 && o.warmup_fraction() < 1, "warmup fraction must be in [0, 1), got ",
              o.warmup_fraction());
  TORCH_CHECK(o.log_every() > 0, "log-every must be > 0, got ", o.log_every());
  TORCH_CHECK(!o.out_dir().empty(), "an output directory (--out) is required");
  TORCH_CHECK(o.clip_grad_norm() >= 0, "clip-grad-norm must be >= 0 (0: off), got ", o.clip_grad_norm());
  TORCH_CHECK(o.checkpoint_every() >= 0, "checkpoint-every must be >= 0 (0: epoch ends only), got ",
              o.checkpoint_every());
  TORCH_CHECK(o.knn_subset() >= 0, "knn-subset must be >= 0 (0: all), got ", o.knn_subset());
}

std::string text(double value) {
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

// The options that change what a run computes (a resumed run must match them). Budgets that only say when
// to stop (max_steps), and how the run executes (device, workers, logging, checkpoints), may change.
std::map<std::string, std::string> run_signature(const PretrainOptions& o) {
  return {{"data", o.data()},
          {"max_images", std::to_string(o.max_images())},
          {"method", o.method()},
          {"encoder", o.encoder()},
          {"epochs", std::to_string(o.epochs())},
          {"max_minutes", text(o.max_minutes())},
          {"batch_size", std::to_string(o.batch_size())},
          {"optimizer", o.optimizer().name()},
          {"lr", text(o.optimizer().lr())},
          {"weight_decay", text(o.optimizer().weight_decay())},
          {"momentum", text(o.optimizer().momentum())},
          {"nesterov", o.optimizer().nesterov() ? "true" : "false"},
          {"warmup", text(o.warmup_fraction())},
          {"seed", std::to_string(o.seed())},
          {"precision", o.precision()},
          {"clip_grad_norm", text(o.clip_grad_norm())}};
}

// Recorded (CLI) options that may differ between a run and its resumption.
bool may_change_on_resume(const std::string& key) {
  static const std::set<std::string> keys{"out", "resume", "device", "threads", "workers", "prefetch",
                                          "log-every", "quiet", "max-steps", "checkpoint-every", "knn-monitor",
                                          "knn-subset"};
  return keys.count(key) > 0;
}

void check_same_run(const Checkpoint& checkpoint, const PretrainOptions& o) {
  auto check = [&](const std::string& key, const std::string& here, const std::string& saved_key) {
    const auto saved = checkpoint.metadata.find(saved_key);
    if (saved == checkpoint.metadata.end() || saved->second == here) return;
    TORCH_CHECK(false, "cannot resume '", o.out_dir(), "': ", key, " is ", here, " here but ", saved->second,
                " in the interrupted run (options that change the run must match its options.ini)");
  };
  TORCH_CHECK(checkpoint.modules.count("trainer") == 1, "cannot resume '", o.out_dir(),
              "': its checkpoint holds no trainer state");
  for (const auto& [key, value] : o.recorded_options())
    if (!may_change_on_resume(key)) check(key, value, "option." + key);
  for (const auto& [key, value] : run_signature(o)) check(key, value, "run." + key);
}

}  // namespace

std::vector<std::string> method_names() { return {"simclr", "moco", "instdisc", "rotnet", "jigsaw", "relpos", "cpc"}; }

std::unique_ptr<Method> make_method(const PretrainOptions& options, Encoder encoder, int64_t num_images,
                                    const std::function<Encoder()>& another_encoder) {
  const std::string& name = options.method();
  if (name == "simclr") return std::make_unique<SimCLR>(std::move(encoder), options.simclr());
  if (name == "moco") {
    TORCH_CHECK(another_encoder, "moco needs a way to build its key encoder");
    return std::make_unique<MoCo>(std::move(encoder), another_encoder(), options.moco());
  }
  if (name == "instdisc") return std::make_unique<InstDisc>(std::move(encoder), num_images, options.instdisc());
  if (name == "rotnet") return std::make_unique<RotNet>(std::move(encoder), options.rotnet());
  if (name == "jigsaw") return std::make_unique<JigsawMethod>(std::move(encoder), options.jigsaw());
  if (name == "relpos") return std::make_unique<RelPos>(std::move(encoder), options.relpos());
  if (name == "cpc") return std::make_unique<CPCMethod>(std::move(encoder), options.cpc());
  std::ostringstream valid;
  for (const auto& known : method_names()) valid << (valid.tellp() > 0 ? ", " : "") << known;
  TORCH_CHECK(false, "unknown method '", name, "': expected one of ", valid.str());
}

std::unique_ptr<Method> make_method(const PretrainOptions& options, const data::Source& train_set) {
  const auto encoder_options = EncoderOptions(train_set.channels()).image_size(train_set.height());
  return make_method(options, make_encoder(options.encoder(), encoder_options), train_set.size(),
                     [&] { return make_encoder(options.encoder(), encoder_options); });
}

PretrainResult pretrain(const PretrainOptions& options) {
  validate(options);
  const DistributedOptions& dist = options.distributed();
  validate(dist);
  const bool writer = dist.rank() == 0;
  const torch::Device device =
      rank_device(resolve_device(options.device()), options.device().find(':') != std::string::npos, dist);
  check_precision(parse_precision(options.precision()), device);
  std::optional<Checkpoint> resume_from;
  if (options.resume()) {
    const auto path = std::filesystem::path(options.out_dir()) / "checkpoint.pt";
    TORCH_CHECK(std::filesystem::exists(path), "cannot resume '", options.out_dir(), "': it holds no checkpoint.pt");
    resume_from = load_checkpoint(path.string());
    check_same_run(*resume_from, options);
  }
  torch::manual_seed(options.seed());

  const auto full_train = data::open_source(options.data(), data::Split::Train, options.source());
  const std::shared_ptr<const data::Source> train_set = data::head(full_train, options.max_images());
  const data::Normalization norm = data::compute_normalization(*train_set);
  std::optional<KnnMonitorData> monitor;
  if (options.knn_monitor()) {
    TORCH_CHECK(full_train->labelled(), "the kNN monitor needs labels, but data '", options.data(), "' has none");
    const auto test = data::open_source(options.data(), data::Split::Test, options.source());
    monitor = KnnMonitorData{data::materialize(*data::head(full_train, options.knn_subset())),
                             data::materialize(*data::head(test, options.knn_subset())), norm, eval::KnnOptions()};
  }

  std::unique_ptr<Method> method = make_method(options, *train_set);
  const Encoder encoder = method->encoder();
  method->to(device);
  std::shared_ptr<ProcessGroup> group;
  if (dist.world_size() > 1) {
    group = ProcessGroup::connect(dist, device);
    if (dist.sync_batch_norm()) convert_sync_batch_norm(method->modules(), group);
  }

  data::Loader loader(train_set, method->view_maker(norm),
                      data::LoaderOptions(options.batch_size())
                          .workers(options.workers())
                          .prefetch(options.prefetch())
                          .seed(options.seed())
                          .device(device)
                          .num_shards(dist.world_size())
                          .shard(dist.rank()));

  if (writer) ensure_directory(options.out_dir());
  if (writer && !options.recorded_options().empty() && !options.resume()) {
    std::string ini = "# sslkit pretrain options of this run; reuse with --config, continue with --resume\n";
    for (const auto& [key, value] : options.recorded_options()) ini += key + " = " + value + "\n";
    write_file_atomic((std::filesystem::path(options.out_dir()) / "options.ini").string(), ini);
  }
  auto metadata = make_checkpoint(options.encoder(), *encoder, train_set->channels(), train_set->height()).metadata;
  metadata["seed"] = std::to_string(options.seed());
  metadata["normalization"] = data::to_string(norm);
  metadata["data"] = options.data();
  for (const auto& [key, value] : run_signature(options)) metadata["run." + key] = value;
  for (const auto& [key, value] : options.recorded_options()) metadata["option." + key] = value;

  if (options.progress() && writer) {
    std::fprintf(stderr, "sslkit pretrain: %s / %s on %s (%lld images %lldx%lldx%lld)\n", method->name().c_str(),
                 options.encoder().c_str(), options.data().c_str(), static_cast<long long>(train_set->size()),
                 static_cast<long long>(train_set->height()), static_cast<long long>(train_set->width()),
                 static_cast<long long>(train_set->channels()));
    const auto skipped = train_set->skipped();
    if (!skipped.empty()) {
      std::fprintf(stderr, "sslkit pretrain: skipped %zu unreadable image files (first: %s)\n", skipped.size(),
                   skipped[0].c_str());
    }
  }
  return train_loop(*method, loader, options, metadata, monitor ? &*monitor : nullptr,
                    resume_from ? &*resume_from : nullptr, group);
}

}  // namespace ssl::trainers
