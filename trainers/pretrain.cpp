#include "sslkit/trainers/pretrain.h"

#include "sslkit/ssl/device.h"
#include "sslkit/data/view_grid.h"
#include "sslkit/ssl/files.h"
#include "sslkit/ssl/png.h"
#include "sslkit/trainers/eval/knn.h"
#include "sslkit/trainers/eval/probe.h"
#include "sslkit/trainers/sync_batch_norm.h"

#include <torch/utils.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>

namespace ssl::trainers {
namespace {

void validate(const PretrainOptions& o) {
  validate(o.loop());
  TORCH_CHECK_VALUE(o.batch_size() >= 2, "batch size must be >= 2 (contrastive losses need negatives), got ",
              o.batch_size());
  TORCH_CHECK_VALUE(o.knn_subset() >= 0, "knn-subset must be >= 0 (0: all), got ", o.knn_subset());
  TORCH_CHECK_VALUE(o.max_images() >= 0, "max-images must be >= 0 (0: all), got ", o.max_images());
  TORCH_CHECK_VALUE(o.workers() >= 0, "workers must be >= 0 (0: load in the training thread), got ", o.workers());
  TORCH_CHECK_VALUE(o.prefetch() >= 1, "prefetch must be >= 1, got ", o.prefetch());
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
  const LoopOptions& loop = o.loop();
  return {{"data", o.data()},
          {"max_images", std::to_string(o.max_images())},
          {"method", o.method()},
          {"encoder", o.encoder()},
          {"stem", o.stem()},
          {"patch_size", std::to_string(o.patch_size())},
          {"epochs", std::to_string(loop.epochs())},
          {"max_minutes", text(loop.max_minutes())},
          {"batch_size", std::to_string(o.batch_size())},
          {"optimizer", loop.optimizer().name()},
          {"lr", text(loop.optimizer().lr())},
          {"weight_decay", text(loop.optimizer().weight_decay())},
          {"momentum", text(loop.optimizer().momentum())},
          {"nesterov", loop.optimizer().nesterov() ? "true" : "false"},
          {"warmup", text(loop.warmup_fraction())},
          {"start_resolution", std::to_string(loop.progressive_resize().start_side())},
          {"resolution_ramp_start", text(loop.progressive_resize().ramp_start())},
          {"resolution_ramp_end", text(loop.progressive_resize().ramp_end())},
          {"seed", std::to_string(o.seed())},
          {"precision", to_string(loop.precision())},
          {"clip_grad_norm", text(loop.clip_grad_norm())}};
}

// Recorded (CLI) options that may differ between a run and its resumption.
bool may_change_on_resume(const std::string& key) {
  static const std::set<std::string> keys{"out", "resume", "overwrite", "device", "threads", "workers", "prefetch",
                                          "log-every", "quiet", "max-steps", "checkpoint-every", "keep-checkpoints",
                                          "knn-monitor",
                                          "knn-subset"};
  return keys.count(key) > 0;
}

void check_same_run(const Checkpoint& checkpoint, const PretrainOptions& o) {
  auto check = [&](const std::string& key, const std::string& here, const std::map<std::string, std::string>& run) {
    const auto saved = run.find(key);
    if (saved == run.end() || saved->second == here) return;
    TORCH_CHECK(false, "cannot resume '", o.loop().out_dir(), "': ", key, " is ", here, " here but ", saved->second,
                " in the interrupted run (options that change the run must match its options.ini)");
  };
  TORCH_CHECK(checkpoint.modules.count("trainer") == 1, "cannot resume '", o.loop().out_dir(),
              "': its checkpoint holds no trainer state");
  // What the run is (method, encoder, data, schedule) before the options that follow from it.
  for (const auto& [key, value] : run_signature(o)) check(key, value, checkpoint.metadata.run);
  for (const auto& [key, value] : o.recorded_options())
    if (!may_change_on_resume(key)) check(key, value, checkpoint.metadata.options);
}

// The files of a run directory that mark it as holding a run, and those a new run in it replaces.
bool holds_run(const std::filesystem::path& dir) {
  for (const char* name : {"checkpoint.pt", "options.ini", "metrics.jsonl"})
    if (std::filesystem::exists(dir / name)) return true;
  return false;
}

void remove_run_files(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const auto extension = entry.path().extension();
    const bool run_file = name == "checkpoint.pt" || (name.rfind("checkpoint-step-", 0) == 0 && extension == ".pt") ||
                          name == "options.ini" || name.rfind("metrics.", 0) == 0 || name == "views.png" ||
                          (name.rfind("probe", 0) == 0 && extension == ".json") ||
                          (name.rfind("map-", 0) == 0 && extension == ".png");
    if (run_file) std::filesystem::remove(entry.path(), ec);
  }
}

/// The run directory while a run writes it: created if needed, locked against a second writer, cleared of
/// temporaries left by killed writers, refused when it holds another run (unless resuming or overwriting).
/// A new run that fails before its first checkpoint removes what it wrote there, and the directory if it made it.
class RunDirectory {
 public:
  explicit RunDirectory(const PretrainOptions& options)
      : dir_(options.loop().out_dir()), keep_(options.resume()) {
    created_ = !std::filesystem::exists(dir_);
    ensure_directory(dir_.string());
    lock_.emplace(dir_.string());
    remove_stale_temporaries(dir_.string());
    if (options.resume() || !holds_run(dir_)) return;
    TORCH_CHECK(options.overwrite(), "'", dir_.string(), "' already holds a run (",
                std::filesystem::exists(dir_ / "checkpoint.pt") ? "checkpoint.pt" : "options.ini or metrics.jsonl",
                "): resume it, or start over by overwriting it");
    remove_run_files(dir_);
  }
  ~RunDirectory() {
    if (!keep_ && !std::filesystem::exists(dir_ / "checkpoint.pt")) remove_run_files(dir_);
    lock_.reset();
    std::error_code ec;
    if (created_ && std::filesystem::is_empty(dir_, ec)) std::filesystem::remove(dir_, ec);
  }
  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;
  /// The run ended with its final checkpoint: keep everything.
  void finish() { keep_ = true; }

 private:
  std::filesystem::path dir_;
  bool created_ = false, keep_ = false;
  std::optional<DirectoryLock> lock_;
};

// The checkpoint of the run in `options.loop().out_dir()`, checked against the options.
Checkpoint resume_checkpoint(const PretrainOptions& options) {
  const auto path = std::filesystem::path(options.loop().out_dir()) / "checkpoint.pt";
  TORCH_CHECK(std::filesystem::exists(path), "cannot resume '", options.loop().out_dir(),
              "': it holds no checkpoint.pt");
  Checkpoint checkpoint = load_checkpoint(path.string());
  check_same_run(checkpoint, options);
  return checkpoint;
}

// The kNN monitor over the first `knn_subset` labelled images of each split: the encoder's features in eval
// mode (restored after), kNN accuracy of the test part against the train part.
EpochMonitor make_knn_monitor(const PretrainOptions& options, const std::shared_ptr<const data::Source>& full_train,
                              const data::Normalization& norm, torch::Device device) {
  TORCH_CHECK(full_train->labelled(), "the kNN monitor needs labels, but data '", options.data(), "' has none");
  const auto test = data::open_source(options.data(), data::Split::Test, options.source());
  auto train_set = std::make_shared<data::ImageSet>(data::materialize(*data::head(full_train, options.knn_subset())));
  auto test_set = std::make_shared<data::ImageSet>(data::materialize(*data::head(test, options.knn_subset())));
  return [train_set, test_set, norm, device](EncoderImpl& encoder) {
    const auto train = eval::extract_features(encoder, train_set->images, norm, device);
    const auto test = eval::extract_features(encoder, test_set->images, norm, device);
    return eval::knn_accuracy(train, train_set->labels, test, test_set->labels, eval::KnnOptions());
  };
}

// options.ini: the options the user gave, which a resumed run (or a new run configured from it) reads back.
void write_options_ini(const PretrainOptions& options) {
  std::string ini = "# the options of this sslkit pretrain run; pretrain reads them back to resume it or to start "
                    "another like it\n";
  for (const auto& [key, value] : options.recorded_options()) ini += key + " = " + value + "\n";
  write_file_atomic((std::filesystem::path(options.loop().out_dir()) / "options.ini").string(), ini);
}

// views.png: the first images of the run and what its method's views make of them at epoch 0 (`sslkit report` shows
// it).
void write_views_png(const PretrainOptions& options, const Method& method,
                     const std::shared_ptr<const data::Source>& train_set, const data::Normalization& norm) {
  const auto shown = std::make_shared<data::MemorySource>(data::materialize(*data::head(train_set, 8)));
  data::Loader loader(shown, method.view_maker(norm),
                      data::LoaderOptions(shown->size()).workers(0).shuffle(false).drop_last(false).seed(options.seed()));
  const auto canvas = data::render_view_grid(shown->set().images, loader.make_batch(0, 0), norm, data::ViewGridOptions());
  write_png((std::filesystem::path(options.loop().out_dir()) / "views.png").string(), canvas.data_ptr<uint8_t>(),
            canvas.size(0), canvas.size(1), 3);
}

// What every checkpoint of the run records about its encoder, data and options.
CheckpointMetadata run_metadata(const PretrainOptions& options, const EncoderImpl& encoder,
                                const data::Source& train_set, const data::Normalization& norm) {
  auto metadata = make_checkpoint(options.encoder(), encoder, train_set.channels(), train_set.height()).metadata;
  metadata.seed = options.seed();
  metadata.normalization = data::to_string(norm);
  metadata.data = options.data();
  metadata.run = run_signature(options);
  metadata.options = options.recorded_options();
  return metadata;
}

void announce_data(const PretrainOptions& options, const Method& method, const data::Source& train_set) {
  std::fprintf(stderr, "sslkit pretrain: %s / %s on %s (%lld images %lldx%lldx%lld)\n", method.name().c_str(),
               options.encoder().c_str(), options.data().c_str(), static_cast<long long>(train_set.size()),
               static_cast<long long>(train_set.height()), static_cast<long long>(train_set.width()),
               static_cast<long long>(train_set.channels()));
  const auto skipped = train_set.skipped();
  if (!skipped.empty()) {
    std::fprintf(stderr, "sslkit pretrain: skipped %zu unreadable image files (first: %s)\n", skipped.size(),
                 skipped[0].c_str());
  }
}

}  // namespace

std::unique_ptr<Method> make_method(const PretrainOptions& options, Encoder encoder, int64_t num_images,
                                    const std::function<Encoder()>& another_encoder) {
  return make_method(options.method(),
                     MethodContext{options.methods(), std::move(encoder), num_images, another_encoder});
}

std::unique_ptr<Method> make_method(const PretrainOptions& options, const data::Source& train_set) {
  const auto encoder_options = EncoderOptions(train_set.channels())
                                   .image_size(train_set.height())
                                   .stem(options.stem())
                                   .patch_size(options.patch_size());
  return make_method(options, make_encoder(options.encoder(), encoder_options), train_set.size(),
                     [&] { return make_encoder(options.encoder(), encoder_options); });
}

PretrainResult pretrain(const PretrainOptions& options) {
  validate(options);
  const DistributedOptions& dist = options.distributed();
  validate(dist);
  const bool writer = dist.rank() == 0;
  const torch::Device device = rank_device(resolve_device(options.device()), options.device().index >= 0, dist);
  check_precision(options.loop().precision(), device);
  torch::manual_seed(options.seed());

  const auto full_train = data::open_source(options.data(), data::Split::Train, options.source());
  const std::shared_ptr<const data::Source> train_set = data::head(full_train, options.max_images());
  const data::Normalization norm = data::compute_normalization(*train_set);
  EpochMonitor monitor;
  if (options.knn_monitor()) monitor = make_knn_monitor(options, full_train, norm, device);

  // Everything that can refuse the options runs before the run directory is touched.
  std::unique_ptr<Method> method = make_method(options, *train_set);
  method->to(device);
  data::Loader loader(train_set, method->view_maker(norm),
                      data::LoaderOptions(options.batch_size())
                          .workers(options.workers())
                          .prefetch(options.prefetch())
                          .seed(options.seed())
                          .device(device)
                          .num_shards(dist.world_size())
                          .shard(dist.rank()));
  check_progressive_resize(options.loop().progressive_resize(), loader.view_maker(), *train_set, *method->encoder());
  std::optional<RunDirectory> run_directory;
  if (writer) run_directory.emplace(options);
  std::optional<Checkpoint> resume_from;
  if (options.resume()) resume_from = resume_checkpoint(options);
  std::shared_ptr<ProcessGroup> group;
  if (dist.world_size() > 1) {
    group = ProcessGroup::connect(dist, device);
    if (dist.sync_batch_norm()) convert_sync_batch_norm(method->modules(), group);
  }

  if (writer && !options.recorded_options().empty() && !options.resume()) write_options_ini(options);
  if (writer && !options.resume()) write_views_png(options, *method, train_set, norm);
  const auto metadata = run_metadata(options, *method->encoder(), *train_set, norm);
  if (options.loop().progress() && writer) announce_data(options, *method, *train_set);
  const auto result =
      train_loop(*method, loader, options.loop(), metadata, monitor, resume_from ? &*resume_from : nullptr, group);
  if (run_directory) run_directory->finish();
  return result;
}

}  // namespace ssl::trainers
