#include "ssdd/data/crop_flip.h"

#include <torch/torch.h>

namespace ssdd::data {

at::Tensor random_crop_flip(const at::Tensor& x, int64_t padding, at::Generator& gen) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const auto padded = torch::constant_pad_nd(x, {padding, padding, padding, padding}, 0);
  const auto cpu_long = torch::TensorOptions().dtype(torch::kLong);
  const auto dy = torch::randint(0, 2 * padding + 1, {n, 1, 1, 1}, gen, cpu_long).to(x.device());
  const auto dx = torch::randint(0, 2 * padding + 1, {n, 1, 1, 1}, gen, cpu_long).to(x.device());
  const auto flip = torch::rand({n, 1, 1, 1}, gen).lt(0.5).to(x.device());
  const auto rows = (dy + torch::arange(h, cpu_long.device(x.device())).view({1, 1, h, 1})).expand({n, c, h, w + 2 * padding});
  auto out = padded.gather(2, rows);
  auto cols = torch::arange(w, cpu_long.device(x.device())).view({1, 1, 1, w});
  cols = torch::where(flip, (w - 1) - cols, cols);  // a flip is a reversed column order
  return out.gather(3, (dx + cols).expand({n, c, h, w}));
}

}  // namespace ssdd::data
