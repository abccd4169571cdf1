// Deliberate faults, for the reliability tests (tests/test_faults.cpp, docs/reliability.md).
// One point is armed by the environment, SSDD_INJECT_FAULT="<point>@<n>"; nothing else ever
// triggers one, and an unarmed check is one integer comparison. Points:
//   distill.nan_loss@N           the outer loss of iteration N becomes NaN
//   distill.exploding_gradient@N the distilled set's gradient is scaled by 1e30 at iteration N
//   <stage>.nan_loss@N           a training loop's loss at step N becomes NaN (stage: teacher,
//                                pretrain, ...: the name the loop reports)
//   evaluate.freeze@N            the process stops itself (SIGSTOP) once it has recorded
//                                N grid cells: a rank that hangs, for the launcher's tests
#pragma once
#include <string_view>

namespace ssdd {

// True when SSDD_INJECT_FAULT arms `point` at `n`.
bool fault_at(std::string_view point, long long n);

}  // namespace ssdd
