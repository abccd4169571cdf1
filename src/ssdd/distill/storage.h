// Storage accounting (SPEC section 6): every float a distilled set ships, counted and
// expressed in image-equivalents (C x H x W floats at full resolution). No LibTorch.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ssdd/io/set_metrics.h"

namespace ssdd::distill {

struct StorageItem {
  std::string name;   // e.g. "image_bases", "image_coeffs", "approx.rot90"
  int64_t floats = 0;
};

struct StorageReport {
  std::vector<StorageItem> items;
  int64_t image_floats = 0;       // C*H*W of one full-resolution image
  int64_t total_floats() const;
  double image_equivalents() const;          // total_floats / image_floats
  const StorageItem& biggest() const;
  io::SetStorage summary() const;            // what metrics.json and a set's metadata record
  nlohmann::json to_json() const;            // summary()'s JSON
  std::string table() const;                 // human-readable breakdown, one line per item
};

// The sizes an "ours" set is built from: parameterized (the method), or, for the "no
// parameterization" ablation, free images and targets with the same views and q_t.
struct OursSizes {
  bool parameterization = true;                   // false: images and targets stored as they are
  int64_t channels = 1, height = 28, width = 28;  // full-resolution images
  int64_t base_height = 14, base_width = 14;      // stored image-basis resolution
  int64_t image_bases = 64;                       // k_x
  int64_t rep_dim = 512;                          // d, the teacher's dimension
  int64_t rep_bases = 32;                         // k_y
  int64_t views = 4;                              // T (identity included)
  int64_t approx_hidden = 16;                     // hidden width of each q_t (on k_y, or on d
                                                  // without parameterization)
  bool approximation = true;                      // false: targets of every view stored
  // Optional names of the T views (e.g. format of parse_views); when given (size T) the
  // approximation items are "approx.<name>" of views 1..T-1, else "approx.<t>".
  std::vector<std::string> view_names;
};

// Floats of one approximation network q_t (k_y -> hidden -> k_y, with biases).
int64_t approx_net_floats(int64_t rep_bases, int64_t hidden);

// Breakdown for m distilled images: image_bases (k_x*C*h*w), image_mean (C*h*w),
// image_coeffs (m*k_x), rep_bases (k_y*d), rep_mean (d), rep_coeffs (m*k_y, times T
// without approximation), approx.<t> for each non-identity view. Without
// parameterization: images (m*C*H*W), targets (m*d, times T without approximation),
// approx.<t> (networks on d).
StorageReport ours_storage(const OursSizes& sizes, int64_t m);

// The largest m whose storage fits `budget` image-equivalents; throws ConfigError when
// even m = 1 does not fit, naming the biggest component and its size.
int64_t max_images_within_budget(const OursSizes& sizes, int64_t budget);

// KRR-ST's set: m images and m targets (m*(C*H*W + d) floats). KRR-ST counts it as m
// images; the report gives the exact float count as well.
StorageReport krrst_storage(int64_t m, int64_t channels, int64_t height, int64_t width, int64_t rep_dim);

// The images of a set of stored images and targets (krrst, the baselines) that fit `budget`
// image-equivalents when its targets count too (count_targets): each image costs its C*H*W
// floats plus `targets_per_image` x d, so m = floor(budget * CHW / (CHW + T*d)). ConfigError
// naming `method` when not one image fits.
int64_t images_with_targets_within_budget(int64_t budget, int64_t image_floats, int64_t targets_per_image,
                                          int64_t rep_dim, const std::string& method);

}  // namespace ssdd::distill
