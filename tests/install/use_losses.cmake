# Script of the install.use_losses test (cmake -P): examples/use_losses against the moved prefix.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
build_and_run_example(use_losses)
# Reference: the nt_xent test's SimCLR value and F.cross_entropy(F.normalize(z1) @ F.normalize(z2).T / 0.5,
# arange(2)) for z1 = [[1, 0], [1, 1]], z2 = [[0, 1], [1, -1]].
# multi_view_nt_xent over {z1, z2, z1 + z2} at tau 0.5, in float64 from solo-learn's expression: the mean over
# the 6 normalized rows k of -log(sum_{j != k, same image} e_kj / sum_{j != k} e_kj), e_kj = exp(cos_kj / 0.5).
# The others, by hand in float64 (independent Python loops over the official definitions, z12 = z1 + z2):
#   barlow_twins: z1n = [[0, -r], [0, r]], z2n = [[-r, u], [r, -u]] with r = 0.5 / sqrt(0.25 + 1e-5),
#     u = 1 / sqrt(1 + 1e-5); c = [[0, 0], [r^2, -r u]]; 1 + (1 + r u)^2 + 0.0051 r^4 = 5.0049996;
#   vicreg: 25 * mse 1.5 + 25 * (0.641411 / 2 + 0.146411 / 2) + (0 + 1) = 48.347781;
#   negative_cosine(z1, z12) = -(1/sqrt(2) + 1/sqrt(2)) / 2; dino over student {z1, z2, z12}, teacher {z2, z1},
#   center 0, tau 0.1 / 0.04: mean over the 4 pairs s != t of mean_n -sum q log p = 1.509942;
#   dino_center_update(0, {z2, z1}, 0.9) = 0.1 * mean of the 4 rows = (0.075, 0.025); sinkhorn of
#   (z1 - z2) * 0.05 at eps 0.05, 3 iterations, row 0 = (0.903604, 0.096396).
string(CONCAT expected "nt_xent 1\\.950183\ninfo_nce 1\\.631835\nmulti_view_nt_xent 1\\.013498\n"
                     "barlow_twins 5\\.005000\nvicreg 48\\.347781\n"
                     "negative_cosine -0\\.707107\ndino 1\\.509942\ndino_center 0\\.075000 0\\.025000\n"
                     "sinkhorn_row0 0\\.903604 0\\.096396")
if(NOT step_output MATCHES "${expected}")
  message(FATAL_ERROR "unexpected output of use_losses:\n${step_output}")
endif()
