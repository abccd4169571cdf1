#include "ssdd/data/ssl_augment.h"

#include <cmath>
#include <torch/torch.h>

#include "ssdd/core/error.h"

namespace ssdd::data {

namespace {

namespace F = torch::nn::functional;
using torch::indexing::Slice;

// Columns of the per-image table of uniforms drawn for one view.
constexpr int64_t kCropTries = 10;
constexpr int64_t kScale = 0;                    // kCropTries columns
constexpr int64_t kRatio = kScale + kCropTries;  // kCropTries columns
constexpr int64_t kOffsetX = kRatio + kCropTries;
constexpr int64_t kOffsetY = kOffsetX + 1;
constexpr int64_t kFlip = kOffsetY + 1;
constexpr int64_t kJitter = kFlip + 1;
constexpr int64_t kBrightness = kJitter + 1;
constexpr int64_t kContrast = kBrightness + 1;
constexpr int64_t kSaturation = kContrast + 1;
constexpr int64_t kHue = kSaturation + 1;
constexpr int64_t kGray = kHue + 1;
constexpr int64_t kBlur = kGray + 1;
constexpr int64_t kSigma = kBlur + 1;
constexpr int64_t kSolarize = kSigma + 1;
constexpr int64_t kColumns = kSolarize + 1;

void check_probability(double p, const char* name) {
  if (!(p >= 0.0 && p <= 1.0)) {
    throw ConfigError(std::string("ssl augment ") + name, "must be a probability in [0, 1], got " + std::to_string(p));
  }
}

void check_view(const SslViewOptions& o) {
  if (!(o.scale_min > 0.0 && o.scale_min <= o.scale_max)) {
    throw ConfigError("ssl augment crop scale", "needs 0 < min <= max");
  }
  if (!(o.ratio_min > 0.0 && o.ratio_min <= o.ratio_max)) {
    throw ConfigError("ssl augment crop ratio", "needs 0 < min <= max");
  }
  check_probability(o.flip_p, "flip_p");
  check_probability(o.jitter_p, "jitter_p");
  check_probability(o.grayscale_p, "grayscale_p");
  check_probability(o.blur_p, "blur_p");
  check_probability(o.solarize_p, "solarize_p");
  if (!(o.brightness >= 0.0 && o.contrast >= 0.0 && o.saturation >= 0.0)) {
    throw ConfigError("ssl augment jitter", "brightness, contrast and saturation must be >= 0");
  }
  if (!(o.hue >= 0.0 && o.hue <= 0.5)) throw ConfigError("ssl augment hue", "must be in [0, 0.5]");
  if (!(o.blur_sigma_min > 0.0 && o.blur_sigma_min <= o.blur_sigma_max)) {
    throw ConfigError("ssl augment blur sigma", "needs 0 < min <= max");
  }
  if (o.blur_kernel < 0) throw ConfigError("ssl augment blur kernel", "must be >= 0");
}

// Jitter factor 1 + amount * (2u - 1), uniform in [1 - amount, 1 + amount], floored at 0.
torch::Tensor jitter_factor(const torch::Tensor& u, double amount) {
  return (1.0 + amount * (2.0 * u - 1.0)).clamp_min(0.0);
}

// N x 1 x 1 x 1 view of a per-image CPU vector, on the data's device and dtype.
torch::Tensor per_image(const torch::Tensor& v, const torch::Tensor& like) {
  return v.to(like.options()).view({-1, 1, 1, 1});
}

// N x 1 x 1 x 1 boolean mask on the data's device from a per-image CPU mask.
torch::Tensor per_image_mask(const torch::Tensor& mask, const torch::Tensor& like) {
  return mask.to(like.device()).view({-1, 1, 1, 1});
}

// ITU-R 601 luma, N x 1 x H x W.
torch::Tensor luma(const torch::Tensor& rgb) {
  return 0.299 * rgb.select(1, 0).unsqueeze(1) + 0.587 * rgb.select(1, 1).unsqueeze(1) +
         0.114 * rgb.select(1, 2).unsqueeze(1);
}

// Rotate hue by `shift` (N x 1 x 1, in turns) through HSV.
torch::Tensor shift_hue(const torch::Tensor& rgb, const torch::Tensor& shift) {
  const auto r = rgb.select(1, 0), g = rgb.select(1, 1), b = rgb.select(1, 2);
  const auto maxc = torch::max(torch::max(r, g), b);
  const auto minc = torch::min(torch::min(r, g), b);
  const auto grey = maxc == minc;  // hue undefined: keep 0
  const auto range = maxc - minc;
  const auto ones = torch::ones_like(maxc);
  const auto sat = range / torch::where(grey, ones, maxc);
  const auto div = torch::where(grey, ones, range);
  const auto rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
  const auto zero = torch::zeros_like(maxc);
  const auto is_r = maxc == r;
  const auto is_g = (maxc == g).logical_and(is_r.logical_not());
  const auto is_b = is_r.logical_or(maxc == g).logical_not();
  auto hue = torch::where(is_r, bc - gc, zero) + torch::where(is_g, 2.0 + rc - bc, zero) +
             torch::where(is_b, 4.0 + gc - rc, zero);
  hue = torch::remainder(hue / 6.0 + shift, 1.0);

  // Back to RGB: sector i = floor(6h) picks each channel from (v, q, p, t).
  const auto& v = maxc;
  const auto h6 = hue * 6.0;
  const auto sector_floor = torch::floor(h6);
  const auto f = h6 - sector_floor;
  const auto sector = torch::remainder(sector_floor.to(torch::kLong), 6);
  const auto p = (v * (1.0 - sat)).clamp(0.0, 1.0);
  const auto q = (v * (1.0 - sat * f)).clamp(0.0, 1.0);
  const auto t = (v * (1.0 - sat * (1.0 - f))).clamp(0.0, 1.0);
  const auto planes = torch::stack({v, q, p, t}, 1);  // N x 4 x H x W
  // Row i: the plane (index into v,q,p,t) that R, G and B take in sector i.
  static const int64_t kTable[6][3] = {{0, 3, 2}, {1, 0, 2}, {2, 0, 3}, {2, 1, 0}, {3, 2, 0}, {0, 2, 1}};
  const auto table =
      torch::from_blob(const_cast<int64_t*>(&kTable[0][0]), {6, 3}, torch::kLong).to(rgb.device());
  const auto pick = table.index({sector}).permute({0, 3, 1, 2});  // N x 3 x H x W
  return planes.gather(1, pick);
}

// Separable gaussian blur with one sigma per image (a CPU vector), as grouped convolutions.
torch::Tensor blur(const torch::Tensor& x, const torch::Tensor& sigma, int64_t kernel) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t half = kernel / 2;
  const auto offsets = torch::arange(-half, half + 1, torch::kDouble).view({1, -1});
  auto weights = torch::exp(-offsets.pow(2) / (2.0 * sigma.view({-1, 1}).pow(2)));
  weights = (weights / weights.sum(1, true)).repeat_interleave(c, 0).to(x.options());  // (n*c) x k
  auto y = x.reshape({1, n * c, h, w});
  // Reflect like torchvision where the map is large enough, else replicate.
  const bool reflect = half < h && half < w;
  auto pad = F::PadFuncOptions({half, half, half, half});
  if (reflect) {
    pad.mode(torch::kReflect);
  } else {
    pad.mode(torch::kReplicate);
  }
  y = F::pad(y, pad);
  y = F::conv2d(y, weights.view({n * c, 1, kernel, 1}), F::Conv2dFuncOptions().groups(n * c));
  y = F::conv2d(y, weights.view({n * c, 1, 1, kernel}), F::Conv2dFuncOptions().groups(n * c));
  return y.reshape({n, c, h, w});
}

// The uniform draws of one view, one column per random choice (the k* constants above).
struct Draws {
  at::Tensor u;  // N x kColumns, double, CPU
  at::Tensor col(int64_t k) const { return u.select(1, k); }
};

// Step 1: random resized crop and flip, as one affine map per image.
at::Tensor resized_crop_flip(const at::Tensor& x, const Draws& draws, const SslViewOptions& o) {
  const int64_t n = x.size(0), height = x.size(2), width = x.size(3);
  const auto& u = draws.u;
  const auto col = [&](int64_t k) { return draws.col(k); };
  // Crop side fractions: area s*H*W with aspect r gives w/W = sqrt(s*r*H/W), h/H = sqrt(s/r*W/H).
  const auto scale = o.scale_min + (o.scale_max - o.scale_min) * u.narrow(1, kScale, kCropTries);
  const double log_lo = std::log(o.ratio_min), log_hi = std::log(o.ratio_max);
  const auto ratio = torch::exp(log_lo + (log_hi - log_lo) * u.narrow(1, kRatio, kCropTries));
  const double aspect = static_cast<double>(height) / static_cast<double>(width);
  auto wf = torch::sqrt(scale * ratio * aspect);
  auto hf = torch::sqrt(scale / ratio / aspect);
  const auto fits = wf.le(1.0).logical_and(hf.le(1.0));
  const auto first_fit = fits.to(torch::kInt).argmax(1, true);  // first try that fits
  const auto any_fit = fits.any(1);
  wf = torch::where(any_fit, wf.gather(1, first_fit).squeeze(1), torch::ones({n}, torch::kDouble));
  hf = torch::where(any_fit, hf.gather(1, first_fit).squeeze(1), torch::ones({n}, torch::kDouble));
  // Crop origin uniform over the valid range; centre in affine_grid's [-1, 1] coordinates.
  const auto cx = 2.0 * col(kOffsetX) * (1.0 - wf) + wf - 1.0;
  const auto cy = 2.0 * col(kOffsetY) * (1.0 - hf) + hf - 1.0;
  const auto sx = torch::where(col(kFlip) < o.flip_p, -wf, wf);  // flip = mirrored x axis
  const auto zero = torch::zeros({n}, torch::kDouble);
  const auto theta = torch::stack({sx, zero, cx, zero, hf, cy}, 1).view({n, 2, 3}).to(x.options());
  const auto grid = F::affine_grid(theta, {n, x.size(1), height, width}, /*align_corners=*/false);
  return F::grid_sample(x, grid,
                        F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false));
}

// Step 2: colour jitter on the images that drew it.
at::Tensor colour_jitter(at::Tensor y, const Draws& draws, const SslViewOptions& o, int64_t channels) {
  const auto col = [&](int64_t k) { return draws.col(k); };
  const auto jitter = col(kJitter) < o.jitter_p;
  const bool any_jitter = o.brightness > 0 || o.contrast > 0 || (channels == 3 && (o.saturation > 0 || o.hue > 0));
  if (any_jitter && jitter.any().item<bool>()) {
    const auto idx = jitter.nonzero().squeeze(1);  // CPU: no device sync
    const auto dev_idx = idx.to(y.device());
    auto z = y.index_select(0, dev_idx);
    if (o.brightness > 0) {
      const auto b = jitter_factor(col(kBrightness).index_select(0, idx), o.brightness);
      z = (z * per_image(b, z)).clamp(0.0, 1.0);
    }
    if (o.contrast > 0) {
      const auto c = per_image(jitter_factor(col(kContrast).index_select(0, idx), o.contrast), z);
      const auto mean = (channels == 3 ? luma(z) : z).mean({1, 2, 3}, true);
      z = (c * z + (1.0 - c) * mean).clamp(0.0, 1.0);
    }
    if (channels == 3 && o.saturation > 0) {
      const auto s = per_image(jitter_factor(col(kSaturation).index_select(0, idx), o.saturation), z);
      z = (s * z + (1.0 - s) * luma(z)).clamp(0.0, 1.0);
    }
    if (channels == 3 && o.hue > 0) {
      const auto shift = (o.hue * (2.0 * col(kHue).index_select(0, idx) - 1.0)).to(z.options()).view({-1, 1, 1});
      z = shift_hue(z, shift);
    }
    return y.index_copy(0, dev_idx, z);
  }
  return y;
}

// Step 4: gaussian blur on the images that drew it.
at::Tensor random_blur(at::Tensor y, const Draws& draws, const SslViewOptions& o) {
  if (o.blur_p <= 0) return y;
  const auto chosen = draws.col(kBlur) < o.blur_p;
  if (!chosen.any().item<bool>()) return y;
  int64_t kernel = o.blur_kernel;
  if (kernel == 0) kernel = std::max<int64_t>(3, std::llround(0.1 * static_cast<double>(std::min(y.size(2), y.size(3)))));
  if (kernel % 2 == 0) ++kernel;
  const auto idx = chosen.nonzero().squeeze(1);
  const auto dev_idx = idx.to(y.device());
  const auto sigma = o.blur_sigma_min + (o.blur_sigma_max - o.blur_sigma_min) * draws.col(kSigma).index_select(0, idx);
  return y.index_copy(0, dev_idx, blur(y.index_select(0, dev_idx), sigma, kernel));
}

}  // namespace

SslAugment::SslAugment(const SslAugmentOptions& options, int64_t channels)
    : options_(options), channels_(channels) {
  if (channels != 1 && channels != 3) {
    throw ConfigError("ssl augment", "supports 1- or 3-channel images, got " + std::to_string(channels));
  }
  check_view(options_.view1);
  check_view(options_.view2);
}

std::pair<at::Tensor, at::Tensor> SslAugment::two_views(const at::Tensor& x, at::Generator& gen) const {
  auto first = view(x, 0, gen);
  auto second = view(x, 1, gen);
  return {std::move(first), std::move(second)};
}

at::Tensor SslAugment::view(const at::Tensor& x, int which, at::Generator& gen) const {
  if (which != 0 && which != 1) throw ConfigError("ssl augment", "view index must be 0 or 1");
  if (x.dim() != 4 || x.size(1) != channels_ || !x.is_floating_point()) {
    throw ConfigError("ssl augment", "expects floating N x " + std::to_string(channels_) +
                                         " x H x W images, got shape " + c10::str(x.sizes()) + " of " +
                                         std::string(c10::toString(x.scalar_type())));
  }
  const SslViewOptions& o = which == 0 ? options_.view1 : options_.view2;
  const int64_t n = x.size(0);
  if (n == 0) return x.clone();

  // All randomness for this view, drawn at once on the CPU.
  const Draws draws{torch::rand({n, kColumns}, gen, torch::TensorOptions().dtype(torch::kDouble))};
  auto y = resized_crop_flip(x, draws, o);                // step 1
  y = colour_jitter(std::move(y), draws, o, channels_);  // step 2
  // Step 3: random grayscale.
  if (channels_ == 3 && o.grayscale_p > 0) {
    const auto gray = per_image_mask(draws.col(kGray) < o.grayscale_p, y);
    y = torch::where(gray, luma(y).expand_as(y), y);
  }
  y = random_blur(std::move(y), draws, o);  // step 4
  // Step 5: solarization.
  if (o.solarize_p > 0) {
    const auto chosen = per_image_mask(draws.col(kSolarize) < o.solarize_p, y);
    y = torch::where(chosen.logical_and(y >= o.solarize_threshold), 1.0 - y, y);
  }
  // Every step stays in [0, 1] up to rounding; the clamp makes the range exact.
  return y.clamp(0.0, 1.0).contiguous();
}

}  // namespace ssdd::data
