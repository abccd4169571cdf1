// The training pairs a distilled set stands for (SPEC 4): every predefined view of every
// image with its view's target, T*m rows, view-major (row v*m + i is view v of image i).
// Evaluation's pretraining trains on exactly these, and `ssdd export` writes exactly these:
// one decoder for both.
#pragma once
#include <ATen/core/Tensor.h>

namespace ssdd::distill {

class DistilledSet;

struct ViewPairs {
  at::Tensor images;   // T*m x C x H x W float, in the source's normalised space
  at::Tensor targets;  // T*m x d float
  at::Tensor view;     // T*m int64: the predefined view (0 = identity), on the CPU
  at::Tensor index;    // T*m int64: the row of the set the view came from, on the CPU
};

// Decoded without a graph and detached: nothing flows back into the set.
ViewPairs view_pairs(DistilledSet& set);

}  // namespace ssdd::distill
