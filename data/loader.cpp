#include "sslkit/data/loader.h"

#include <c10/util/Exception.h>

#include <numeric>
#include <random>

namespace ssl::data {

Loader::Loader(std::shared_ptr<const Source> source, std::shared_ptr<const ViewMaker> maker, LoaderOptions options)
    : source_(std::move(source)), maker_(std::move(maker)), options_(std::move(options)) {
  TORCH_CHECK(source_ && source_->size() > 0, "Loader: no source images");
  TORCH_CHECK_VALUE(options_.batch_size() > 0, "Loader: batch size must be > 0, got ", options_.batch_size());
  TORCH_CHECK_VALUE(options_.workers() >= 0, "Loader: workers must be >= 0, got ", options_.workers());
  TORCH_CHECK_VALUE(options_.prefetch() > 0, "Loader: prefetch must be > 0, got ", options_.prefetch());
  TORCH_CHECK(options_.num_shards() >= 1 && options_.shard() >= 0 && options_.shard() < options_.num_shards(),
              "Loader: shard ", options_.shard(), " of ", options_.num_shards(), " is not in 0..num_shards-1");
  TORCH_CHECK(options_.num_shards() == 1 || options_.drop_last(), "Loader: sharding needs drop_last");
  const int64_t global_batch = options_.batch_size() * options_.num_shards();
  TORCH_CHECK(!options_.drop_last() || source_->size() >= global_batch, "Loader: the source holds ",
              source_->size(), " images, fewer than one batch of ", global_batch, " (with drop_last)");
  pin_memory_ = options_.device().is_cuda();
}

Loader::~Loader() { stop_workers(); }

int64_t Loader::batches_per_epoch() const {
  const int64_t n = source_->size(), b = options_.batch_size() * options_.num_shards();
  return options_.drop_last() ? n / b : (n + b - 1) / b;
}

std::vector<int64_t> Loader::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order(static_cast<size_t>(source_->size()));
  std::iota(order.begin(), order.end(), 0);
  if (options_.shuffle()) {
    Rng rng(options_.seed(), static_cast<uint64_t>(epoch), 0, /*stream=*/0x5eed);
    for (size_t i = order.size() - 1; i > 0; --i) {
      std::swap(order[i], order[static_cast<size_t>(rng.integer(0, static_cast<int64_t>(i)))]);
    }
  }
  return order;
}

Batch Loader::make_batch(int64_t epoch, int64_t step) const {
  const std::vector<int64_t>& order = epoch == epoch_ && !order_.empty() ? order_ : epoch_order(epoch);
  const int64_t first = (step * options_.num_shards() + options_.shard()) * options_.batch_size();
  const int64_t count = std::min(options_.batch_size(), source_->size() - first);
  TORCH_CHECK(count > 0, "Loader: step ", step, " is past the end of the epoch");

  const int64_t c = source_->channels(), h = source_->height(), w = source_->width();
  const auto float_options = torch::TensorOptions().dtype(torch::kFloat).pinned_memory(pin_memory_);
  Batch batch;
  batch.step = step;
  std::vector<int64_t> view_numel;  // per view: views may differ in size (multi-crop)
  for (int64_t v = 0; v < maker_->num_views(); ++v) {
    const auto shape = maker_->shape_of_view(v, c, h, w);
    std::vector<int64_t> batch_shape{count};
    batch_shape.insert(batch_shape.end(), shape.begin(), shape.end());
    view_numel.push_back(std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>()));
    batch.views.push_back(torch::empty(batch_shape, float_options));
  }
  batch.indices = torch::empty({count}, torch::kInt64);
  const int64_t targets_per_image = maker_->targets_per_image();
  if (targets_per_image == 1) batch.targets = torch::empty({count}, torch::kInt64);
  if (targets_per_image > 1) batch.targets = torch::empty({count, targets_per_image}, torch::kInt64);
  if (source_->labelled()) batch.labels = torch::empty({count}, torch::kInt64);

  // The batch's images in one bulk read (runs of consecutive indices are one read for streaming sources).
  const int64_t image_numel = h * w * c;
  std::vector<uint8_t> pixels(static_cast<size_t>(count * image_numel));
  source_->read(order.data() + first, count, pixels.data(),
                batch.labels.defined() ? batch.labels.data_ptr<int64_t>() : nullptr);
  std::vector<float*> outs(batch.views.size());
  for (int64_t k = 0; k < count; ++k) {
    const int64_t index = order[static_cast<size_t>(first + k)];
    for (size_t v = 0; v < outs.size(); ++v) outs[v] = batch.views[v].data_ptr<float>() + k * view_numel[v];
    Rng rng(options_.seed(), static_cast<uint64_t>(epoch), static_cast<uint64_t>(index));
    int64_t* target = batch.targets.defined() ? batch.targets.data_ptr<int64_t>() + k * targets_per_image : nullptr;
    maker_->make({pixels.data() + k * image_numel, h, w, c}, rng, outs.data(), target);
    batch.indices.data_ptr<int64_t>()[k] = index;
  }
  return batch;
}

void Loader::start_epoch(int64_t epoch, int64_t first_step) {
  stop_workers();
  epoch_ = epoch;
  order_ = epoch_order(epoch);
  ready_.clear();
  error_ = nullptr;
  stopping_ = false;
  next_to_make_ = first_step;
  next_to_deliver_ = first_step;
  for (int64_t i = 0; i < options_.workers(); ++i) workers_.emplace_back([this] { worker_loop(); });
}

void Loader::worker_loop() {
  const int64_t total = batches_per_epoch();
  while (true) {
    int64_t step;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      space_cv_.wait(lock, [&] { return stopping_ || next_to_make_ < next_to_deliver_ + options_.prefetch(); });
      if (stopping_ || next_to_make_ >= total) return;
      step = next_to_make_++;
    }
    try {
      Batch batch = make_batch(epoch_, step);
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.emplace(step, std::move(batch));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
      stopping_ = true;
    }
    ready_cv_.notify_all();
    space_cv_.notify_all();
  }
}

std::optional<Batch> Loader::next() {
  if (next_to_deliver_ >= batches_per_epoch()) return std::nullopt;
  Batch batch;
  if (workers_.empty()) {
    batch = make_batch(epoch_, next_to_deliver_++);
  } else {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_cv_.wait(lock, [&] { return error_ || ready_.count(next_to_deliver_) > 0; });
    if (error_) std::rethrow_exception(error_);
    auto node = ready_.extract(next_to_deliver_++);
    batch = std::move(node.mapped());
    lock.unlock();
    space_cv_.notify_all();
  }
  return to_device(std::move(batch));
}

Batch Loader::to_device(Batch batch) const {
  if (options_.device().is_cpu()) return batch;
  for (auto& view : batch.views) view = view.to(options_.device(), /*non_blocking=*/pin_memory_);
  if (batch.targets.defined()) batch.targets = batch.targets.to(options_.device());
  return batch;
}

void Loader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  space_cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

}  // namespace ssl::data
