// The linear probe of a teacher's backbone on its source data set: the one train_teacher
// runs after training (and during it, with probe_every) and `ssdd teacher import` runs once.
#pragma once
#include <cstdint>

#include <c10/core/Device.h>

#include "ssdd/data/registry.h"
#include "ssdd/measure/linear_probe.h"
#include "ssdd/models/encoder.h"

namespace ssdd::teacher {

// Features in eval mode, then the backbone's mode restored: batch-norm statistics are
// untouched, and the probe draws from its own generator (seeded by `seed`).
measure::ProbeResult probe_backbone(models::EncoderImpl& backbone, const data::DatasetSplits& splits,
                                    int64_t epochs, uint64_t seed, c10::Device device);

}  // namespace ssdd::teacher
