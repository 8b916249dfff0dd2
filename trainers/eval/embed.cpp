#include "sslkit/trainers/eval/embed.h"

#include "sslkit/trainers/eval/probe.h"
#include "sslkit/version.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <numeric>

namespace ssl::eval {

torch::Tensor FeatureModel::operator()(const torch::Tensor& images, torch::Device device, int64_t batch_size) const {
  if (!encoder) return raw_pixel_features(images, norm);
  return extract_features(*encoder, images, norm, device, batch_size);
}

std::string to_string(Features features) {
  switch (features) {
    case Features::Raw: return "raw";
    case Features::RandomInit: return "random-init";
    case Features::Stored: return "stored";
    default: return "encoder";
  }
}

FeatureModel make_feature_model(Features kind, const std::optional<Checkpoint>& checkpoint,
                                const std::string& checkpoint_path, const std::string& weights,
                                const std::string& encoder_name, const data::Source& train, uint64_t seed) {
  TORCH_CHECK(kind != Features::Stored, "stored features have no feature model: read them with read_feature_file");
  TORCH_CHECK(kind != Features::Encoder || checkpoint, "the encoder's features need a checkpoint");
  FeatureModel model;
  model.kind = kind;
  model.norm = checkpoint && !checkpoint->metadata.normalization.empty()
                   ? data::parse_normalization(checkpoint->metadata.normalization)
                   : data::compute_normalization(train);
  model.described = "raw pixels";
  if (kind == Features::Encoder) {
    const CheckpointMetadata& meta = checkpoint->metadata;
    TORCH_CHECK(meta.in_channels == train.channels(), "checkpoint '", checkpoint_path, "' encodes ",
                meta.in_channels, "-channel images but data '", train.origin(), "' has ", train.channels(),
                " channels");
    model.encoder = rebuild_encoder(*checkpoint, "checkpoint '" + checkpoint_path + "'", weights);
    model.described = meta.method.empty() ? meta.encoder : meta.method + "/" + meta.encoder;
    if (weights != kTrainedEncoder) model.described += " (" + weights + ")";
  } else if (kind == Features::RandomInit) {
    const std::string name = checkpoint ? checkpoint->metadata.encoder : encoder_name;
    auto options = checkpoint ? recorded_encoder_options(checkpoint->metadata) : EncoderOptions(train.channels());
    model.encoder = random_init_encoder(name, options.in_channels(train.channels()).image_size(train.height()), seed);
    model.described = "random-init/" + name;
  }
  return model;
}

ModelInput resolve_model_input(const std::string& checkpoint, const std::string& weights, const std::string& data,
                               data::SourceOptions source) {
  ModelInput out;
  if (!checkpoint.empty()) {
    out.checkpoint_path = checkpoint;
    if (std::filesystem::is_directory(checkpoint)) {
      out.run_dir = checkpoint;
      out.checkpoint_path = (std::filesystem::path(checkpoint) / "checkpoint.pt").string();
    }
    out.checkpoint = load_checkpoint(out.checkpoint_path);
    encoder_weights(*out.checkpoint, weights, "checkpoint '" + out.checkpoint_path + "'");
  }
  if (!data.empty()) {
    out.data_spec = data;
  } else if (out.checkpoint) {
    out.data_spec = out.checkpoint->metadata.data;
  }
  if (out.checkpoint && source.image_size() == 0) source.image_size(out.checkpoint->metadata.image_size);
  if (out.checkpoint && source.channels() == 0) source.channels(out.checkpoint->metadata.in_channels);
  out.source = source;
  return out;
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

std::string to_string(EmbedSplit split) {
  switch (split) {
    case EmbedSplit::Test: return "test";
    case EmbedSplit::All: return "all";
    default: return "train";
  }
}

namespace {

// The attributes `embed_data` stores beside the features.
data::FeatureAttributes embed_attributes(const EmbedDataOptions& options, const ModelInput& input,
                                         const FeatureModel& model, const data::Source& train,
                                         const std::vector<std::shared_ptr<const data::Source>>& parts) {
  data::FeatureAttributes attributes;
  attributes.text = {{"model", model.described},       {"features", to_string(options.features())},
                     {"data", input.data_spec},         {"split", to_string(options.split())},
                     {"normalization", data::to_string(model.norm)}, {"sslkit_version", SSLKIT_VERSION}};
  if (input.checkpoint) {
    attributes.text["checkpoint"] = std::filesystem::absolute(input.checkpoint_path).string();
    const CheckpointMetadata& meta = input.checkpoint->metadata;
    if (!meta.method.empty()) attributes.text["method"] = meta.method;
    attributes.text["encoder"] = meta.encoder;
  } else if (options.features() == Features::RandomInit) {
    attributes.text["encoder"] = options.encoder();
    attributes.integers["seed"] = static_cast<int64_t>(options.seed());
  }
  attributes.integers["image_height"] = train.height();
  attributes.integers["image_width"] = train.width();
  attributes.integers["channels"] = train.channels();
  if (options.split() == EmbedSplit::All) {
    attributes.integers["train_rows"] = parts[0]->size();
    attributes.integers["test_rows"] = parts[1]->size();
  }
  return attributes;
}

}  // namespace

EmbedDataResult embed_data(const EmbedDataOptions& options, const std::function<void(int64_t, int64_t)>& progress) {
  const std::string extension = std::filesystem::path(options.out()).extension().string();
  TORCH_CHECK(extension == ".h5" || extension == ".hdf5", "embed: the output '", options.out(),
              "' must be an .h5 file");
  TORCH_CHECK(options.features() != Features::Stored, "embed: stored features cannot be embedded again");
  const auto input = resolve_model_input(options.checkpoint(), options.weights(), options.data(), options.source());
  // The train split gives the normalization when the checkpoint has none (as `evaluate`).
  const auto train = data::open_source(input.data_spec, data::Split::Train, input.source);
  std::vector<std::shared_ptr<const data::Source>> parts;
  if (options.split() != EmbedSplit::Test) parts.push_back(train);
  if (options.split() != EmbedSplit::Train) {
    parts.push_back(data::align_classes(data::open_source(input.data_spec, data::Split::Test, input.source), *train));
  }
  const auto model = make_feature_model(options.features(), input.checkpoint, input.checkpoint_path,
                                        options.weights(), options.encoder(), *train, options.seed());
  EmbedDataResult result;
  result.file = embed_to_file(model, parts, options.out(), embed_attributes(options, input, model, *train, parts),
                              options.embed(), progress);
  result.model = model.described;
  result.data = input.data_spec;
  result.split = options.split();
  result.out = options.out();
  return result;
}

std::string format_embed_summary(const EmbedDataResult& result) {
  char counts[64], timing[96];
  std::snprintf(counts, sizeof counts, "%lld x %lld", static_cast<long long>(result.file.rows),
                static_cast<long long>(result.file.feature_dim));
  std::snprintf(timing, sizeof timing, "%.1f s (%.0f images/s)", result.file.seconds,
                static_cast<double>(result.file.rows) / std::max(result.file.seconds, 1e-9));
  return "wrote " + std::string(counts) + " features" + (result.file.labelled ? " and labels" : "") + " of " +
         result.model + " (" + result.data + ", " + to_string(result.split) + ") to " + result.out + " in " + timing +
         "\n";
}

}  // namespace ssl::eval
