// The approximation networks after distillation (SPEC 5): fitted to the learned per-view
// targets (approx_fit = after, the paper's order), or re-fitted to the teacher's view of the
// final images (approx_fit = joint). Their pre-fit on real images is part of the initial set
// (initial_set.cpp); their joint training is the outer step's.
#pragma once
#include "ssdd/distill/distilled_set.h"
#include "ssdd/distill/distiller.h"
#include "ssdd/io/run_log.h"
#include "ssdd/teacher/teacher.h"

namespace ssdd::distill {

// The set that ships: `set` itself after a re-fit of its networks (joint), or the identity
// view's rows with networks fitted to the other views' (after). A no-op without networks.
DistilledSet finish_approximation(DistilledSet& set, const teacher::Teacher& t, const DistillConfig& c,
                                  io::RunLog& log);

}  // namespace ssdd::distill
