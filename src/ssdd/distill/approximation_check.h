// How well a set's approximation networks (SPEC 5) stand in for the teacher on real images
// they never saw: for each non-identity view t, q_t applied to the teacher's representation
// of x, against the teacher's representation of the rotated a_t(x) itself (issue 10's report).
#pragma once
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "ssdd/data/dataset.h"
#include "ssdd/io/set_metrics.h"
#include "ssdd/teacher/teacher.h"

namespace ssdd::distill {

class DistilledSet;

// Each figure is an R^2 against the view's true representations g(a_t(x)) over the images:
// 1 - sum |prediction - truth|^2 / sum |truth - mean truth|^2. The record is metrics.json's
// (io/set_metrics.h), which report/ reads.
using ApproximationViewCheck = io::ViewApproximation;

// identity_reps: g(x) (n x d); view_reps[t - 1]: g(a_t(x)) for views 1..T-1. Empty when the
// set has no approximation networks.
std::vector<ApproximationViewCheck> check_approximation(DistilledSet& set, const at::Tensor& identity_reps,
                                                        const std::vector<at::Tensor>& view_reps);

// The same on the first `images` of a held-out split (the source's test split), the
// teacher's representations of each view coming from its cache (teacher/representations.h); with
// r2_distilled filled in from the set's own images.
std::vector<ApproximationViewCheck> check_approximation_heldout(DistilledSet& set, const teacher::Teacher& t,
                                                                const std::string& data, const data::ImageSet& heldout,
                                                                c10::Device device, int64_t images = 2000);

// The same for the set in a file (`ssdd inspect --teacher`).
std::vector<ApproximationViewCheck> check_approximation_heldout(const std::string& set_path,
                                                                const teacher::Teacher& t, const std::string& data,
                                                                const data::ImageSet& heldout, c10::Device device,
                                                                int64_t images = 2000);

// One line: "rot90 0.812 / 0.400 / 0.950 / 0.990 ..." (networks / no shift / basis
// ceiling / networks in sample).
std::string summary_line(const std::vector<ApproximationViewCheck>& checks);

}  // namespace ssdd::distill
