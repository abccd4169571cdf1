// The arithmetic of one distillation iteration, counted from the layer shapes, so a
// measured time can be set against the machine's rate. No LibTorch.
//
// ConvNet of blocks w_1..w_D (3x3 convolution with padding 1, then 2x2 pooling) on
// C x H x W images: multiply-adds per image c = sum_l H_l W_l w_{l-1} w_l 9 (H_l, W_l
// the block's input size, halved after each block; w_0 = C); forward FLOPs F = 2c;
// feature width p = w_D H_D W_D + 1 (the bias column). With s = T m distilled views,
// r = T n real views and target dimension d:
//   real_forward     F r                     (no graph)
//   distilled_outer  2 F s                   (forward + input-gradient backward; the
//                                             model's weights take no gradient)
//   regression       3 (2 s^2 p + 2 r s p + s^3/3 + 2 s^2 d + 2 r s d)
//                    (kernels, Cholesky, solve, prediction; backward about twice forward)
//   inner            3 F s + 6 s p d         (forward + data and weight gradients, and
//                                             the linear head)
// Normalisation, activations, pooling and the optimisers' element-wise updates are not
// counted (a few percent at these shapes).
#pragma once
#include <cstdint>
#include <vector>

namespace ssdd::distill {

struct StepShape {
  int64_t distilled = 100;  // m
  int64_t real = 256;       // n, real images per outer step
  int64_t views = 1;        // T
  int64_t channels = 1, height = 28, width = 28;
  std::vector<int64_t> widths{64, 64, 64};
  int64_t rep_dim = 512;    // d
};

struct StepFlops {
  double real_forward = 0, distilled_outer = 0, regression = 0, inner = 0;
  double total() const { return real_forward + distilled_outer + regression + inner; }
};

// Forward FLOPs of one image through the ConvNet (F above).
double convnet_forward_flops(const StepShape& shape);
StepFlops step_flops(const StepShape& shape);

}  // namespace ssdd::distill
