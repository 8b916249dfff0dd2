#include "sslkit/trainers/optim.h"

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

namespace ssl::trainers {

std::vector<std::string> optimizer_names() { return {"adam", "adamw", "sgd"}; }

std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    const std::vector<std::shared_ptr<torch::nn::Module>>& modules, const OptimizerOptions& options) {
  TORCH_CHECK(options.lr() > 0, "learning rate must be > 0, got ", options.lr());
  TORCH_CHECK(options.weight_decay() >= 0, "weight decay must be >= 0, got ", options.weight_decay());
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
    TORCH_CHECK(!options.nesterov() || options.momentum() > 0, "Nesterov SGD needs momentum > 0, got ",
                options.momentum());
    const auto base = torch::optim::SGDOptions(options.lr()).momentum(options.momentum()).nesterov(options.nesterov());
    return std::make_unique<torch::optim::SGD>(groups(base), base);
  }
  TORCH_CHECK(false, "unknown optimizer '", name, "': expected one of adam, adamw, sgd");
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace ssl::trainers
