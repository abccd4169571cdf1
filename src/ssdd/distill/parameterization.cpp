#include "ssdd/distill/parameterization.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "ssdd/core/error.h"

namespace ssdd::distill {

namespace {

namespace F = torch::nn::functional;

std::string shape_str(at::IntArrayRef sizes) {
  std::string out = "[";
  for (size_t i = 0; i < sizes.size(); ++i) out += (i ? ", " : "") + std::to_string(sizes[i]);
  return out + "]";
}

// -1 where negative, else +1 (never 0, unlike sign()).
at::Tensor sign_of(const at::Tensor& t) { return 1.0 - 2.0 * (t < 0).to(t.scalar_type()); }

// Flips each row so that its largest-magnitude entry is positive (first one on ties), which
// makes the basis independent of the eigensolver's arbitrary signs.
at::Tensor canonical_signs(const at::Tensor& rows) {
  const at::Tensor pick = rows.abs().argmax(1, /*keepdim=*/true);
  return rows * sign_of(rows.gather(1, pick));
}

// k x D rows, orthonormal, whose first r rows span the same nested subspaces as `leading`
// (r x D, nearly orthonormal) and whose remaining k - r rows are completed from `filler`
// (D x (k - r)). QR (modified Gram-Schmidt in effect) also removes the last rounding errors.
at::Tensor orthonormal_rows(const at::Tensor& leading, const at::Tensor& filler) {
  const at::Tensor columns = filler.numel() > 0 ? torch::cat({leading.t(), filler}, 1) : leading.t();
  auto [q, r] = at::linalg_qr(columns, "reduced");
  // QR's column signs are arbitrary; align them with the input so leading rows keep theirs.
  return (q * sign_of(r.diagonal())).t().contiguous();
}

// D x k standard normal matrix from a CPU generator (reproducible on every device).
at::Tensor gaussian(int64_t rows, int64_t cols, uint64_t seed, const at::Device& device) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randn({rows, cols}, gen, torch::dtype(torch::kDouble)).to(device);
}

// Random orthonormal k x D rows (Haar distributed: QR of a Gaussian with R's diagonal made positive).
at::Tensor random_orthonormal_rows(int64_t k, int64_t dim, uint64_t seed, const at::Device& device) {
  return orthonormal_rows(gaussian(dim, k, seed, device).t(), torch::empty({dim, 0}, torch::dtype(torch::kDouble).device(device)));
}

at::Tensor leaf(const at::Tensor& t, bool trainable) {
  return t.detach().to(torch::kFloat).clone().contiguous().set_requires_grad(trainable);
}

void check_k(int64_t k, int64_t n, int64_t dim, bool random, const std::string& what) {
  const int64_t limit = random ? dim : std::min(n, dim);
  if (k < 1 || k > limit) {
    throw ConfigError(what, "needs 1 <= k <= " + std::to_string(limit) + " (" +
                                (random ? "dimension " + std::to_string(dim)
                                        : std::to_string(n) + " samples of dimension " + std::to_string(dim)) +
                                "), got " + std::to_string(k));
  }
}

// Bases and mean for one of the two parts (images or representations), as PCA or random.
Pca fit_bases(const at::Tensor& rows, int64_t k, bool random, uint64_t seed, const std::string& what) {
  check_k(k, rows.size(0), rows.size(1), random, what);
  if (!random) return fit_pca(rows, k);
  Pca pca;
  pca.mean = rows.to(torch::kDouble).mean(0, /*keepdim=*/true).to(torch::kFloat);
  pca.components = random_orthonormal_rows(k, rows.size(1), seed, rows.device()).to(torch::kFloat);
  return pca;
}

}  // namespace

Pca fit_pca(const at::Tensor& x, int64_t k) {
  if (x.dim() != 2) throw ConfigError("pca", "expected an n x D matrix, got shape " + shape_str(x.sizes()));
  const int64_t n = x.size(0), dim = x.size(1);
  check_k(k, n, dim, /*random=*/false, "pca");
  const at::Tensor xd = x.detach().to(torch::kDouble);
  const at::Tensor mean = xd.mean(0, /*keepdim=*/true);
  const at::Tensor centred = xd - mean;

  at::Tensor leading;   // r x D, the well-determined components
  at::Tensor filler;    // D x (k - r), fills directions of (numerically) zero variance
  if (dim <= n) {
    // Covariance eigenvectors are orthonormal even for zero eigenvalues: no filling needed.
    auto [values, vectors] = at::linalg_eigh(centred.t().mm(centred));
    leading = vectors.flip({1}).narrow(1, 0, k).t();
    filler = torch::empty({dim, 0}, xd.options());
  } else {
    // n < D: eigenvectors v of the n x n Gram give components X_c^T v / sqrt(lambda).
    auto [values, vectors] = at::linalg_eigh(centred.mm(centred.t()));
    values = values.flip({0}).narrow(0, 0, k);
    vectors = vectors.flip({1}).narrow(1, 0, k);
    // Below this the division amplifies rounding noise; such directions carry no variance.
    const double tol = std::max(values[0].item<double>(), 0.0) * 1e-10;
    const int64_t r = (values > tol).sum().item<int64_t>();
    leading = (centred.t().mm(vectors.narrow(1, 0, r)) / values.narrow(0, 0, r).sqrt()).t();
    // Fixed seed: fit_pca stays a deterministic function of x.
    filler = gaussian(dim, k - r, /*seed=*/0, xd.device());
  }
  Pca pca;
  pca.components = canonical_signs(orthonormal_rows(leading, filler)).to(torch::kFloat);
  pca.mean = mean.to(torch::kFloat);
  return pca;
}

at::Tensor project(const at::Tensor& x, const Pca& pca) {
  if (x.dim() != 2 || x.size(1) != pca.components.size(1)) {
    throw ConfigError("pca projection", "expected rows of dimension " + std::to_string(pca.components.size(1)) +
                                            ", got shape " + shape_str(x.sizes()));
  }
  // Double precision: the coefficients are the starting point of the optimisation.
  const at::Tensor centred = x.detach().to(torch::kDouble) - pca.mean.to(torch::kDouble);
  return centred.mm(pca.components.to(torch::kDouble).t()).to(torch::kFloat);
}

at::Tensor ParameterizedSet::decode_images() const {
  const int64_t m = image_coeffs.size(0);
  const at::Tensor flat = image_coeffs.mm(image_bases.flatten(1)) + image_mean.flatten(1);
  at::Tensor images = flat.view({m, image_bases.size(1), image_bases.size(2), image_bases.size(3)});
  if (images.size(2) != height || images.size(3) != width) {
    images = F::interpolate(images, F::InterpolateFuncOptions()
                                        .size(std::vector<int64_t>{height, width})
                                        .mode(torch::kBilinear)
                                        .align_corners(false));
  }
  return images;
}

at::Tensor ParameterizedSet::decode_reps() const { return reps_from_coeffs(rep_coeffs); }

at::Tensor ParameterizedSet::reps_from_coeffs(const at::Tensor& coeffs) const {
  return torch::matmul(coeffs, rep_bases) + rep_mean;
}

at::Tensor ParameterizedSet::coeffs_from_reps(const at::Tensor& reps) const {
  const at::Tensor gram = rep_bases.matmul(rep_bases.t());  // k_y x k_y
  return torch::linalg_solve(gram, rep_bases.matmul((reps - rep_mean).t())).t().contiguous();
}

std::vector<at::Tensor> ParameterizedSet::parameters() const {
  return {image_bases, image_coeffs, rep_bases, rep_coeffs};
}

io::TensorMap ParameterizedSet::to_tensors() const {
  // Detached: these are for saving, and the archive wants plain tensors.
  return {{"image_bases", image_bases.detach()}, {"image_coeffs", image_coeffs.detach()},
          {"image_mean", image_mean.detach()},   {"rep_bases", rep_bases.detach()},
          {"rep_coeffs", rep_coeffs.detach()},   {"rep_mean", rep_mean.detach()}};
}

ParameterizedSet ParameterizedSet::from_tensors(const io::TensorMap& t, int64_t height, int64_t width,
                                                const std::string& source, int64_t target_copies) {
  const auto get = [&](const std::string& name) -> const at::Tensor& {
    auto it = t.find(name);
    if (it == t.end()) throw DataError(source, "a tensor named '" + name + "'", "none");
    if (!it->second.defined() || !it->second.is_floating_point()) {
      throw DataError(source, "'" + name + "' as a floating-point tensor", "another type");
    }
    return it->second;
  };
  const auto expect_shape = [&](const std::string& name, const at::Tensor& tensor, std::vector<int64_t> shape,
                                const std::string& why) {
    if (tensor.sizes() != at::IntArrayRef(shape)) {
      throw DataError(source, "'" + name + "' of shape " + shape_str(shape) + why, shape_str(tensor.sizes()));
    }
  };
  const at::Tensor& image_bases = get("image_bases");
  const at::Tensor& image_coeffs = get("image_coeffs");
  const at::Tensor& image_mean = get("image_mean");
  const at::Tensor& rep_bases = get("rep_bases");
  const at::Tensor& rep_coeffs = get("rep_coeffs");
  const at::Tensor& rep_mean = get("rep_mean");

  if (image_bases.dim() != 4 || image_bases.size(0) < 1) {
    throw DataError(source, "'image_bases' of shape [k_x, C, h, w]", shape_str(image_bases.sizes()));
  }
  const int64_t kx = image_bases.size(0), c = image_bases.size(1), h = image_bases.size(2), w = image_bases.size(3);
  if (h > height || w > width) {
    throw DataError(source, "image bases of at most " + std::to_string(height) + "x" + std::to_string(width) +
                                " (the images' resolution)",
                    std::to_string(h) + "x" + std::to_string(w));
  }
  if (image_coeffs.dim() != 2) {
    throw DataError(source, "'image_coeffs' of shape [m, " + std::to_string(kx) + "]", shape_str(image_coeffs.sizes()));
  }
  const int64_t m = image_coeffs.size(0);
  expect_shape("image_coeffs", image_coeffs, {m, kx}, " (k_x from image_bases)");
  expect_shape("image_mean", image_mean, {1, c, h, w}, " (from image_bases)");
  if (rep_bases.dim() != 2 || rep_bases.size(0) < 1) {
    throw DataError(source, "'rep_bases' of shape [k_y, d]", shape_str(rep_bases.sizes()));
  }
  const int64_t ky = rep_bases.size(0), d = rep_bases.size(1);
  expect_shape("rep_coeffs", rep_coeffs, {m * target_copies, ky},
               target_copies == 1 ? " (m from image_coeffs, k_y from rep_bases)"
                                  : " (" + std::to_string(target_copies) + " views x m from image_coeffs, k_y from rep_bases)");
  expect_shape("rep_mean", rep_mean, {1, d}, " (d from rep_bases)");

  ParameterizedSet set;
  set.image_bases = leaf(image_bases, true);
  set.image_coeffs = leaf(image_coeffs, true);
  set.rep_bases = leaf(rep_bases, true);
  set.rep_coeffs = leaf(rep_coeffs, true);
  set.image_mean = leaf(image_mean, false);
  set.rep_mean = leaf(rep_mean, false);
  set.height = height;
  set.width = width;
  return set;
}

ParameterizedSet init_parameterized(const at::Tensor& real_images, const at::Tensor& real_reps,
                                    const at::Tensor& init_index, const ParameterizationOptions& init,
                                    uint64_t seed) {
  if (real_images.dim() != 4 || !real_images.is_floating_point()) {
    throw ConfigError("parameterization", "real images must be a float batch n x C x H x W, got shape " +
                                              shape_str(real_images.sizes()));
  }
  const int64_t n = real_images.size(0), c = real_images.size(1), height = real_images.size(2),
                width = real_images.size(3);
  if (real_reps.dim() != 2 || real_reps.size(0) != n) {
    throw ConfigError("parameterization", "representations must be " + std::to_string(n) + " x d, got shape " +
                                              shape_str(real_reps.sizes()));
  }
  if (init_index.dim() != 1 || init_index.numel() < 1 || init_index.is_floating_point()) {
    throw ConfigError("parameterization", "initial indices must be a non-empty 1-D integer tensor");
  }
  const at::Tensor index = init_index.to(real_images.device(), torch::kLong);
  if (index.min().item<int64_t>() < 0 || index.max().item<int64_t>() >= n) {
    throw ConfigError("parameterization", "initial indices must lie in [0, " + std::to_string(n) + ")");
  }
  const int64_t s = init.base_scale;
  if (s < 1 || height % s != 0 || width % s != 0) {
    throw ConfigError("base scale", "must be >= 1 and divide the image size " + std::to_string(height) + "x" +
                                        std::to_string(width) + ", got " + std::to_string(s));
  }

  // Area averaging of s x s blocks: the bases live at the stored resolution.
  const at::Tensor pooled = (s == 1 ? real_images : F::avg_pool2d(real_images, F::AvgPool2dFuncOptions(s))).detach();
  const at::Tensor image_rows = pooled.flatten(1);
  // Separate streams per part, so changing k_x does not change the random rep bases.
  const Pca image_pca = fit_bases(image_rows, init.image_bases, init.random_bases, seed, "image bases");
  const Pca rep_pca =
      fit_bases(real_reps.detach(), init.rep_bases, init.random_bases, seed + 1, "representation bases");

  ParameterizedSet set;
  set.height = height;
  set.width = width;
  const int64_t h = pooled.size(2), w = pooled.size(3);
  set.image_bases = leaf(image_pca.components.reshape({init.image_bases, c, h, w}), true);
  set.image_mean = leaf(image_pca.mean.reshape({1, c, h, w}), false);
  set.image_coeffs = leaf(project(image_rows.index_select(0, index), image_pca), true);
  set.rep_bases = leaf(rep_pca.components, true);
  set.rep_mean = leaf(rep_pca.mean, false);
  set.rep_coeffs = leaf(project(real_reps.detach().index_select(0, index.to(real_reps.device())), rep_pca), true);
  return set;
}

}  // namespace ssdd::distill
