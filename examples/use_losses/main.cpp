// Computes NT-Xent and InfoNCE on fixed embeddings with an installed sslkit::losses and prints them.
#include <sslkit/losses.h>

#include <torch/torch.h>

#include <cstdio>

int main() {
  namespace L = ssl::losses;
  const auto z1 = torch::tensor({{1.0, 0.0}, {1.0, 1.0}}, torch::kDouble);
  const auto z2 = torch::tensor({{0.0, 1.0}, {1.0, -1.0}}, torch::kDouble);
  const double nt_xent = L::nt_xent(z1, z2, L::NTXentOptions().temperature(0.5)).item<double>();
  const double info_nce = L::info_nce(z1, z2, L::InfoNCEOptions().temperature(0.5)).item<double>();
  std::printf("nt_xent %.6f\ninfo_nce %.6f\n", nt_xent, info_nce);
  return 0;
}
