// 3x3 convolutions (stride 1, padding 1) by Winograd's F(4x4, 3x3) algorithm, through oneDNN
// called directly (issue 28; docs/performance-log.md section 14).
//
// LibTorch runs every convolution with oneDNN's direct algorithm and offers no way to ask for
// another. oneDNN 2.6 also ships a Winograd implementation for AVX-512 CPUs that spends about
// 2.25x fewer multiplications on a 3x3 filter. Where channels are wide (64 in and 128 out or
// more) it runs the forward pass, the input gradient and the weight gradient 1.3-2.5x faster
// than the direct kernels on this project's machines; where they are narrow its transforms
// cost more than they save, so the rule below keeps it to the wide layers. Its rounding differs
// from the direct algorithm's by 1e-6 to 5e-6 of a map's largest value (tests/test_winograd_conv.cpp).
//
// Built only where oneDNN's headers are found at configure time (Debian's libdnnl-dev, the
// library LibTorch itself links); elsewhere, and on CPUs without AVX-512, winograd_pays is
// false and conv3x3 is LibTorch's convolution.
#pragma once
#include <ATen/core/Tensor.h>

namespace ssdd::models {

// Whether conv3x3 takes the Winograd path for this input and weight: float CPU tensors,
// x of N x C x H x W with H, W >= 8, weight of O x C x 3 x 3 with C >= 64 and O >= 128, and an
// implementation of oneDNN's for the shape on this CPU. Depends only on the shapes and the CPU,
// so a run is repeatable on a given machine. Not under CPU autocast (train/autocast.h): there
// LibTorch's convolution runs, in the precision autocast asks for, even on an fp32 input.
bool winograd_pays(const at::Tensor& x, const at::Tensor& weight);

// conv2d(x, weight, bias, stride 1, padding 1), differentiable in x, weight and bias (undefined:
// none). The Winograd path where winograd_pays and `allow_winograd`, LibTorch's convolution
// otherwise. The output is channels-last on the Winograd path.
at::Tensor conv3x3(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, bool allow_winograd = true);

// The Winograd path itself; requires winograd_pays(x, weight). For tests and benchmarks.
at::Tensor winograd_conv3x3(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

}  // namespace ssdd::models
