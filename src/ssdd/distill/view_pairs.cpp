#include "ssdd/distill/view_pairs.h"

#include <torch/torch.h>

#include "ssdd/distill/distilled_set.h"

namespace ssdd::distill {

ViewPairs view_pairs(DistilledSet& set) {
  torch::NoGradGuard no_grad;
  ViewPairs p;
  p.images = set.view_images().detach();
  p.targets = set.view_targets().detach();
  const int64_t m = set.size(), rows = m * set.views();
  const at::Tensor row = torch::arange(rows, torch::kLong);
  p.view = row.div(m, "floor");
  p.index = row.remainder(m);
  return p;
}

}  // namespace ssdd::distill
