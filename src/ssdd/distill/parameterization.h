// Parameterization of the distilled set (SPEC section 3):
//   X_s = C_x B_x + 1 mu_x   (images, upsampled from the bases' stored resolution)
//   Y_s = C_y B_y + 1 mu_y   (representations)
// Bases start as principal components of real images / teacher representations and
// coefficients as the projections of m real images; all four are optimised. The means
// are stored as one extra basis row each with the fixed coefficient 1 [decision].
#pragma once
#include <string>

#include <ATen/core/Tensor.h>

#include "ssdd/distill/component_options.h"
#include "ssdd/io/tensor_archive.h"

namespace ssdd::distill {

// Top-k principal directions of the rows of `x` (n x D), as a k x D matrix with
// orthonormal rows, and the row mean (1 x D). Computed in double precision through
// the smaller of the two Gram matrices (n x n or D x D); deterministic signs (the
// largest-magnitude entry of each row is positive). k must be <= min(n, D) (else
// ConfigError); components beyond the data's rank (zero variance) are filled with
// orthonormal directions from a fixed-seed Gaussian, so fit_pca stays deterministic.
struct Pca {
  at::Tensor components;  // k x D, float
  at::Tensor mean;        // 1 x D, float
};
Pca fit_pca(const at::Tensor& x, int64_t k);

// Coefficients of rows of x in an orthonormal-row basis: (x - mean) B^T.
at::Tensor project(const at::Tensor& x, const Pca& pca);

struct ParameterizedSet {
  // Trainable (requires_grad) leaves.
  at::Tensor image_bases;   // k_x x C x h x w (h, w: stored resolution)
  at::Tensor image_coeffs;  // m x k_x
  at::Tensor rep_bases;     // k_y x d
  at::Tensor rep_coeffs;    // m x k_y
  // Fixed (no gradient): the mean rows.
  at::Tensor image_mean;    // 1 x C x h x w
  at::Tensor rep_mean;      // 1 x d
  int64_t height = 0, width = 0;  // full resolution the images decode to

  // m x C x H x W: bilinear upsampling (align_corners=false) when h < H.
  at::Tensor decode_images() const;
  // m x d
  at::Tensor decode_reps() const;
  // Representations from coefficients (for the approximation networks' outputs).
  at::Tensor reps_from_coeffs(const at::Tensor& coeffs) const;
  // Their inverse on any representations (n x d): the least-squares coefficients, since
  // the optimised basis is no longer orthonormal. reps_from_coeffs of the result is the
  // projection onto the basis' span.
  at::Tensor coeffs_from_reps(const at::Tensor& reps) const;
  std::vector<at::Tensor> parameters() const;  // bases and coefficients

  // Detached tensors (sharing storage) named image_bases, image_coeffs, image_mean,
  // rep_bases, rep_coeffs, rep_mean. from_tensors checks that all six are present with
  // mutually consistent shapes and bases no larger than height x width (DataError naming
  // `source`), and returns float32 leaves (bases, coefficients trainable; means not).
  // rep_coeffs holds m rows, or T*m when every view's targets are stored (target_copies = T).
  io::TensorMap to_tensors() const;
  static ParameterizedSet from_tensors(const io::TensorMap& t, int64_t height, int64_t width,
                                       const std::string& source, int64_t target_copies = 1);
};

// `real_images`: the pool the image PCA is fitted on (normalised float n x C x H x W,
// downsampled to the stored resolution by area averaging before the PCA);
// `real_reps`: the teacher's representations of that pool (n x d);
// `init_index`: which m of them initialise the coefficients;
// `init`: k_x, k_y, the bases' scale and whether they are random (its other fields unread).
// With init.random_bases, image bases come from `seed` and representation bases from seed + 1
// (CPU generators, so identical on every device); random bases need only k <= dimension.
ParameterizedSet init_parameterized(const at::Tensor& real_images, const at::Tensor& real_reps,
                                    const at::Tensor& init_index, const ParameterizationOptions& init,
                                    uint64_t seed);

}  // namespace ssdd::distill
