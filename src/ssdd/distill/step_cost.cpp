#include "ssdd/distill/step_cost.h"

#include "ssdd/core/error.h"

namespace ssdd::distill {
namespace {

// Feature width p of the ConvNet (with the bias column) and its forward multiply-adds.
struct ConvNetCost {
  double macs = 0;
  double features = 0;
};

ConvNetCost convnet_cost(const StepShape& s) {
  if (s.widths.empty()) throw ConfigError("bench", "the ConvNet needs at least one block");
  ConvNetCost cost;
  double h = static_cast<double>(s.height), w = static_cast<double>(s.width);
  double in = static_cast<double>(s.channels);
  for (int64_t out : s.widths) {
    cost.macs += h * w * in * static_cast<double>(out) * 9;
    in = static_cast<double>(out);
    h = static_cast<double>(static_cast<int64_t>(h) / 2);
    w = static_cast<double>(static_cast<int64_t>(w) / 2);
  }
  cost.features = in * h * w + 1;
  return cost;
}

}  // namespace

double convnet_forward_flops(const StepShape& shape) { return 2 * convnet_cost(shape).macs; }

StepFlops step_flops(const StepShape& shape) {
  const ConvNetCost net = convnet_cost(shape);
  const double f = 2 * net.macs, p = net.features, d = static_cast<double>(shape.rep_dim);
  const double s = static_cast<double>(shape.views * shape.distilled);
  const double r = static_cast<double>(shape.views * shape.real);
  StepFlops flops;
  flops.real_forward = f * r;
  flops.distilled_outer = 2 * f * s;
  flops.regression = 3 * (2 * s * s * p + 2 * r * s * p + s * s * s / 3 + 2 * s * s * d + 2 * r * s * d);
  flops.inner = 3 * f * s + 6 * s * p * d;
  return flops;
}

}  // namespace ssdd::distill
