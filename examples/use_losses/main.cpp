// Computes every loss of an installed sslkit::losses on fixed embeddings and prints them (the install test checks
// the values against their references in tests/install/use_losses.cmake).
#include <sslkit/losses.h>

#include <torch/torch.h>

#include <cstdio>
#include <vector>

int main() {
  namespace L = ssl::losses;
  const auto z1 = torch::tensor({{1.0, 0.0}, {1.0, 1.0}}, torch::kDouble);
  const auto z2 = torch::tensor({{0.0, 1.0}, {1.0, -1.0}}, torch::kDouble);
  const double info_nce = L::info_nce(z1, z2, L::InfoNCEOptions().temperature(0.5)).item<double>();
  const auto nt_xent_options = L::NTXentOptions().temperature(0.5);
  const double nt_xent = L::nt_xent(z1, z2, nt_xent_options).item<double>();
  const double multi_view = L::multi_view_nt_xent({z1, z2, z1 + z2}, nt_xent_options).item<double>();
  std::printf("nt_xent %.6f\ninfo_nce %.6f\nmulti_view_nt_xent %.6f\n", nt_xent, info_nce, multi_view);

  const double barlow = L::barlow_twins(z1, z2, L::BarlowTwinsOptions().off_diagonal_weight(0.0051)).item<double>();
  auto vicreg_options = L::VICRegOptions().invariance_weight(25).variance_weight(25).covariance_weight(1);
  const double vicreg = L::vicreg(z1, z2, vicreg_options.epsilon(1e-4)).item<double>();
  const double negative_cosine = L::negative_cosine(z1, z1 + z2).item<double>();
  const std::vector<torch::Tensor> student = {z1, z2, z1 + z2}, teacher = {z2, z1};
  const auto center = torch::zeros({2}, torch::kDouble);
  const auto dino_options = L::DINOOptions().student_temperature(0.1).teacher_temperature(0.04);
  const double dino = L::dino(student, teacher, center, dino_options).item<double>();
  const auto new_center = L::dino_center_update(center, teacher, 0.9);
  const auto codes = L::sinkhorn((z1 - z2) * 0.05, L::SinkhornOptions().epsilon(0.05).iterations(3));
  std::printf("barlow_twins %.6f\nvicreg %.6f\nnegative_cosine %.6f\ndino %.6f\n", barlow, vicreg, negative_cosine,
              dino);
  std::printf("dino_center %.6f %.6f\nsinkhorn_row0 %.6f %.6f\n", new_center[0].item<double>(),
              new_center[1].item<double>(), codes[0][0].item<double>(), codes[0][1].item<double>());
  return 0;
}
