#include "sslkit/ssl/checkpoint.h"

#include "sslkit/ssl/files.h"

#include <ATen/core/Dict.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/nn/module.h>

namespace ssl {
namespace {

constexpr const char* kFormat = "sslkit-checkpoint";
constexpr int64_t kFormatVersion = 1;

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

}  // namespace

const std::string& Checkpoint::meta(const std::string& key) const {
  auto it = metadata.find(key);
  TORCH_CHECK(it != metadata.end(), "checkpoint metadata has no '", key, "' entry");
  return it->second;
}

int64_t Checkpoint::meta_int(const std::string& key) const {
  const std::string& value = meta(key);
  size_t used = 0;
  int64_t result = 0;
  try {
    result = std::stoll(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  TORCH_CHECK(used == value.size() && !value.empty(), "checkpoint metadata '", key, "' is '", value,
              "', expected an integer");
  return result;
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
  checkpoint.metadata["encoder"] = encoder_name;
  checkpoint.metadata["in_channels"] = std::to_string(in_channels);
  checkpoint.metadata["image_size"] = std::to_string(image_size);
  checkpoint.metadata["feature_dim"] = std::to_string(encoder.feature_dim());
  checkpoint.encoder = module_state(encoder);
  return checkpoint;
}

void save_checkpoint(const Checkpoint& checkpoint, const std::string& path) {
  c10::Dict<std::string, std::string> metadata;
  for (const auto& [key, value] : checkpoint.metadata) metadata.insert(key, value);
  c10::Dict<std::string, c10::Dict<std::string, at::Tensor>> modules;
  for (const auto& [name, state] : checkpoint.modules) modules.insert(name, to_dict(state));

  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  root.insert(std::string("format"), std::string(kFormat));
  root.insert(std::string("version"), kFormatVersion);
  root.insert(std::string("metadata"), metadata);
  root.insert(std::string("encoder"), to_dict(checkpoint.encoder));
  root.insert(std::string("modules"), modules);
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
  for (const auto& entry : metadata.toGenericDict()) {
    TORCH_CHECK(entry.key().isString() && entry.value().isString(), "checkpoint '", path,
                "': metadata must map strings to strings");
    checkpoint.metadata[entry.key().toStringRef()] = entry.value().toStringRef();
  }
  checkpoint.encoder = from_ivalue(field("encoder"), path, "encoder");
  const auto modules = field("modules");
  TORCH_CHECK(modules.isGenericDict(), "checkpoint '", path, "': modules is not a dict");
  for (const auto& entry : modules.toGenericDict()) {
    const std::string name = entry.key().toStringRef();
    checkpoint.modules[name] = from_ivalue(entry.value(), path, "modules." + name);
  }
  return checkpoint;
}

Encoder rebuild_encoder(const Checkpoint& checkpoint, const std::string& what) {
  auto options = EncoderOptions(checkpoint.meta_int("in_channels")).image_size(checkpoint.meta_int("image_size"));
  Encoder encoder = make_encoder(checkpoint.meta("encoder"), options);
  load_module_state(*encoder, checkpoint.encoder, what);
  encoder->eval();
  return encoder;
}

}  // namespace ssl
