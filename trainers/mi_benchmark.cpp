#include "sslkit/trainers/mi_benchmark.h"

#include "sslkit/losses/barlow_twins.h"
#include "sslkit/losses/critics.h"
#include "sslkit/losses/dino.h"
#include "sslkit/losses/info_nce.h"
#include "sslkit/losses/mi_bounds.h"
#include "sslkit/losses/negative_cosine.h"
#include "sslkit/losses/nt_xent.h"
#include "sslkit/losses/sinkhorn.h"
#include "sslkit/losses/vicreg.h"
#include "sslkit/ssl/device.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace ssl::trainers {
namespace {

namespace L = ssl::losses;
using Clock = std::chrono::steady_clock;

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

/// A critic of either architecture behind one call.
struct Critic {
  std::shared_ptr<torch::nn::Module> module;
  std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)> score;
};

Critic make_critic(const MIBenchmarkOptions& o, torch::Device device) {
  const auto critic_options =
      L::CriticOptions(o.dim(), o.dim()).hidden_dim(o.hidden_dim()).layers(o.layers()).embed_dim(o.embed_dim());
  if (o.critic() == "separable") {
    L::SeparableCritic critic(critic_options);
    critic->to(device);
    return {critic.ptr(), [critic](const torch::Tensor& x, const torch::Tensor& y) mutable { return critic(x, y); }};
  }
  if (o.critic() == "concat") {
    L::ConcatCritic critic(critic_options);
    critic->to(device);
    return {critic.ptr(), [critic](const torch::Tensor& x, const torch::Tensor& y) mutable { return critic(x, y); }};
  }
  TORCH_CHECK(false, "unknown critic '", o.critic(), "': expected one of separable, concat");
}

/// The objective to maximize and the MI estimate of one batch of scores, for one bound.
struct Step {
  torch::Tensor objective;
  double estimate;
};

Step evaluate(const std::string& bound, const torch::Tensor& scores, L::MINE& mine) {
  // The JSD objective is not in nats: its critic's MI estimate is NWJ at scores + 1 (see mi_jsd).
  if (bound == "js") return {L::mi_jsd(scores), L::mi_nwj(scores.detach() + 1).item<double>()};
  const auto value = bound == "infonce" ? L::mi_infonce(scores)
                     : bound == "nwj"   ? L::mi_nwj(scores)
                     : bound == "dv"    ? L::mi_dv(scores)
                                        : mine(scores);
  return {value, value.item<double>()};
}

}  // namespace

std::vector<std::string> mi_bound_names() { return {"infonce", "nwj", "js", "dv", "mine"}; }

double correlation_for_mi(double mi, int64_t dim) {
  return std::sqrt(1 - std::exp(-2 * mi / static_cast<double>(dim)));
}

std::vector<MIBenchmarkRow> run_mi_benchmark(const MIBenchmarkOptions& o,
                                             const std::function<void(const MIBenchmarkRow&)>& on_row) {
  const auto valid = mi_bound_names();
  for (const auto& bound : o.bounds()) {
    TORCH_CHECK(std::find(valid.begin(), valid.end(), bound) != valid.end(), "unknown MI bound '", bound,
                "': expected one of ", join(valid));
  }
  TORCH_CHECK(o.critic() == "separable" || o.critic() == "concat", "unknown critic '", o.critic(),
              "': expected one of separable, concat");
  TORCH_CHECK(o.dim() > 0 && o.batch_size() >= 2 && o.steps() > 0 && o.lr() > 0,
              "MI benchmark needs dim > 0, batch_size >= 2, steps > 0 and lr > 0, got dim ", o.dim(), ", batch_size ",
              o.batch_size(), ", steps ", o.steps(), ", lr ", o.lr());
  for (double mi : o.true_mi()) TORCH_CHECK(mi > 0, "true MI values must be > 0 nats, got ", mi);
  const auto device = resolve_device(o.device());
  const int64_t last = std::clamp<int64_t>(o.average_last(), 1, o.steps());

  std::vector<MIBenchmarkRow> rows;
  for (const auto& bound : o.bounds()) {
    for (double mi : o.true_mi()) {
      const auto start = Clock::now();
      torch::manual_seed(o.seed());
      auto critic = make_critic(o, device);
      L::MINE mine;
      mine->to(device);
      torch::optim::Adam adam(critic.module->parameters(), torch::optim::AdamOptions(o.lr()));
      const double rho = correlation_for_mi(mi, o.dim());
      std::vector<double> estimates;
      for (int64_t step = 0; step < o.steps(); ++step) {
        const auto x = torch::randn({o.batch_size(), o.dim()}, torch::TensorOptions().device(device));
        const auto y = rho * x + std::sqrt(1 - rho * rho) * torch::randn_like(x);
        const auto result = evaluate(bound, critic.score(x, y), mine);
        adam.zero_grad();
        (-result.objective).backward();
        adam.step();
        if (step >= o.steps() - last) estimates.push_back(result.estimate);
      }
      double mean = 0, variance = 0;
      for (double e : estimates) mean += e / static_cast<double>(estimates.size());
      for (double e : estimates) variance += (e - mean) * (e - mean) / static_cast<double>(estimates.size());
      rows.push_back({bound, o.critic(), mi, mean, variance, seconds_since(start)});
      if (on_row) on_row(rows.back());
    }
  }
  return rows;
}

std::string format_mi_table(const std::vector<MIBenchmarkRow>& rows, int64_t batch_size) {
  std::vector<std::vector<std::string>> cells;
  for (const auto& r : rows) {
    cells.push_back({r.bound, r.critic, fixed(r.true_mi, 1), fixed(r.estimate, 3), fixed(r.variance, 3),
                     fixed(r.seconds, 1)});
  }
  return format_table({"bound", "critic", "true MI", "estimate", "variance", "seconds"}, cells) +
         "(nats; log N = " + fixed(std::log(static_cast<double>(batch_size)), 3) + " for N = " +
         std::to_string(batch_size) + ")\n";
}

std::vector<LossTiming> run_loss_benchmark(const LossBenchmarkOptions& o,
                                           const std::function<void(const LossTiming&)>& on_row) {
  TORCH_CHECK(o.dim() > 0 && o.repeats() > 0 && o.queue_size() > 0,
              "loss benchmark needs dim, repeats and queue_size > 0, got ", o.dim(), ", ", o.repeats(), " and ",
              o.queue_size());
  const auto device = resolve_device(o.device());
  torch::manual_seed(o.seed());
  const auto make = [&](int64_t n) { return torch::randn({n, o.dim()}, torch::TensorOptions().device(device)); };
  const auto queue = make(o.queue_size());
  const auto center = torch::zeros({o.dim()}, torch::TensorOptions().device(device));
  using Tensor = torch::Tensor;
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&, const Tensor&)>>> losses = {
      {"nt_xent", [](const Tensor& a, const Tensor& b) { return L::nt_xent(a, b); }},
      {"info_nce", [](const Tensor& a, const Tensor& b) { return L::info_nce(a, b); }},
      {"info_nce+queue", [&](const Tensor& a, const Tensor& b) { return L::info_nce(a, b, queue); }},
      {"barlow_twins", [](const Tensor& a, const Tensor& b) { return L::barlow_twins(a, b); }},
      {"vicreg", [](const Tensor& a, const Tensor& b) { return L::vicreg(a, b); }},
      {"negative_cosine", [](const Tensor& a, const Tensor& b) { return L::negative_cosine(a, b); }},
      // D plays K: two student and two teacher crops, both pairs (t, s != t).
      {"dino", [&](const Tensor& a, const Tensor& b) { return L::dino({a, b}, {b, a}, center); }},
      // SwAV's swapped prediction with K = D scores: codes of b (no gradient) against the softmax of a.
      {"sinkhorn+swap", [](const Tensor& a, const Tensor& b) {
         return -(L::sinkhorn(b) * torch::log_softmax(a / 0.1, 1)).sum(1).mean();
       }},
  };
  std::vector<LossTiming> rows;
  for (const auto& [name, loss] : losses) {
    for (int64_t n : o.sizes()) {
      TORCH_CHECK(n >= 2, "loss benchmark sizes must be >= 2 (batch statistics), got ", n);
      const auto a = make(n).requires_grad_();
      const auto b = make(n);
      std::vector<double> times;
      for (int64_t r = 0; r <= o.repeats(); ++r) {  // r = 0 is the warm-up
        a.mutable_grad() = torch::Tensor();
        const auto start = Clock::now();
        loss(a, b).backward();
        a.grad()[0][0].item<double>();  // waits for asynchronous devices
        if (r > 0) times.push_back(1e3 * seconds_since(start));
      }
      std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
      rows.push_back({name, n, o.dim(), times[times.size() / 2]});
      if (on_row) on_row(rows.back());
    }
  }
  return rows;
}

std::string format_loss_table(const std::vector<LossTiming>& rows) {
  std::vector<std::vector<std::string>> cells;
  for (const auto& r : rows) {
    cells.push_back({r.loss, std::to_string(r.n), std::to_string(r.d), fixed(r.milliseconds, 2)});
  }
  return format_table({"loss", "N", "D", "fwd+bwd ms"}, cells);
}

std::string format_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  const auto numeric = [](const std::string& s) {
    return !s.empty() && s.find_first_not_of("0123456789.-+e") == std::string::npos;
  };
  std::ostringstream out;
  const auto line = [&](const std::vector<std::string>& cells) {
    for (size_t c = 0; c < width.size(); ++c) {
      const std::string cell = c < cells.size() ? cells[c] : "";
      const std::string pad(width[c] - cell.size(), ' ');
      out << (c ? "  " : "") << (numeric(cell) ? pad + cell : cell + (c + 1 < width.size() ? pad : ""));
    }
    out << "\n";
  };
  line(header);
  std::vector<std::string> rule;
  for (size_t w : width) rule.emplace_back(w, '-');
  line(rule);
  for (const auto& row : rows) line(row);
  return out.str();
}

}  // namespace ssl::trainers
