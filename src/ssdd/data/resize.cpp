#include "ssdd/data/resize.h"

#include <algorithm>
#include <cmath>
#include <vector>
#include <torch/torch.h>

#include "ssdd/core/error.h"

namespace ssdd::data {

at::Tensor resize_weights(int64_t in, int64_t out) {
  if (in <= 0 || out <= 0) throw ConfigError("resize", "sizes must be positive, got " + std::to_string(in) + " -> " + std::to_string(out));
  std::vector<double> m(static_cast<size_t>(out * in), 0.0);
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  for (int64_t i = 0; i < out; ++i) {
    double* row = m.data() + i * in;
    if (out <= in) {
      // Area: output pixel i covers input [i * scale, (i + 1) * scale).
      const double lo = i * scale, hi = (i + 1) * scale;
      for (auto j = static_cast<int64_t>(std::floor(lo)); j < std::min<int64_t>(in, static_cast<int64_t>(std::ceil(hi))); ++j)
        row[j] = (std::min(hi, j + 1.0) - std::max(lo, static_cast<double>(j))) / scale;
    } else {
      // Bilinear: output centre i + 0.5 sits at input coordinate (i + 0.5) * scale - 0.5.
      const double src = std::clamp((i + 0.5) * scale - 0.5, 0.0, static_cast<double>(in - 1));
      const auto j0 = static_cast<int64_t>(std::floor(src));
      const int64_t j1 = std::min(j0 + 1, in - 1);
      const double frac = src - j0;
      row[j0] += 1.0 - frac;
      row[j1] += frac;
    }
  }
  return torch::tensor(m, torch::kDouble).view({out, in}).to(torch::kFloat);
}

at::Tensor resize_pixels(const at::Tensor& images, int64_t height, int64_t width) {
  if (images.dim() == 3) return resize_pixels(images.unsqueeze(0), height, width).squeeze(0);
  if (images.dim() != 4) throw ConfigError("resize", "expects C x H x W or N x C x H x W images");
  if (images.size(2) == height && images.size(3) == width) return images;
  const at::Tensor rows = resize_weights(images.size(2), height);            // height x H
  const at::Tensor cols = resize_weights(images.size(3), width).t().contiguous();  // W x width
  const int64_t n = images.size(0);
  at::Tensor out = torch::empty({n, images.size(1), height, width}, torch::kUInt8);
  const int64_t chunk = 512;  // bounds the float copy's memory
  for (int64_t s = 0; s < n; s += chunk) {
    const int64_t e = std::min(n, s + chunk);
    at::Tensor x = images.slice(0, s, e).to(torch::kCPU, torch::kFloat);
    x = torch::matmul(torch::matmul(rows, x), cols);
    out.slice(0, s, e).copy_(x.round_().clamp_(0, 255).to(torch::kUInt8));
  }
  return out;
}

}  // namespace ssdd::data
