#include "sslkit/trainers/eval/embed.h"

#include "sslkit/trainers/eval/probe.h"

#include <algorithm>
#include <chrono>
#include <numeric>

namespace ssl::eval {

torch::Tensor FeatureModel::operator()(const torch::Tensor& images, torch::Device device, int64_t batch_size) const {
  if (!encoder) return raw_pixel_features(images, norm);
  return extract_features(*encoder, images, norm, device, batch_size);
}

FeatureModel make_feature_model(const std::string& kind, const std::optional<Checkpoint>& checkpoint,
                                const std::string& checkpoint_path, const std::string& encoder_name,
                                const data::Source& train, uint64_t seed) {
  TORCH_CHECK(kind == "encoder" || kind == "raw" || kind == "random-init", "invalid --features '", kind,
              "': expected encoder, raw or random-init");
  TORCH_CHECK(kind != "encoder" || checkpoint, "--checkpoint is required with --features encoder");
  FeatureModel model;
  model.kind = kind;
  model.norm = checkpoint && checkpoint->metadata.count("normalization")
                   ? data::parse_normalization(checkpoint->meta("normalization"))
                   : data::compute_normalization(train);
  model.described = "raw pixels";
  if (kind == "encoder") {
    TORCH_CHECK(checkpoint->meta_int("in_channels") == train.channels(), "checkpoint '", checkpoint_path,
                "' encodes ", checkpoint->meta_int("in_channels"), "-channel images but data '", train.origin(),
                "' has ", train.channels(), " channels");
    model.encoder = rebuild_encoder(*checkpoint, "checkpoint '" + checkpoint_path + "'");
    model.described = checkpoint->metadata.count("method")
                          ? checkpoint->meta("method") + "/" + checkpoint->meta("encoder")
                          : checkpoint->meta("encoder");
  } else if (kind == "random-init") {
    const std::string name = checkpoint ? checkpoint->meta("encoder") : encoder_name;
    model.encoder = random_init_encoder(name, train.channels(), train.height(), seed);
    model.described = "random-init/" + name;
  }
  return model;
}

EmbedResult embed_to_file(const FeatureModel& model, const std::vector<std::shared_ptr<const data::Source>>& parts,
                          const std::string& out, data::FeatureAttributes attributes, const EmbedOptions& options,
                          const std::function<void(int64_t, int64_t)>& progress) {
  TORCH_CHECK(!parts.empty(), "embed: no images to encode");
  TORCH_CHECK(options.batch_size() > 0, "embed: batch size must be > 0, got ", options.batch_size());
  const auto start = std::chrono::steady_clock::now();
  const auto& first = *parts.front();
  EmbedResult result;
  result.labelled = true;
  int64_t total = 0;
  for (const auto& part : parts) {
    TORCH_CHECK(part->height() == first.height() && part->width() == first.width() &&
                    part->channels() == first.channels(),
                "embed: images of '", part->origin(), "' are ", part->height(), "x", part->width(), "x",
                part->channels(), " but those of '", first.origin(), "' are ", first.height(), "x", first.width(),
                "x", first.channels());
    result.labelled = result.labelled && part->labelled();
    total += part->size();
  }
  std::optional<data::FeatureWriter> writer;
  const int64_t batch = options.batch_size();
  auto images = torch::empty({std::min(batch, first.size()), first.height(), first.width(), first.channels()},
                             torch::kUInt8);
  auto labels = torch::empty({images.size(0)}, torch::kInt64);
  std::vector<int64_t> indices;
  int64_t done = 0;
  for (const auto& part : parts) {
    if (images.size(0) < std::min(batch, part->size())) {
      images = torch::empty({std::min(batch, part->size()), first.height(), first.width(), first.channels()},
                            torch::kUInt8);
      labels = torch::empty({images.size(0)}, torch::kInt64);
    }
    for (int64_t begin = 0; begin < part->size(); begin += batch) {
      const int64_t count = std::min(batch, part->size() - begin);
      indices.resize(static_cast<size_t>(count));
      std::iota(indices.begin(), indices.end(), begin);
      part->read(indices.data(), count, images.data_ptr<uint8_t>(),
                 result.labelled ? labels.data_ptr<int64_t>() : nullptr);
      const auto features = model(images.narrow(0, 0, count), options.device(), batch);
      if (!writer) {
        result.feature_dim = features.size(1);
        attributes.integers["feature_dim"] = result.feature_dim;
        writer.emplace(out, result.feature_dim, result.labelled, attributes);
      }
      writer->append(features, result.labelled ? labels.narrow(0, 0, count) : torch::Tensor());
      done += count;
      if (progress) progress(done, total);
    }
  }
  writer->finish();
  result.rows = done;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace ssl::eval
