#include "sslkit/trainers/export/torchscript.h"

#include "sslkit/ssl/efficientnet.h"
#include "sslkit/ssl/files.h"
#include "sslkit/ssl/resnet.h"
#include "sslkit/ssl/vit.h"
#include "sslkit/trainers/export/detail/common.h"
#include "sslkit/version.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/pooling.h>

#include <cctype>
#include <cmath>
#include <sstream>

namespace ssl::exporter {
namespace {

// `values` as a TorchScript list literal, "[a, b, ...]".
std::string int_list(c10::ArrayRef<int64_t> values) {
  std::string list = "[";
  for (size_t i = 0; i < values.size(); ++i) list += (i > 0 ? ", " : "") + std::to_string(values[i]);
  return list + "]";
}

// `value` as a TorchScript float literal that parses back to the same double.
std::string real(double value) {
  std::ostringstream text;
  text.precision(17);
  text << value;
  const std::string written = text.str();
  return written.find_first_of(".e") == std::string::npos ? written + ".0" : written;
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
    if (dynamic_cast<const torch::nn::SiLUImpl*>(&module)) return assign("torch.silu(" + input + ")");
    if (const auto* linear = dynamic_cast<const torch::nn::LinearImpl*>(&module)) {
      return linear_layer(*linear, path, input);
    }
    if (const auto* norm = dynamic_cast<const torch::nn::LayerNormImpl*>(&module)) {
      return layer_norm(*norm, path, input);
    }
    if (const auto* pool = dynamic_cast<const torch::nn::MaxPool2dImpl*>(&module)) return max_pool(*pool, input);
    if (dynamic_cast<const BasicBlockImpl*>(&module) || dynamic_cast<const BottleneckImpl*>(&module)) {
      return residual_block(module, path, input);
    }
    if (dynamic_cast<const SqueezeExcitationImpl*>(&module)) return squeeze_excitation(module, path, input);
    if (const auto* block = dynamic_cast<const MBConvImpl*>(&module)) return mbconv(*block, path, input);
    TORCH_CHECK(false, what_, ": cannot export encoder '", encoder_, "' to TorchScript: its module ", path, " (",
                module.name(), ") has no exporter");
  }

  // Emits what `encoder`'s forward returns for the normalized images `input`: a Vision Transformer's class token,
  // or the global average of the body's feature map.
  std::string representation(const EncoderImpl& encoder, const std::string& input) {
    if (const auto* vit = dynamic_cast<const VisionTransformerImpl*>(&encoder)) return vision_transformer(*vit, input);
    return assign(emit(*encoder.named_children()["body"], "body", input) + ".mean([2, 3])");
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
    return assign("torch.batch_norm(" + input + ", " + weight + ", " + bias + ", " + mean + ", " + var +
                  ", False, 0.0, " + real(bn.options.eps()) + ", False)");
  }

  // input W^T + b.
  std::string linear_layer(const torch::nn::LinearImpl& linear, const std::string& path, const std::string& input) {
    const std::string weight = tensor(path + ".weight", linear.weight, true);
    const std::string bias = linear.bias.defined() ? tensor(path + ".bias", linear.bias, true) : "None";
    return assign("torch.linear(" + input + ", " + weight + ", " + bias + ")");
  }

  // LayerNorm over the trailing `normalized_shape` dimensions.
  std::string layer_norm(const torch::nn::LayerNormImpl& norm, const std::string& path, const std::string& input) {
    const auto& o = norm.options;
    const std::string weight = o.elementwise_affine() ? tensor(path + ".weight", norm.weight, true) : "None";
    const std::string bias = o.elementwise_affine() ? tensor(path + ".bias", norm.bias, true) : "None";
    return assign("torch.layer_norm(" + input + ", " + int_list(o.normalized_shape()) + ", " + weight + ", " + bias +
                  ", " + real(o.eps()) + ", False)");
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

  // x * sigmoid(expand(silu(reduce(mean_hw(x))))), as SqueezeExcitationImpl::forward.
  std::string squeeze_excitation(const torch::nn::Module& se, const std::string& path, const std::string& input) {
    const auto children = se.named_children();
    const std::string reduced = emit(*children["reduce"], path + ".reduce", assign(input + ".mean([2, 3], True)"));
    const std::string expanded = emit(*children["expand"], path + ".expand", assign("torch.silu(" + reduced + ")"));
    return assign(input + " * torch.sigmoid(" + expanded + ")");
  }

  // MBConvImpl::forward in eval mode: the branch, plus the input when the block keeps stride 1 and its channels
  // (stochastic depth is the identity in eval mode).
  std::string mbconv(const MBConvImpl& block, const std::string& path, const std::string& input) {
    const std::string out = emit(*block.named_children()["branch"], path + ".branch", input);
    if (!block.adds_input()) return out;
    return assign(input + " + " + out);
  }

  // VisionTransformerImpl::forward: embedded patches with position embeddings, the class token (plus its position
  // embedding) prepended, the blocks, the final LayerNorm; returns the class token.
  std::string vision_transformer(const VisionTransformerImpl& vit, const std::string& input) {
    const auto parameters = vit.named_parameters(/*recurse=*/false);
    const auto children = vit.named_children();
    const std::string position = tensor("position", parameters["position"], true);
    const std::string patches = patch_tokens(vit, position, input);
    const std::string cls = assign("(" + tensor("class_token", parameters["class_token"], true) + " + " + position +
                                   ".narrow(1, 0, 1)).expand([" + patches + ".size(0), 1, " +
                                   std::to_string(vit.feature_dim()) + "])");
    std::string x = assign("torch.cat([" + cls + ", " + patches + "], 1)");
    const int64_t heads = vit.heads();
    const auto& blocks = dynamic_cast<const torch::nn::ModuleListImpl&>(*children["blocks"]);
    for (size_t i = 0; i < blocks.size(); ++i) {
      x = transformer_block(*blocks[i], "blocks." + std::to_string(i), heads, x);
    }
    return assign(emit(*children["norm"], "norm", x) + ".select(1, 0)");
  }

  // The patch embedding flattened to tokens plus their position embeddings, as
  // VisionTransformerImpl::embed_patches: the learned ones on the checkpoint's grid, else those interpolated
  // bicubically (align_corners false) to the input's grid.
  std::string patch_tokens(const VisionTransformerImpl& vit, const std::string& position, const std::string& input) {
    const std::string map = emit(*vit.named_children()["patch_embed"], "patch_embed", input);
    const std::string h = assign(map + ".size(2)"), w = assign(map + ".size(3)");
    const int64_t grid = vit.options.image_size() / vit.patch_size();
    const std::string g = std::to_string(grid), d = std::to_string(vit.feature_dim());
    const std::string learned = position + ".narrow(1, 1, " + std::to_string(grid * grid) + ")";
    const std::string embedding = "x" + std::to_string(variables_++);
    code_ << "    if " << h << " == " << g << " and " << w << " == " << g << ":\n"
          << "        " << embedding << " = " << learned << "\n"
          << "    else:\n"
          << "        " << embedding << " = torch.upsample_bicubic2d(" << learned << ".reshape([1, " << g << ", " << g
          << ", " << d << "]).permute([0, 3, 1, 2]), [" << h << ", " << w << "], False).permute([0, 2, 3, 1])"
          << ".reshape([1, " << h << " * " << w << ", " << d << "])\n";
    return assign(map + ".flatten(2).transpose(1, 2) + " + embedding);
  }

  // TransformerBlockImpl::forward: x + attention(norm1(x)), then x + fc2(gelu(fc1(norm2(x)))).
  std::string transformer_block(const torch::nn::Module& block, const std::string& path, int64_t heads,
                                const std::string& input) {
    const auto c = block.named_children();
    const std::string normed = emit(*c["norm1"], path + ".norm1", input);
    const std::string x = assign(input + " + " + attention(*c["attention"], path + ".attention", heads, normed));
    const std::string hidden = emit(*c["fc1"], path + ".fc1", emit(*c["norm2"], path + ".norm2", x));
    return assign(x + " + " + emit(*c["fc2"], path + ".fc2", assign("torch.gelu(" + hidden + ")")));
  }

  // SelfAttentionImpl::forward with `heads` heads: qkv as [B, T, 3, H, d] permuted to [3, B, H, T, d],
  // softmax(q / sqrt(d) k^T) v, the heads merged back to [B, T, dim] and projected.
  std::string attention(const torch::nn::Module& module, const std::string& path, int64_t heads,
                        const std::string& input) {
    const auto c = module.named_children();
    const int64_t dim = dynamic_cast<const torch::nn::LinearImpl&>(*c["qkv"]).weight.size(1), head_dim = dim / heads;
    const std::string b = assign(input + ".size(0)"), t = assign(input + ".size(1)");
    const std::string qkv = assign(emit(*c["qkv"], path + ".qkv", input) + ".reshape([" + b + ", " + t + ", 3, " +
                                   std::to_string(heads) + ", " + std::to_string(head_dim) +
                                   "]).permute([2, 0, 3, 1, 4])");
    const std::string q = assign(qkv + "[0] * " + real(1.0 / std::sqrt(static_cast<double>(head_dim))));
    const std::string weights = assign("torch.softmax(torch.matmul(" + q + ", " + qkv + "[1].transpose(-2, -1)), -1)");
    const std::string merged = assign("torch.matmul(" + weights + ", " + qkv + "[2]).transpose(1, 2).reshape([" + b +
                                      ", " + t + ", " + std::to_string(dim) + "])");
    return emit(*c["projection"], path + ".projection", merged);
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

  torch::jit::Module module("__torch__.sslkit.FeatureExtractor");
  ScriptWriter writer(module, meta.encoder, what);
  const auto channels = static_cast<int64_t>(norm.mean.size());
  const std::string mean =
      writer.tensor("input_mean", torch::tensor(norm.mean).view({1, channels, 1, 1}), /*parameter=*/false);
  const std::string stddev =
      writer.tensor("input_std", torch::tensor(norm.stddev).view({1, channels, 1, 1}), /*parameter=*/false);
  const std::string features = writer.representation(*encoder, "x");
  const std::string c = std::to_string(channels), patch = std::to_string(encoder->patch_size());
  const std::string patch_check = encoder->patch_size() > 0 ? " and images.size(2) >= " + patch +
                                                                  " and images.size(3) >= " + patch : "";
  const std::string patch_message = encoder->patch_size() > 0 ? ", H and W >= " + patch : "";
  module.define("def forward(self, images: Tensor) -> Tensor:\n"
                "    assert images.dim() == 4 and images.size(1) == " + c + patch_check +
                ", 'sslkit feature extractor: expected float images [N, " + c + ", H, W] in [0, 1]" + patch_message +
                "'\n"
                "    x = (images - " + mean + ") / " + stddev + "\n" +
                writer.statements() +
                "    return " + features + "\n");
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
