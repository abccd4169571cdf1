// A distilled set as the stages after distillation see it (ARCHITECTURE.md: distill's one
// public header for evaluation): its metadata, what it stores, and the training pairs it
// stands for, decoded once. The parameterization and approximation networks stay inside
// distill/; evaluation and the baselines meet them only through the set file.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "ssdd/data/views.h"

namespace ssdd::distill {

// The training pairs a set stands for (SPEC 4): every predefined view of every image with
// its view's target, T*m rows, view-major (row v*m + i is view v of image i). Evaluation's
// pretraining trains on exactly these and `ssdd export` writes exactly these.
struct ViewPairs {
  at::Tensor images;   // T*m x C x H x W float, in the source's normalised space
  at::Tensor targets;  // T*m x d float
  at::Tensor view;     // T*m int64: the predefined view (0 = identity), on the CPU
  at::Tensor index;    // T*m int64: the row of the set the view came from, on the CPU
};

struct SetFile {
  std::string path;
  nlohmann::json meta;                  // method, data, shape, teacher_id, storage, ...
  int64_t images = 0;                   // m
  int64_t views = 0;                    // T
  double stored_image_equivalents = 0;  // every float the file ships, in images (storage.h)
  std::string storage_table;            // the same, one line per stored tensor
  bool approximation = false;           // holds approximation networks (SPEC 5)
  ViewPairs pairs;                      // decoded without a graph, detached

  int64_t target_dim() const { return pairs.targets.size(1); }
};

// Loads the file (checksum checked: a damaged file is refused, naming it) and decodes it.
SetFile read_set_file(const std::string& path);

// Writes a set of stored images and targets, the baselines' form: images m x C x H x W
// (normalised), targets m x d or, one per view, T*m x d view-major. `meta` as the producer
// describes it; the storage breakdown is added. Returns what was written, as read_set_file
// would give it.
SetFile write_explicit_set(const std::string& path, const at::Tensor& images, const at::Tensor& targets,
                           const std::vector<data::View>& views, nlohmann::json meta);

}  // namespace ssdd::distill
