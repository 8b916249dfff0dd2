#include "sslkit/trainers/export/onnx.h"

#include "sslkit/ssl/efficientnet.h"
#include "sslkit/ssl/files.h"
#include "sslkit/ssl/resnet.h"
#include "sslkit/ssl/vit.h"
#include "sslkit/trainers/export/detail/common.h"
#include "sslkit/version.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/pooling.h>

#include <cmath>
#include <vector>

namespace ssl::exporter {
namespace {

// The ONNX operator set and IR version written: opset 13 needs IR 7, which every runtime of the last years reads.
constexpr int64_t kOpset = 13;
constexpr int64_t kIrVersion = 7;

// Writes an encoder's forward pass into an ONNX graph, one node per operation, its tensors as fp32 initializers.
class GraphWriter {
 public:
  GraphWriter(onnx::GraphProto& graph, std::string encoder, std::string what)
      : graph_(graph), encoder_(std::move(encoder)), what_(std::move(what)) {}

  // Emits `module` applied to the value `input`; returns the value holding its output. `path` names the module in
  // errors and the nodes and initializers it adds.
  std::string emit(const torch::nn::Module& module, const std::string& path, const std::string& input) {
    if (const auto* seq = dynamic_cast<const torch::nn::SequentialImpl*>(&module)) {
      const auto children = seq->children();
      std::string x = input;
      for (size_t i = 0; i < children.size(); ++i) {
        const auto child_path = path + "." + std::to_string(i);
        const auto* conv = dynamic_cast<const torch::nn::Conv2dImpl*>(children[i].get());
        const auto* bn = i + 1 < children.size()
                             ? dynamic_cast<const torch::nn::BatchNorm2dImpl*>(children[i + 1].get()) : nullptr;
        if (conv && bn) {
          x = conv2d(*conv, bn, child_path, x);
          ++i;
        } else {
          x = emit(*children[i], child_path, x);
        }
      }
      return x;
    }
    if (const auto* conv = dynamic_cast<const torch::nn::Conv2dImpl*>(&module)) return conv2d(*conv, nullptr, path, input);
    if (const auto* bn = dynamic_cast<const torch::nn::BatchNorm2dImpl*>(&module)) return batch_norm(*bn, path, input);
    if (dynamic_cast<const torch::nn::ReLUImpl*>(&module)) return node("Relu", path, {input});
    if (dynamic_cast<const torch::nn::SiLUImpl*>(&module)) return silu(path, input);
    if (const auto* pool = dynamic_cast<const torch::nn::MaxPool2dImpl*>(&module)) return max_pool(*pool, path, input);
    if (dynamic_cast<const BasicBlockImpl*>(&module) || dynamic_cast<const BottleneckImpl*>(&module)) {
      return residual_block(module, path, input);
    }
    if (dynamic_cast<const SqueezeExcitationImpl*>(&module)) return squeeze_excitation(module, path, input);
    if (const auto* block = dynamic_cast<const MBConvImpl*>(&module)) return mbconv(*block, path, input);
    TORCH_CHECK(false, what_, ": cannot export encoder '", encoder_, "' to ONNX: its module ", path, " (",
                module.name(), ") has no exporter");
  }

  // (images - mean) / std per channel, as one BatchNormalization node (variance std^2, epsilon 0): a per-channel
  // Sub is what OpenCV 4.6's importer gets wrong (measured: 0.02 off with three channels; Div and BatchNorm exact).
  std::string input_normalization(const std::string& images, const data::Normalization& norm) {
    const auto mean = torch::tensor(norm.mean, torch::kDouble), stddev = torch::tensor(norm.stddev, torch::kDouble);
    onnx::AttributeProto epsilon;
    epsilon.set_name("epsilon");
    epsilon.set_type(onnx::AttributeProto::FLOAT);
    epsilon.set_f(0.0f);
    return node("BatchNormalization", "input_normalization",
                {images, initializer("input_normalization.scale", torch::ones_like(mean)),
                 initializer("input_normalization.bias", torch::zeros_like(mean)),
                 initializer("input_normalization.mean", mean), initializer("input_normalization.var", stddev * stddev)},
                {epsilon});
  }

  // Adds `value` as an fp32 initializer named `name`; returns the name.
  std::string initializer(const std::string& name, const torch::Tensor& value) {
    const auto data = value.detach().to(torch::kCPU, torch::kFloat).contiguous();
    auto* tensor = graph_.add_initializer();
    tensor->set_name(name);
    tensor->set_data_type(onnx::TensorProto::FLOAT);
    for (const auto size : data.sizes()) tensor->add_dims(size);
    tensor->set_raw_data(std::string(static_cast<const char*>(data.data_ptr()), data.numel() * sizeof(float)));
    return name;
  }

  // Adds `dims` as an int64 initializer named `name` (a Reshape's target shape); returns the name.
  std::string shape(const std::string& name, const std::vector<int64_t>& dims) {
    auto* tensor = graph_.add_initializer();
    tensor->set_name(name);
    tensor->set_data_type(onnx::TensorProto::INT64);
    tensor->add_dims(static_cast<int64_t>(dims.size()));
    for (const auto dim : dims) tensor->add_int64_data(dim);
    return name;
  }

  // Adds a node of `op` reading `inputs`; returns its single output, named after `path` and unique (OpenCV names
  // its layers by the nodes' names), as is the node.
  std::string node(const std::string& op, const std::string& path, const std::vector<std::string>& inputs,
                   std::vector<onnx::AttributeProto> attributes = {}) {
    auto* added = graph_.add_node();
    added->set_op_type(op);
    const std::string output = path + "/" + op + ":" + std::to_string(values_++);
    added->set_name(output);
    for (const auto& input : inputs) added->add_input(input);
    added->add_output(output);
    for (auto& attribute : attributes) *added->add_attribute() = std::move(attribute);
    return output;
  }

  static onnx::AttributeProto ints(const std::string& name, const std::vector<int64_t>& values) {
    onnx::AttributeProto attribute;
    attribute.set_name(name);
    attribute.set_type(onnx::AttributeProto::INTS);
    for (const auto v : values) attribute.add_ints(v);
    return attribute;
  }

  static onnx::AttributeProto integer(const std::string& name, int64_t value) {
    onnx::AttributeProto attribute;
    attribute.set_name(name);
    attribute.set_type(onnx::AttributeProto::INT);
    attribute.set_i(value);
    return attribute;
  }

  // VisionTransformerImpl::forward for `size` px images: patch tokens behind a class token, each plus its position
  // embedding, the blocks, the final LayerNorm; returns the class token [N, dim]. The tokens travel as rows
  // [N * T, dim] (reshaped to [N, H, T, d] for the attention's products): OpenCV 4.6 imports a graph at batch 1,
  // and its broadcasting layers then run other batches only over leading rows.
  std::string vision_transformer(const VisionTransformerImpl& vit, int64_t heads, int64_t size,
                                 const std::string& input) {
    const auto children = vit.named_children();
    const int64_t dim = vit.feature_dim(), grid = size / vit.patch_size(), tokens = 1 + grid * grid;
    TORCH_CHECK(grid > 0, what_, ": cannot export encoder '", encoder_, "' to ONNX: image size ", size,
                " is smaller than its ", vit.patch_size(), " px patches");
    const auto& patch_embed = dynamic_cast<const torch::nn::Conv2dImpl&>(*children["patch_embed"]);
    std::string x = node("Reshape", "patch_embed", {conv2d(patch_embed, nullptr, "patch_embed", input),
                                                    shape("patch_embed.shape", {0, dim, -1})});
    x = node("Transpose", "patch_embed", {x}, {ints("perm", {0, 2, 1})});
    // A zero token in front; one table [T, dim] then adds the class token and every position embedding (a table
    // [1, T, dim], the input's import-time shape, would be imported as a layer of batch 1).
    x = node("Pad", "class_token", {x, shape("class_token.pads", {0, 1, 0, 0, 0, 0})});
    x = node("Add", "position", {x, initializer("position", token_table(vit, grid).squeeze(0))});
    x = node("Reshape", "tokens", {x, shape("tokens.shape", {-1, dim})});
    const auto& blocks = dynamic_cast<const torch::nn::ModuleListImpl&>(*children["blocks"]);
    for (size_t i = 0; i < blocks.size(); ++i) {
      x = transformer_block(*blocks[i], "blocks." + std::to_string(i), heads, tokens, x);
    }
    x = layer_norm(dynamic_cast<const torch::nn::LayerNormImpl&>(*children["norm"]), "norm", x);
    x = node("Reshape", "class_token.out", {x, shape("class_token.out.shape", {-1, tokens, dim})});
    x = node("Slice", "class_token.out", {x, shape("class_token.out.starts", {0}), shape("class_token.out.ends", {1}),
                                          shape("class_token.out.axes", {1})});
    return node("Reshape", "class_token.out", {x, shape("class_token.out.rows", {-1, dim})});
  }

 private:
  // What VisionTransformerImpl adds to its tokens on a `grid` x `grid` patch grid, [1, 1 + grid^2, dim]: the class
  // token plus its position embedding, then the patches' position embeddings, learned or, for another grid,
  // interpolated bicubically (align_corners false) as VisionTransformerImpl::position_embedding does.
  static torch::Tensor token_table(const VisionTransformerImpl& vit, int64_t grid) {
    torch::NoGradGuard no_grad;
    const auto parameters = vit.named_parameters(/*recurse=*/false);
    auto table = parameters["position"].detach().clone();
    const int64_t trained = vit.options.image_size() / vit.patch_size(), dim = vit.feature_dim();
    if (grid != trained) {
      const auto learned = table.narrow(1, 1, trained * trained).reshape({1, trained, trained, dim});
      const auto resized = torch::upsample_bicubic2d(learned.permute({0, 3, 1, 2}), {grid, grid}, false);
      table = torch::cat({table.narrow(1, 0, 1), resized.permute({0, 2, 3, 1}).reshape({1, grid * grid, dim})}, 1);
    }
    table.narrow(1, 0, 1).add_(parameters["class_token"].detach());
    return table;
  }

  // TransformerBlockImpl::forward on rows: x + attention(norm1(x)), then x + fc2(gelu(fc1(norm2(x)))).
  std::string transformer_block(const torch::nn::Module& block, const std::string& path, int64_t heads,
                                int64_t tokens, const std::string& input) {
    const auto c = block.named_children();
    const auto& norm1 = dynamic_cast<const torch::nn::LayerNormImpl&>(*c["norm1"]);
    const auto& norm2 = dynamic_cast<const torch::nn::LayerNormImpl&>(*c["norm2"]);
    const auto& fc1 = dynamic_cast<const torch::nn::LinearImpl&>(*c["fc1"]);
    const auto& fc2 = dynamic_cast<const torch::nn::LinearImpl&>(*c["fc2"]);
    const std::string attended =
        attention(*c["attention"], path + ".attention", heads, tokens, layer_norm(norm1, path + ".norm1", input));
    const std::string x = node("Add", path + ".attention", {input, attended});
    const std::string hidden = linear(path + ".fc1", fc1.weight, fc1.bias, layer_norm(norm2, path + ".norm2", x));
    return node("Add", path, {x, linear(path + ".fc2", fc2.weight, fc2.bias, gelu(path + ".gelu", hidden))});
  }

  // SelfAttentionImpl::forward on rows [N * T, dim]: q, k and v (the thirds of qkv) as [N, H, T, d], k transposed,
  // softmax(q / sqrt(d) k^T) v, the heads merged back to rows and projected.
  std::string attention(const torch::nn::Module& module, const std::string& path, int64_t heads, int64_t tokens,
                        const std::string& input) {
    const auto c = module.named_children();
    const auto& qkv = dynamic_cast<const torch::nn::LinearImpl&>(*c["qkv"]);
    const auto& projection = dynamic_cast<const torch::nn::LinearImpl&>(*c["projection"]);
    const int64_t dim = qkv.weight.size(1), head_dim = dim / heads;
    const std::string split = shape(path + ".split", {-1, tokens, heads, head_dim});
    auto part = [&](int64_t index, const std::string& name, const std::vector<int64_t>& perm) {
      const std::string rows = linear(path + "." + name, qkv.weight.narrow(0, index * dim, dim),
                                      qkv.bias.narrow(0, index * dim, dim), input);
      return node("Transpose", path + "." + name, {node("Reshape", path + "." + name, {rows, split})},
                  {ints("perm", perm)});
    };
    const std::string scale = scalar(path + ".scale", 1.0 / std::sqrt(static_cast<double>(head_dim)));
    const std::string q = node("Mul", path + ".q", {part(0, "q", {0, 2, 1, 3}), scale});
    const std::string scores = node("MatMul", path + ".scores", {q, part(1, "k", {0, 2, 3, 1})});
    const std::string weights = node("Softmax", path, {scores}, {integer("axis", -1)});
    const std::string out = node("MatMul", path, {weights, part(2, "v", {0, 2, 1, 3})});
    const std::string merged = node("Reshape", path + ".merge",
                                    {node("Transpose", path + ".merge", {out}, {ints("perm", {0, 2, 1, 3})}),
                                     shape(path + ".merge.shape", {-1, dim})});
    return linear(path + ".projection", projection.weight, projection.bias, merged);
  }

  // LayerNorm over the last axis in elementary nodes (opset 13 has no LayerNormalization): x - mean as a MatMul
  // with the centering matrix I - 1/dim, the variance as a MatMul with a column of 1/dim, then
  // / sqrt(variance + eps) * weight + bias. OpenCV 4.6 runs neither ReduceMean nor a broadcasting Sub of two
  // computed values at a batch other than the import-time 1.
  std::string layer_norm(const torch::nn::LayerNormImpl& norm, const std::string& path, const std::string& input) {
    const int64_t dim = norm.options.normalized_shape().back();
    const auto mean = torch::full({dim, dim}, 1.0 / static_cast<double>(dim), torch::kDouble);
    const std::string centering = initializer(path + ".centering", torch::eye(dim, torch::kDouble) - mean);
    const std::string centered = node("MatMul", path + ".center", {input, centering});
    const std::string squares = node("Mul", path + ".var", {centered, centered});
    const std::string variance =
        node("MatMul", path + ".var", {squares, initializer(path + ".mean", mean.narrow(1, 0, 1))});
    const std::string stddev =
        node("Sqrt", path, {node("Add", path + ".eps", {variance, scalar(path + ".eps", norm.options.eps())})});
    const std::string normalized = node("Div", path, {centered, stddev});
    if (!norm.options.elementwise_affine()) return normalized;
    return node("Add", path, {node("Mul", path, {normalized, initializer(path + ".weight", norm.weight)}),
                              initializer(path + ".bias", norm.bias)});
  }

  // input W^T + b as MatMul and Add (no Add without a bias).
  std::string linear(const std::string& path, const torch::Tensor& weight, const torch::Tensor& bias,
                     const std::string& input) {
    const std::string product = node("MatMul", path, {input, initializer(path + ".weight", weight.t())});
    return bias.defined() ? node("Add", path, {product, initializer(path + ".bias", bias)}) : product;
  }

  // 0.5 * x * (1 + erf(x / sqrt(2))), the exact GELU of torch.gelu.
  std::string gelu(const std::string& path, const std::string& input) {
    const std::string erf = node("Erf", path, {node("Mul", path, {input, scalar(path + ".rsqrt2", std::sqrt(0.5))})});
    const std::string one_plus = node("Add", path, {erf, scalar(path + ".one", 1.0)});
    return node("Mul", path, {node("Mul", path, {input, one_plus}), scalar(path + ".half", 0.5)});
  }

  // Adds `value` as an fp32 scalar initializer named `name`; returns the name.
  std::string scalar(const std::string& name, double value) {
    return initializer(name, torch::tensor(static_cast<float>(value)));
  }

  // A convolution, with the eval-mode BatchNorm `bn` that follows it (if any) folded into its weight and bias:
  // w' = w * g / sqrt(v + eps), b' = (b - m) * g / sqrt(v + eps) + beta, computed in float64.
  std::string conv2d(const torch::nn::Conv2dImpl& conv, const torch::nn::BatchNorm2dImpl* bn, const std::string& path,
                     const std::string& input) {
    const auto& o = conv.options;
    const auto* padding = detail::explicit_padding(o.padding());
    TORCH_CHECK(padding && o.padding_mode().index() == 0, what_, ": cannot export encoder '", encoder_,
                "' to ONNX: convolution ", path, " pads other than by explicit zeros");
    auto weight = conv.weight.detach().to(torch::kDouble);
    const int64_t out_channels = weight.size(0);
    auto bias = conv.bias.defined() ? conv.bias.detach().to(torch::kDouble) : torch::zeros({out_channels}, torch::kDouble);
    if (bn != nullptr) {
      TORCH_CHECK(bn->options.track_running_stats() && bn->running_mean.defined(), what_, ": cannot export encoder '",
                  encoder_, "' to ONNX: BatchNorm after ", path, " keeps no running statistics");
      auto scale = 1.0 / torch::sqrt(bn->running_var.detach().to(torch::kDouble) + bn->options.eps());
      if (bn->options.affine()) scale = scale * bn->weight.detach().to(torch::kDouble);
      bias = (bias - bn->running_mean.detach().to(torch::kDouble)) * scale;
      if (bn->options.affine()) bias = bias + bn->bias.detach().to(torch::kDouble);
      weight = weight * scale.view({out_channels, 1, 1, 1});
    }
    const auto& kernel = *o.kernel_size();
    const auto& stride = *o.stride();
    const auto& dilation = *o.dilation();
    const auto& pad = **padding;
    return node("Conv", path, {input, initializer(path + ".weight", weight), initializer(path + ".bias", bias)},
                {ints("kernel_shape", {kernel[0], kernel[1]}), ints("strides", {stride[0], stride[1]}),
                 ints("pads", {pad[0], pad[1], pad[0], pad[1]}), ints("dilations", {dilation[0], dilation[1]}),
                 integer("group", o.groups())});
  }

  std::string batch_norm(const torch::nn::BatchNorm2dImpl& bn, const std::string& path, const std::string& input) {
    TORCH_CHECK(bn.options.track_running_stats() && bn.running_mean.defined(), what_, ": cannot export encoder '",
                encoder_, "' to ONNX: BatchNorm ", path, " keeps no running statistics");
    const auto channels = bn.running_mean.size(0);
    const auto scale = bn.options.affine() ? bn.weight : torch::ones({channels});
    const auto shift = bn.options.affine() ? bn.bias : torch::zeros({channels});
    onnx::AttributeProto epsilon;
    epsilon.set_name("epsilon");
    epsilon.set_type(onnx::AttributeProto::FLOAT);
    epsilon.set_f(static_cast<float>(bn.options.eps()));
    return node("BatchNormalization", path,
                {input, initializer(path + ".weight", scale), initializer(path + ".bias", shift),
                 initializer(path + ".running_mean", bn.running_mean), initializer(path + ".running_var", bn.running_var)},
                {epsilon});
  }

  std::string max_pool(const torch::nn::MaxPool2dImpl& pool, const std::string& path, const std::string& input) {
    const auto& o = pool.options;
    const auto kernel = *o.kernel_size(), stride = *o.stride(), pad = *o.padding(), dilation = *o.dilation();
    TORCH_CHECK(!o.ceil_mode() && dilation[0] == 1 && dilation[1] == 1, what_, ": cannot export encoder '", encoder_,
                "' to ONNX: max-pool ", path, " rounds up or is dilated");
    return node("MaxPool", path,
                {input}, {ints("kernel_shape", {kernel[0], kernel[1]}), ints("strides", {stride[0], stride[1]}),
                          ints("pads", {pad[0], pad[1], pad[0], pad[1]})});
  }

  // relu(bnK(convK(... relu(bn1(conv1(x))) ...)) + shortcut(x)) over the block's conv1..convK, as
  // BasicBlockImpl::forward (K = 2) and BottleneckImpl::forward (K = 3), each BatchNorm folded.
  std::string residual_block(const torch::nn::Module& block, const std::string& path, const std::string& input) {
    const auto children = block.named_children();
    std::string out = input;
    for (int k = 1; children.contains("conv" + std::to_string(k)); ++k) {
      const std::string n = std::to_string(k);
      if (k > 1) out = node("Relu", path + ".bn" + std::to_string(k - 1), {out});
      out = conv2d(dynamic_cast<const torch::nn::Conv2dImpl&>(*children["conv" + n]),
                   dynamic_cast<const torch::nn::BatchNorm2dImpl*>(children["bn" + n].get()), path + ".conv" + n, out);
    }
    const auto& shortcut = dynamic_cast<const torch::nn::SequentialImpl&>(*children["shortcut"]);
    const std::string identity = shortcut.is_empty() ? input : emit(shortcut, path + ".shortcut", input);
    return node("Relu", path, {node("Add", path, {out, identity})});
  }

  // x * sigmoid(x): opset 13 has no SiLU node.
  std::string silu(const std::string& path, const std::string& input) {
    return node("Mul", path, {input, node("Sigmoid", path, {input})});
  }

  // x * sigmoid(expand(silu(reduce(mean_hw(x))))), as SqueezeExcitationImpl::forward. OpenCV 4.6 imports a Mul
  // that broadcasts [N, C, H, W] * [N, C, 1, 1] as a Scale layer sized for batch 1 (an assertion in shape_utils
  // at N > 1), so the product is taken with the batch folded into the channels, [1, N*C, H, W] * [1, N*C, 1, 1].
  std::string squeeze_excitation(const torch::nn::Module& se, const std::string& path, const std::string& input) {
    const auto children = se.named_children();
    const auto& reduce = dynamic_cast<const torch::nn::Conv2dImpl&>(*children["reduce"]);
    const auto& expand = dynamic_cast<const torch::nn::Conv2dImpl&>(*children["expand"]);
    const std::string squeezed = node("GlobalAveragePool", path, {input});
    const std::string reduced = silu(path + ".reduce", conv2d(reduce, nullptr, path + ".reduce", squeezed));
    const std::string scale = node("Sigmoid", path, {conv2d(expand, nullptr, path + ".expand", reduced)});
    const std::string folded = shape(path + ".folded", {1, -1, 0, 0});
    const std::string product = node("Mul", path, {node("Reshape", path + ".input", {input, folded}),
                                                   node("Reshape", path + ".scale", {scale, folded})});
    return node("Reshape", path, {product, shape(path + ".unfolded", {-1, expand.options.out_channels(), 0, 0})});
  }

  // MBConvImpl::forward in eval mode: the branch (each BatchNorm folded), plus the input when the block keeps
  // stride 1 and its channels (stochastic depth is the identity in eval mode).
  std::string mbconv(const MBConvImpl& block, const std::string& path, const std::string& input) {
    const std::string out = emit(*block.named_children()["branch"], path + ".branch", input);
    if (!block.adds_input()) return out;
    return node("Add", path, {input, out});
  }

  onnx::GraphProto& graph_;
  std::string encoder_, what_;
  int values_ = 0;
};

// A float tensor type [dims...] where a dimension <= 0 is the dynamic batch "N".
void set_float_shape(onnx::ValueInfoProto& value, const std::string& name, const std::vector<int64_t>& dims) {
  value.set_name(name);
  auto* type = value.mutable_type()->mutable_tensor_type();
  type->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = type->mutable_shape();
  for (const auto dim : dims) {
    if (dim > 0) {
      shape->add_dim()->set_dim_value(dim);
    } else {
      shape->add_dim()->set_dim_param("N");
    }
  }
}

}  // namespace

bool onnx_available() { return true; }

std::string to_onnx(const Checkpoint& checkpoint, const OnnxOptions& options, const std::string& what) {
  TORCH_CHECK_VALUE(options.batch() >= 0, "ONNX batch must be >= 0 (0: dynamic), got ", options.batch());
  TORCH_CHECK_VALUE(options.image_size() >= 0, "ONNX image size must be >= 0 (0: the checkpoint's), got ",
                    options.image_size());
  const auto& meta = checkpoint.metadata;
  const auto norm = detail::recorded_normalization(checkpoint, what);
  const Encoder encoder = detail::rebuild_exportable_encoder(checkpoint, "ONNX", what);
  const int64_t size = options.image_size() > 0 ? options.image_size() : meta.image_size;
  TORCH_CHECK(size > 0, what, ": records no image size; give the ONNX input's size");

  onnx::ModelProto model;
  model.set_ir_version(kIrVersion);
  model.set_producer_name("sslkit");
  model.set_producer_version(SSLKIT_VERSION);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  auto add_property = [&](const std::string& key, const std::string& value) {
    auto* property = model.add_metadata_props();
    property->set_key(key);
    property->set_value(value);
  };
  add_property("encoder", meta.encoder);
  add_property("method", meta.method);
  add_property("normalization", meta.normalization);
  add_property("in_channels", std::to_string(meta.in_channels));
  add_property("image_size", std::to_string(meta.image_size));
  add_property("feature_dim", std::to_string(meta.feature_dim));
  add_property("sslkit_version", SSLKIT_VERSION);

  auto& graph = *model.mutable_graph();
  graph.set_name("sslkit_feature_extractor");
  const int64_t channels = meta.in_channels;
  set_float_shape(*graph.add_input(), "images", {options.batch(), channels, size, size});
  GraphWriter writer(graph, meta.encoder, what);
  auto x = writer.input_normalization("images", norm);
  if (const auto* vit = dynamic_cast<const VisionTransformerImpl*>(encoder.get())) {
    x = writer.vision_transformer(*vit, vit->heads(), size, x);
  } else {
    x = writer.emit(*encoder->named_children()["body"], "body", x);
    x = writer.node("GlobalAveragePool", "pool", {x});
    x = writer.node("Flatten", "pool", {x}, {GraphWriter::integer("axis", 1)});
  }
  graph.mutable_node(graph.node_size() - 1)->set_output(0, "features");
  set_float_shape(*graph.add_output(), "features", {options.batch(), meta.feature_dim});

  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    TORCH_CHECK(false, what, ": the ONNX model of encoder '", meta.encoder, "' fails ONNX's checker: ", e.what());
  }
  std::string bytes;
  TORCH_CHECK(model.SerializeToString(&bytes), what, ": cannot serialize the ONNX model of encoder '", meta.encoder,
              "' (", model.ByteSizeLong(), " bytes; protobuf's limit is 2 GiB)");
  return bytes;
}

void export_onnx(const Checkpoint& checkpoint, const std::string& path, const OnnxOptions& options,
                 const std::string& what) {
  write_file_atomic(path, to_onnx(checkpoint, options, what));
}

}  // namespace ssl::exporter
