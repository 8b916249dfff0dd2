#include "sslkit/trainers/export/torchscript.h"

#include "sslkit/ssl/files.h"
#include "sslkit/ssl/resnet.h"
#include "sslkit/trainers/export/detail/common.h"
#include "sslkit/version.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pooling.h>

#include <cctype>
#include <sstream>

namespace ssl::exporter {
namespace {

std::string int_list(const torch::ExpandingArray<2>& values) {
  return "[" + std::to_string((*values)[0]) + ", " + std::to_string((*values)[1]) + "]";
}

// Writes the TorchScript source of an encoder's forward pass, one statement per layer, into a module that receives
// the layers' tensors as parameters and buffers.
class ScriptWriter {
 public:
  ScriptWriter(torch::jit::Module& module, std::string encoder, std::string what)
      : module_(module), encoder_(std::move(encoder)), what_(std::move(what)) {}

  // Emits `module` applied to the variable `input`; returns the variable holding its output. `path` names the
  // module in errors and in the tensors' attribute names.
  std::string emit(const torch::nn::Module& module, const std::string& path, const std::string& input) {
    if (const auto* seq = dynamic_cast<const torch::nn::SequentialImpl*>(&module)) {
      std::string x = input;
      size_t index = 0;
      for (const auto& child : seq->children()) x = emit(*child, path + "." + std::to_string(index++), x);
      return x;
    }
    if (const auto* conv = dynamic_cast<const torch::nn::Conv2dImpl*>(&module)) return conv2d(*conv, path, input);
    if (const auto* bn = dynamic_cast<const torch::nn::BatchNorm2dImpl*>(&module)) return batch_norm(*bn, path, input);
    if (dynamic_cast<const torch::nn::ReLUImpl*>(&module)) return assign("torch.relu(" + input + ")");
    if (const auto* pool = dynamic_cast<const torch::nn::MaxPool2dImpl*>(&module)) return max_pool(*pool, input);
    if (dynamic_cast<const BasicBlockImpl*>(&module) || dynamic_cast<const BottleneckImpl*>(&module)) {
      return residual_block(module, path, input);
    }
    TORCH_CHECK(false, what_, ": cannot export encoder '", encoder_, "' to TorchScript: its module ", path, " (",
                module.name(), ") has no exporter");
  }

  // Registers `tensor` (contiguous fp32 copy, no gradient) under a name derived from `path`; returns "self.NAME".
  std::string tensor(const std::string& path, const torch::Tensor& value, bool parameter) {
    std::string name = "t" + std::to_string(tensors_++);
    for (char c : path) name += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
    auto stored = value.detach().to(torch::kCPU).contiguous().clone();
    if (parameter) {
      module_.register_parameter(name, stored.to(torch::kFloat).set_requires_grad(false), /*is_buffer=*/false);
    } else {
      module_.register_buffer(name, stored);
    }
    return "self." + name;
  }

  // The statements emitted so far.
  std::string statements() const { return code_.str(); }

 private:
  std::string assign(const std::string& expression) {
    const std::string name = "x" + std::to_string(variables_++);
    code_ << "    " << name << " = " << expression << "\n";
    return name;
  }

  std::string conv2d(const torch::nn::Conv2dImpl& conv, const std::string& path, const std::string& input) {
    const auto& o = conv.options;
    const auto* padding = detail::explicit_padding(o.padding());
    TORCH_CHECK(padding && conv.options.padding_mode().index() == 0, what_,
                ": cannot export encoder '", encoder_, "' to TorchScript: convolution ", path,
                " pads other than by explicit zeros");
    const std::string weight = tensor(path + ".weight", conv.weight, true);
    const std::string bias = conv.bias.defined() ? tensor(path + ".bias", conv.bias, true) : "None";
    return assign("torch.conv2d(" + input + ", " + weight + ", " + bias + ", " + int_list(o.stride()) + ", " +
                  int_list(*padding) + ", " + int_list(o.dilation()) + ", " + std::to_string(o.groups()) + ")");
  }

  std::string batch_norm(const torch::nn::BatchNorm2dImpl& bn, const std::string& path, const std::string& input) {
    TORCH_CHECK(bn.options.track_running_stats() && bn.running_mean.defined(), what_, ": cannot export encoder '",
                encoder_, "' to TorchScript: BatchNorm ", path, " keeps no running statistics");
    const bool affine = bn.options.affine();
    const std::string weight = affine ? tensor(path + ".weight", bn.weight, true) : "None";
    const std::string bias = affine ? tensor(path + ".bias", bn.bias, true) : "None";
    const std::string mean = tensor(path + ".running_mean", bn.running_mean, false);
    const std::string var = tensor(path + ".running_var", bn.running_var, false);
    std::ostringstream eps;
    eps.precision(17);
    eps << bn.options.eps();
    return assign("torch.batch_norm(" + input + ", " + weight + ", " + bias + ", " + mean + ", " + var +
                  ", False, 0.0, " + eps.str() + ", False)");
  }

  std::string max_pool(const torch::nn::MaxPool2dImpl& pool, const std::string& input) {
    const auto& o = pool.options;
    return assign("torch.max_pool2d(" + input + ", " + int_list(o.kernel_size()) + ", " + int_list(o.stride()) + ", " +
                  int_list(o.padding()) + ", " + int_list(o.dilation()) + ", " + (o.ceil_mode() ? "True" : "False") +
                  ")");
  }

  // relu(bnK(convK(... relu(bn1(conv1(x))) ...)) + shortcut(x)) over the block's conv1..convK, as
  // BasicBlockImpl::forward (K = 2) and BottleneckImpl::forward (K = 3).
  std::string residual_block(const torch::nn::Module& block, const std::string& path, const std::string& input) {
    const auto children = block.named_children();
    std::string out = input;
    for (int k = 1; children.contains("conv" + std::to_string(k)); ++k) {
      const std::string n = std::to_string(k);
      if (k > 1) out = assign("torch.relu(" + out + ")");
      out = emit(*children["bn" + n], path + ".bn" + n, emit(*children["conv" + n], path + ".conv" + n, out));
    }
    const auto& shortcut = dynamic_cast<const torch::nn::SequentialImpl&>(*children["shortcut"]);
    const std::string identity = shortcut.is_empty() ? input : emit(shortcut, path + ".shortcut", input);
    return assign("torch.relu(" + out + " + " + identity + ")");
  }

  torch::jit::Module& module_;
  std::string encoder_, what_;
  std::ostringstream code_;
  int tensors_ = 0, variables_ = 0;
};

}  // namespace

torch::jit::Module to_torchscript(const Checkpoint& checkpoint, const std::string& what) {
  const auto& meta = checkpoint.metadata;
  const auto norm = detail::recorded_normalization(checkpoint, what);
  const Encoder encoder = detail::rebuild_exportable_encoder(checkpoint, "TorchScript", what);
  const auto children = encoder->named_children();

  torch::jit::Module module("__torch__.sslkit.FeatureExtractor");
  ScriptWriter writer(module, meta.encoder, what);
  const auto channels = static_cast<int64_t>(norm.mean.size());
  const std::string mean =
      writer.tensor("input_mean", torch::tensor(norm.mean).view({1, channels, 1, 1}), /*parameter=*/false);
  const std::string stddev =
      writer.tensor("input_std", torch::tensor(norm.stddev).view({1, channels, 1, 1}), /*parameter=*/false);
  const std::string features = writer.emit(*children["body"], "body", "x");
  const std::string c = std::to_string(channels);
  module.define("def forward(self, images: Tensor) -> Tensor:\n"
                "    assert images.dim() == 4 and images.size(1) == " + c +
                ", 'sslkit feature extractor: expected float images [N, " + c + ", H, W] in [0, 1]'\n"
                "    x = (images - " + mean + ") / " + stddev + "\n" +
                writer.statements() +
                "    return " + features + ".mean([2, 3])\n");
  module.register_attribute("encoder", c10::StringType::get(), meta.encoder);
  module.register_attribute("method", c10::StringType::get(), meta.method);
  module.register_attribute("normalization", c10::StringType::get(), meta.normalization);
  module.register_attribute("sslkit_version", c10::StringType::get(), std::string(SSLKIT_VERSION));
  module.register_attribute("in_channels", c10::IntType::get(), meta.in_channels);
  module.register_attribute("image_size", c10::IntType::get(), meta.image_size);
  module.register_attribute("feature_dim", c10::IntType::get(), meta.feature_dim);
  module.eval();
  return module;
}

void export_torchscript(const Checkpoint& checkpoint, const std::string& path, const std::string& what) {
  const auto module = to_torchscript(checkpoint, what);
  std::ostringstream bytes;
  module.save(bytes);
  write_file_atomic(path, bytes.str());
}

}  // namespace ssl::exporter
