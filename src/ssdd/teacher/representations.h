// Teacher representations of a whole source split under each predefined view, computed
// once and cached on disk next to the teacher (SPEC section 4):
//   <teacher folder>/reps/<data>-<split>-<view>.pt   {"reps": n x d, "__key__": text, "__checksum__": text}
// The key (teacher id and weights digest, data set, split, view, image count) and the
// checksum (io/tensor_checksum.h) are checked on load, so a stale or damaged file is
// recomputed, never trusted.
#pragma once
#include <string>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "ssdd/data/views.h"
#include "ssdd/teacher/teacher.h"
#include "ssdd/train/distributed.h"

namespace ssdd::teacher {

// images_u8: the split's uint8 images (N x C x H x W, CPU). Returns float n x d on CPU.
// Cached under teacher.dir (load_teacher sets it; Error when it is empty).
// With `shared_by` (issue 26; every rank of the group calls with the same arguments), each
// rank computes its slice of the images, every rank gets the gathered whole, and rank 0
// writes the one cache file.
at::Tensor representations(const Teacher& teacher, const std::string& data, const std::string& split,
                           const at::Tensor& images_u8, const data::View& view, c10::Device device,
                           int64_t batch_size = 512, train::ProcessGroup* shared_by = nullptr);

}  // namespace ssdd::teacher
