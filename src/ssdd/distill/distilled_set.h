// A distilled set, live (being optimised) or loaded from its file. Two forms:
//   explicit       images X_s (m x C x H x W) and targets Y_s (m x d) as free tensors
//                  (krrst, the random / k-means baselines, and the "no parameterization"
//                  ablation of ours, whose approximation networks then act on d);
//   parameterized  bases + coefficients (SPEC 3) with approximation networks (SPEC 5)
//                  for the targets of the predefined views (SPEC 4) (ours).
// Images live in the normalised space of the source data (what networks consume).
//
// File (torch.load gives a dict): the form's tensors (images, targets | image_bases,
// image_coeffs, image_mean, rep_bases, rep_coeffs, rep_mean; approx.* in either form), and "__meta__",
// a uint8 tensor holding JSON: method, form, budget, views, storage breakdown, data set,
// normalisation, image shape, teacher id, m and the sizes; and "__checksum__" over all the
// others (io/tensor_checksum.h), checked by load: a damaged file is refused, naming it.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "ssdd/data/views.h"
#include "ssdd/distill/approximation.h"
#include "ssdd/distill/parameterization.h"
#include "ssdd/distill/storage.h"
#include "ssdd/io/tensor_archive.h"

namespace ssdd::distill {

class DistilledSet {
 public:
  // Targets: m rows (shared by every view, or mapped to each view by `approx`), or T*m
  // rows (every view's target stored, view-major).
  static DistilledSet explicit_form(at::Tensor images, at::Tensor targets, std::vector<data::View> views,
                                    ApproximationNets approx = nullptr);
  // Without approximation networks (`approx` null), param.rep_coeffs holds the targets
  // of every view (T*m rows, view-major): the "stored targets" ablation.
  static DistilledSet parameterized_form(ParameterizedSet param, ApproximationNets approx,
                                         std::vector<data::View> views);

  bool parameterized() const { return param_.has_value(); }
  int64_t size() const;                       // m
  int64_t views() const { return static_cast<int64_t>(views_.size()); }
  const std::vector<data::View>& view_list() const { return views_; }

  at::Tensor images() const;                  // m x C x H x W (decoded; differentiable)
  at::Tensor view_images() const;             // T*m x C x H x W, view-major
  at::Tensor view_targets();                  // T*m x d, view-major (differentiable)
  std::vector<at::Tensor> parameters() const; // everything the outer step optimises
  ParameterizedSet* param() { return param_ ? &*param_ : nullptr; }
  ApproximationNets approx() const { return approx_; }
  // What the networks q_t read: the representation coefficients C_y (parameterized), or
  // the stored targets Y_s (explicit).
  at::Tensor approx_inputs() const { return param_ ? param_->rep_coeffs : targets_; }

  StorageReport storage() const;  // exactly what the file ships, tensor by tensor
  nlohmann::json meta;                           // set by the producer; saved with the file

  void save(const std::string& path) const;
  static DistilledSet load(const std::string& path);

 private:
  at::Tensor images_, targets_;               // explicit form (targets: m x d or T*m x d)
  std::optional<ParameterizedSet> param_;
  ApproximationNets approx_{nullptr};
  std::vector<data::View> views_;
};

}  // namespace ssdd::distill
