#include "sslkit/trainers/optim.h"

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <type_traits>

namespace ssl::trainers {
namespace {

// The key of a parameter's state: its TensorImpl address as text in LibTorch 1.x, the address itself in later
// releases (whichever key type Optimizer::state_ has).
template <typename Key>
Key state_key(const torch::Tensor& p) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream text;
    text << static_cast<const void*>(p.unsafeGetTensorImpl());
    return text.str();
  } else {
    return p.unsafeGetTensorImpl();
  }
}

}  // namespace

void LARSOptions::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(lr);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(momentum);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(nesterov);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(weight_decay);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(trust_coefficient);
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(adapt);
}

void LARSOptions::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, lr);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, momentum);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, nesterov);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, weight_decay);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(double, trust_coefficient);
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(bool, adapt);
}

void LARSParamState::serialize(torch::serialize::OutputArchive& archive) const {
  _TORCH_OPTIM_SERIALIZE_TORCH_ARG(momentum_buffer);
}

void LARSParamState::serialize(torch::serialize::InputArchive& archive) {
  _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(torch::Tensor, momentum_buffer);
}

LARS::LARS(std::vector<torch::optim::OptimizerParamGroup> param_groups, LARSOptions defaults)
    : Optimizer(std::move(param_groups), std::make_unique<LARSOptions>(defaults)) {
  TORCH_CHECK(defaults.momentum() >= 0, "LARS momentum must be >= 0, got ", defaults.momentum());
  TORCH_CHECK(defaults.trust_coefficient() > 0, "LARS trust coefficient must be > 0, got ",
              defaults.trust_coefficient());
}

torch::Tensor LARS::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure) {
    torch::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const LARSOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto g = p.grad();
      if (o.weight_decay() != 0) g = g.add(p, o.weight_decay());
      auto scaled_lr = torch::full({}, o.lr(), p.options());
      if (o.adapt()) {
        const auto w_norm = p.norm(), g_norm = g.norm();
        const auto trust = torch::where(w_norm.gt(0) & g_norm.gt(0), o.trust_coefficient() * w_norm / g_norm,
                                        torch::ones_like(w_norm));
        scaled_lr = scaled_lr * trust;
      }
      auto step = g * scaled_lr;
      const auto key = state_key<std::decay_t<decltype(state_)>::key_type>(p);
      if (o.momentum() != 0) {
        auto found = state_.find(key);
        if (found == state_.end()) {
          auto fresh = std::make_unique<LARSParamState>();
          fresh->momentum_buffer(torch::zeros_like(p));
          found = state_.emplace(key, std::move(fresh)).first;
        }
        auto& v = static_cast<LARSParamState&>(*found->second).momentum_buffer();
        v.mul_(o.momentum()).add_(step);
        step = o.nesterov() ? v * o.momentum() + step : v;
      }
      p.sub_(step);
    }
  }
  return loss;
}

void LARS::save(torch::serialize::OutputArchive& archive) const {
  torch::optim::serialize<LARSParamState, LARSOptions>(archive, *this);
}

void LARS::load(torch::serialize::InputArchive& archive) {
  torch::optim::serialize<LARSParamState, LARSOptions>(archive, *this);
}

std::vector<std::string> optimizer_names() { return {"adam", "adamw", "sgd", "lars"}; }

void validate(const OptimizerOptions& options) {
  const auto names = optimizer_names();
  TORCH_CHECK_VALUE(std::find(names.begin(), names.end(), options.name()) != names.end(), "unknown optimizer '",
                    options.name(), "': expected one of adam, adamw, sgd, lars");
  TORCH_CHECK_VALUE(std::isfinite(options.lr()) && options.lr() > 0, "learning rate must be finite and > 0, got ",
                    options.lr());
  TORCH_CHECK_VALUE(std::isfinite(options.weight_decay()) && options.weight_decay() >= 0,
                    "weight decay must be finite and >= 0, got ", options.weight_decay());
  TORCH_CHECK_VALUE(std::isfinite(options.momentum()) && options.momentum() >= 0 && options.momentum() < 1,
                    "momentum must be in [0, 1), got ", options.momentum());
  TORCH_CHECK_VALUE(!options.nesterov() || options.momentum() > 0, "Nesterov momentum needs momentum > 0, got ",
                    options.momentum());
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    const std::vector<std::shared_ptr<torch::nn::Module>>& modules, const OptimizerOptions& options) {
  validate(options);
  std::vector<torch::Tensor> decayed, not_decayed;
  for (const auto& module : modules) {
    for (const auto& p : module->parameters()) {
      if (!p.requires_grad()) continue;
      (p.dim() >= 2 ? decayed : not_decayed).push_back(p);
    }
  }
  const std::string& name = options.name();
  auto groups = [&](auto base) {
    using Opts = decltype(base);
    std::vector<torch::optim::OptimizerParamGroup> result;
    result.emplace_back(decayed, std::make_unique<Opts>(Opts(base).weight_decay(options.weight_decay())));
    result.emplace_back(not_decayed, std::make_unique<Opts>(Opts(base).weight_decay(0.0)));
    return result;
  };
  if (name == "adam") {
    const auto base = torch::optim::AdamOptions(options.lr());
    return std::make_unique<torch::optim::Adam>(groups(base), base);
  }
  if (name == "adamw") {
    const auto base = torch::optim::AdamWOptions(options.lr());
    return std::make_unique<torch::optim::AdamW>(groups(base), base);
  }
  if (name == "sgd") {
    const auto base = torch::optim::SGDOptions(options.lr()).momentum(options.momentum()).nesterov(options.nesterov());
    return std::make_unique<torch::optim::SGD>(groups(base), base);
  }
  if (name == "lars") {
    const auto base = LARSOptions(options.lr()).momentum(options.momentum()).nesterov(options.nesterov());
    std::vector<torch::optim::OptimizerParamGroup> lars_groups;
    lars_groups.emplace_back(decayed, std::make_unique<LARSOptions>(LARSOptions(base).weight_decay(options.weight_decay())));
    lars_groups.emplace_back(not_decayed, std::make_unique<LARSOptions>(LARSOptions(base).adapt(false)));
    return std::make_unique<LARS>(std::move(lars_groups), base);
  }
  TORCH_CHECK_VALUE(false, "unknown optimizer '", name, "': expected one of adam, adamw, sgd, lars");
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace ssl::trainers
