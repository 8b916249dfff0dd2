#include "sslkit/ssl/checkpoint.h"

#include "sslkit/ssl/files.h"

#include <ATen/core/Dict.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/nn/module.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

namespace ssl {
namespace {

constexpr const char* kFormat = "sslkit-checkpoint";
// Version 2 added the checksum; version 1 files (without one) still load.
constexpr int64_t kFormatVersion = 2;

c10::Dict<std::string, at::Tensor> to_dict(const TensorDict& state) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& item : state) dict.insert(item.key(), item.value().detach().cpu().contiguous());
  return dict;
}

TensorDict from_ivalue(const c10::IValue& value, const std::string& path, const std::string& field) {
  TORCH_CHECK(value.isGenericDict(), "checkpoint '", path, "': field '", field, "' is not a dict of tensors");
  TensorDict state;
  for (const auto& entry : value.toGenericDict()) {
    TORCH_CHECK(entry.key().isString() && entry.value().isTensor(), "checkpoint '", path, "': field '", field,
                "' holds a non-tensor entry");
    state.insert(entry.key().toStringRef(), entry.value().toTensor());
  }
  return state;
}

uint32_t crc_bytes(uint32_t crc, const void* data, size_t size) {
  const auto* bytes = static_cast<const Bytef*>(data);
  while (size > 0) {
    const auto part = static_cast<uInt>(std::min<size_t>(size, size_t{1} << 30));
    crc = static_cast<uint32_t>(crc32(crc, bytes, part));
    bytes += part;
    size -= part;
  }
  return crc;
}

uint32_t crc_text(uint32_t crc, const std::string& text) {
  crc = crc_bytes(crc, text.data(), text.size());
  return crc_bytes(crc, "", 1);  // a terminator, so that "ab"+"c" and "a"+"bc" differ
}

// CRC-32 of one named tensor: its name, dtype, shape and bytes.
uint32_t crc_tensor(uint32_t crc, const std::string& name, const torch::Tensor& tensor) {
  const auto t = tensor.detach().cpu().contiguous();
  crc = crc_text(crc, name);
  crc = crc_text(crc, std::string(c10::toString(t.scalar_type())));
  for (const int64_t size : t.sizes()) crc = crc_bytes(crc, &size, sizeof size);
  return crc_bytes(crc, t.data_ptr(), t.nbytes());
}

uint32_t crc_state(uint32_t crc, const std::string& prefix, const TensorDict& state) {
  std::map<std::string, const torch::Tensor*> sorted;
  for (const auto& item : state) sorted[item.key()] = &item.value();
  for (const auto& [name, tensor] : sorted) crc = crc_tensor(crc, prefix + name, *tensor);
  return crc;
}

// The checksum of everything a checkpoint holds, independent of the order tensors were inserted in.
int64_t content_checksum(const std::map<std::string, std::string>& stored_metadata, const Checkpoint& checkpoint) {
  uint32_t crc = static_cast<uint32_t>(crc32(0, Z_NULL, 0));
  for (const auto& [key, value] : stored_metadata) crc = crc_text(crc_text(crc, key), value);
  crc = crc_state(crc, "encoder.", checkpoint.encoder);
  for (const auto& [name, state] : checkpoint.modules) crc = crc_state(crc, "modules." + name + ".", state);
  return static_cast<int64_t>(crc);
}

// Refuses NaN or Inf in any floating-point tensor of `state`.
void check_finite(const TensorDict& state, const std::string& path, const std::string& field) {
  for (const auto& item : state) {
    const auto& t = item.value();
    if (!t.is_floating_point() || t.numel() == 0) continue;
    TORCH_CHECK(torch::isfinite(t).all().item<bool>(), "checkpoint '", path, "': tensor '", item.key(), "' of ",
                field, " holds NaN or Inf");
  }
}

// Metadata parsing: every reader names `what`, the key and the stored text.
class MetadataReader {
 public:
  MetadataReader(const std::map<std::string, std::string>& stored, const std::string& what)
      : stored_(stored), what_(what) {}

  bool has(const std::string& key) const { return stored_.count(key) > 0; }

  const std::string& text(const std::string& key) const {
    const auto it = stored_.find(key);
    TORCH_CHECK(it != stored_.end(), what_, ": metadata has no '", key, "' entry");
    return it->second;
  }

  std::string text_or_empty(const std::string& key) const { return has(key) ? text(key) : std::string(); }

  int64_t integer(const std::string& key, int64_t low, int64_t high) const {
    const std::string& value = text(key);
    size_t used = 0;
    int64_t result = 0;
    try {
      result = std::stoll(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    TORCH_CHECK(used == value.size() && !value.empty() && result >= low && result <= high, what_,
                      ": metadata '", key, "' is '", value, "', expected an integer in [", low, ", ", high, "]");
    return result;
  }

  int64_t integer_or(const std::string& key, int64_t low, int64_t high, int64_t fallback) const {
    return has(key) ? integer(key, low, high) : fallback;
  }

  double seconds(const std::string& key) const {
    const std::string& value = text(key);
    size_t used = 0;
    double result = -1;
    try {
      result = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    TORCH_CHECK(used == value.size() && !value.empty() && std::isfinite(result) && result >= 0, what_,
                      ": metadata '", key, "' is '", value, "', expected a number of seconds >= 0");
    return result;
  }

 private:
  const std::map<std::string, std::string>& stored_;
  const std::string& what_;
};

// The keys `to_stored` writes outside the run./option. families.
const std::set<std::string>& plain_keys() {
  static const std::set<std::string> keys{
      "encoder", "in_channels", "image_size",  "feature_dim", "normalization",           "data",
      "seed",    "method",      "epoch",       "step",        "precision",               "trainer.steps_per_epoch",
      "trainer.world_size",     "trainer.elapsed_s",       "stem",        "patch_size"};
  return keys;
}

std::string seconds_text(double value) {
  std::ostringstream out;
  out << std::setprecision(17) << value;
  return out.str();
}

}  // namespace

std::map<std::string, std::string> to_stored(const CheckpointMetadata& m) {
  std::map<std::string, std::string> stored{{"encoder", m.encoder},
                                            {"in_channels", std::to_string(m.in_channels)},
                                            {"image_size", std::to_string(m.image_size)},
                                            {"feature_dim", std::to_string(m.feature_dim)}};
  auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) stored[key] = value;
  };
  put("stem", m.stem);
  if (m.patch_size > 0) stored["patch_size"] = std::to_string(m.patch_size);
  put("normalization", m.normalization);
  put("data", m.data);
  if (m.seed) stored["seed"] = std::to_string(*m.seed);
  put("method", m.method);
  if (!m.method.empty()) {
    stored["epoch"] = std::to_string(m.epoch);
    stored["step"] = std::to_string(m.step);
  }
  put("precision", m.precision);
  if (m.trainer.steps_per_epoch > 0) {
    stored["trainer.steps_per_epoch"] = std::to_string(m.trainer.steps_per_epoch);
    stored["trainer.elapsed_s"] = seconds_text(m.trainer.elapsed_s);
    if (m.trainer.world_size > 1) stored["trainer.world_size"] = std::to_string(m.trainer.world_size);
  }
  for (const auto& [key, value] : m.run) stored["run." + key] = value;
  for (const auto& [key, value] : m.options) stored["option." + key] = value;
  return stored;
}

CheckpointMetadata parse_metadata(const std::map<std::string, std::string>& stored, const std::string& what) {
  constexpr int64_t kLarge = int64_t{1} << 40;
  const MetadataReader read(stored, what);
  CheckpointMetadata m;
  m.encoder = read.text("encoder");
  m.in_channels = read.integer("in_channels", 1, 4096);
  m.image_size = read.integer("image_size", 1, 65536);
  m.feature_dim = read.integer("feature_dim", 1, kLarge);
  m.stem = read.text_or_empty("stem");
  TORCH_CHECK(m.stem.empty() || m.stem == "cifar" || m.stem == "imagenet", what, ": metadata 'stem' is '", m.stem,
              "', expected cifar or imagenet");
  m.patch_size = read.integer_or("patch_size", 1, 65536, 0);
  m.normalization = read.text_or_empty("normalization");
  m.data = read.text_or_empty("data");
  if (read.has("seed")) {
    const std::string& seed = read.text("seed");
    size_t used = 0;
    try {
      m.seed = std::stoull(seed, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    TORCH_CHECK(used == seed.size() && !seed.empty() && seed[0] != '-' && seed[0] != '+', what,
                      ": metadata 'seed' is '", seed, "', expected an integer in [0, 18446744073709551615]");
  }
  m.method = read.text_or_empty("method");
  m.epoch = read.integer_or("epoch", 0, kLarge, 0);
  m.step = read.integer_or("step", 0, kLarge, 0);
  m.precision = read.text_or_empty("precision");
  TORCH_CHECK(m.precision.empty() || m.precision == "fp32" || m.precision == "bf16" || m.precision == "fp16",
                    what, ": metadata 'precision' is '", m.precision, "', expected one of fp32, bf16, fp16");
  m.trainer.steps_per_epoch = read.integer_or("trainer.steps_per_epoch", 1, kLarge, 0);
  m.trainer.world_size = read.integer_or("trainer.world_size", 1, 65536, 1);
  if (read.has("trainer.elapsed_s") || m.trainer.steps_per_epoch > 0) m.trainer.elapsed_s = read.seconds("trainer.elapsed_s");
  for (const auto& [key, value] : stored) {
    if (key.rfind("run.", 0) == 0) {
      m.run[key.substr(4)] = value;
    } else if (key.rfind("option.", 0) == 0) {
      m.options[key.substr(7)] = value;
    } else {
      TORCH_CHECK(plain_keys().count(key) > 0, what, ": metadata has an unknown key '", key, "'");
    }
  }
  return m;
}

TensorDict module_state(const torch::nn::Module& module) {
  TensorDict state;
  for (const auto& p : module.named_parameters()) state.insert(p.key(), p.value().detach().cpu());
  for (const auto& b : module.named_buffers()) state.insert(b.key(), b.value().detach().cpu());
  return state;
}

void load_module_state(torch::nn::Module& module, const TensorDict& state, const std::string& what) {
  torch::NoGradGuard no_grad;
  auto copy_into = [&](const std::string& name, torch::Tensor& target) {
    const torch::Tensor* source = state.find(name);
    TORCH_CHECK(source != nullptr, what, ": no tensor named '", name, "'");
    TORCH_CHECK(source->sizes() == target.sizes(), what, ": tensor '", name, "' has shape ", source->sizes(),
                ", the module expects ", target.sizes());
    target.copy_(*source);
  };
  for (auto& p : module.named_parameters()) copy_into(p.key(), p.value());
  for (auto& b : module.named_buffers()) copy_into(b.key(), b.value());
}

Checkpoint make_checkpoint(const std::string& encoder_name, const EncoderImpl& encoder, int64_t in_channels,
                           int64_t image_size) {
  Checkpoint checkpoint;
  checkpoint.metadata.encoder = encoder_name;
  checkpoint.metadata.in_channels = in_channels;
  checkpoint.metadata.image_size = image_size;
  checkpoint.metadata.feature_dim = encoder.feature_dim();
  checkpoint.metadata.stem = encoder.stem();
  checkpoint.metadata.patch_size = encoder.patch_size();
  checkpoint.encoder = module_state(encoder);
  return checkpoint;
}

void save_checkpoint(const Checkpoint& checkpoint, const std::string& path) {
  const auto stored = to_stored(checkpoint.metadata);
  c10::Dict<std::string, std::string> metadata;
  for (const auto& [key, value] : stored) metadata.insert(key, value);
  c10::Dict<std::string, c10::Dict<std::string, at::Tensor>> modules;
  for (const auto& [name, state] : checkpoint.modules) modules.insert(name, to_dict(state));

  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  root.insert(std::string("format"), std::string(kFormat));
  root.insert(std::string("version"), kFormatVersion);
  root.insert(std::string("metadata"), metadata);
  root.insert(std::string("encoder"), to_dict(checkpoint.encoder));
  root.insert(std::string("modules"), modules);
  root.insert(std::string("checksum"), content_checksum(stored, checkpoint));
  const std::vector<char> bytes = torch::jit::pickle_save(root);
  write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

Checkpoint load_checkpoint(const std::string& path) {
  const std::vector<char> bytes = read_file(path);
  TORCH_CHECK(!bytes.empty(), "checkpoint '", path, "': the file is empty");
  c10::IValue root_value;
  try {
    root_value = torch::jit::pickle_load(bytes);
  } catch (const c10::Error& e) {
    std::string reason = e.what_without_backtrace();
    reason = reason.substr(0, reason.find('\n'));
    TORCH_CHECK(false, "checkpoint '", path, "': not a readable sslkit checkpoint (", reason, ")");
  }
  TORCH_CHECK(root_value.isGenericDict(), "checkpoint '", path, "': not an sslkit checkpoint (top level is ",
              root_value.tagKind(), ", expected a dict)");
  auto root = root_value.toGenericDict();
  auto field = [&](const char* name) {
    TORCH_CHECK(root.contains(name), "checkpoint '", path, "': not an sslkit checkpoint (no '", name, "' field)");
    return root.at(name);
  };
  const auto format = field("format");
  TORCH_CHECK(format.isString() && format.toStringRef() == kFormat, "checkpoint '", path,
              "': not an sslkit checkpoint (format field is not '", kFormat, "')");
  const auto version = field("version");
  TORCH_CHECK(version.isInt() && version.toInt() <= kFormatVersion, "checkpoint '", path,
              "': format version ", version.isInt() ? version.toInt() : -1, " is newer than this sslkit reads (",
              kFormatVersion, ")");

  Checkpoint checkpoint;
  const auto metadata = field("metadata");
  TORCH_CHECK(metadata.isGenericDict(), "checkpoint '", path, "': metadata is not a dict");
  std::map<std::string, std::string> stored;
  for (const auto& entry : metadata.toGenericDict()) {
    TORCH_CHECK(entry.key().isString() && entry.value().isString(), "checkpoint '", path,
                "': metadata must map strings to strings");
    stored[entry.key().toStringRef()] = entry.value().toStringRef();
  }
  checkpoint.encoder = from_ivalue(field("encoder"), path, "encoder");
  const auto modules = field("modules");
  TORCH_CHECK(modules.isGenericDict(), "checkpoint '", path, "': modules is not a dict");
  for (const auto& entry : modules.toGenericDict()) {
    const std::string name = entry.key().toStringRef();
    checkpoint.modules[name] = from_ivalue(entry.value(), path, "modules." + name);
  }
  if (version.toInt() >= 2) {
    const auto checksum = field("checksum");
    TORCH_CHECK(checksum.isInt() && checksum.toInt() == content_checksum(stored, checkpoint), "checkpoint '",
                path, "': its contents do not match their checksum (the file is damaged)");
  }
  checkpoint.metadata = parse_metadata(stored, "checkpoint '" + path + "'");
  check_finite(checkpoint.encoder, path, "the encoder");
  for (const auto& [name, state] : checkpoint.modules) check_finite(state, path, "'" + name + "'");
  return checkpoint;
}

EncoderOptions recorded_encoder_options(const CheckpointMetadata& m) {
  auto options = EncoderOptions(m.in_channels).image_size(m.image_size).patch_size(m.patch_size);
  if (!m.stem.empty()) options.stem(m.stem);
  // resnet18 checkpoints written before the stem was a choice record none: they had the CIFAR stem at any size.
  if (m.stem.empty() && m.encoder == "resnet18") options.stem("cifar");
  return options;
}

const TensorDict& encoder_weights(const Checkpoint& checkpoint, const std::string& name, const std::string& what) {
  if (name == kTrainedEncoder) return checkpoint.encoder;
  const auto found = checkpoint.modules.find(name);
  if (found != checkpoint.modules.end()) return found->second;
  std::string held = kTrainedEncoder;
  for (const auto& entry : checkpoint.modules) held += ", " + entry.first;
  TORCH_CHECK(false, what, ": it holds no weights named '", name, "' (", held, ")");
}

Encoder rebuild_encoder(const Checkpoint& checkpoint, const std::string& what, const std::string& weights) {
  const CheckpointMetadata& m = checkpoint.metadata;
  Encoder encoder = make_encoder(m.encoder, recorded_encoder_options(m));
  TORCH_CHECK(encoder->feature_dim() == m.feature_dim, what, ": metadata 'feature_dim' is ", m.feature_dim,
              " but encoder '", m.encoder, "' gives ", encoder->feature_dim(), " features");
  load_module_state(*encoder, encoder_weights(checkpoint, weights, what),
                    weights == kTrainedEncoder ? what : what + " ('" + weights + "')");
  encoder->eval();
  return encoder;
}

}  // namespace ssl
