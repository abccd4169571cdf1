// Where a distillation run starts (distiller.h): the checks made before anything large is
// allocated, the teacher's targets of every view, and the initial set of either method.
// Internal to distill/.
#pragma once
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "ssdd/data/registry.h"
#include "ssdd/data/views.h"
#include "ssdd/distill/distilled_set.h"
#include "ssdd/distill/distiller.h"
#include "ssdd/distill/storage.h"
#include "ssdd/models/image_shape.h"
#include "ssdd/train/distributed.h"

namespace ssdd::io {
class RunLog;
}
namespace ssdd::teacher {
struct Teacher;
}

namespace ssdd::distill {

// Whether the set, once distilled, ships approximation networks q_t in place of the
// rotated views' targets: `ours` with the networks on and more than the identity view.
bool ships_approximation(const DistillConfig& c, size_t view_count);

// What an `ours` set of this config is made of, for its storage accounting (SPEC 6).
OursSizes ours_sizes(const DistillConfig& c, const models::ImageShape& image, int64_t rep_dim,
                     const std::vector<data::View>& views);

// Before anything large is made: the set's m fits the source's training set, and the run's
// estimated peak memory fits the machine (memory_estimate.h).
void check_size_and_memory(const DistillConfig& c, const data::ImageSet& train, int64_t rep_dim, c10::Device device);

// Teacher representations of every view of the source train split (cached on disk), computed
// in slices by the ranks of `shared_by` when set (teacher/representations.h).
std::vector<at::Tensor> view_representations(const teacher::Teacher& t, const std::string& data,
                                             const data::ImageSet& train, const std::vector<data::View>& views,
                                             c10::Device device, train::ProcessGroup* shared_by = nullptr);

// The starting distilled set of either method (SPEC 2 for krrst, SPEC 3-5 for ours).
DistilledSet initial_set(const DistillConfig& c, const data::DatasetSplits& splits,
                         const std::vector<data::View>& views, const std::vector<at::Tensor>& reps,
                         at::Generator& gen, c10::Device device, io::RunLog& log);

}  // namespace ssdd::distill
