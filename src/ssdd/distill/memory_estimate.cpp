#include "ssdd/distill/memory_estimate.h"

#include <algorithm>

#include "ssdd/data/views.h"
#include "ssdd/distill/distiller.h"

namespace ssdd::distill {

using measure::count_text;
using measure::kDoubleBytes;
using measure::kFloatBytes;
using measure::MemoryEstimate;
using measure::NetworkFootprint;

MemoryEstimate distill_memory(const DistillShape& s, const std::string& stage) {
  const NetworkFootprint net = measure::measure_network(s.pool_arch, s.image);
  const double image = measure::image_bytes(s.image);
  const double views = static_cast<double>(s.views), m = static_cast<double>(s.distilled);
  const double n = static_cast<double>(s.train_images), d = static_cast<double>(s.rep_dim);
  const double set = views * m;                                   // distilled views per step
  const double real = views * static_cast<double>(s.real_batch);  // real views per step
  const double p = static_cast<double>(net.feature_dim + 1);      // features with the bias column
  const double kernel_float = s.krr_float64 ? kDoubleBytes : kFloatBytes;    // the regression's type
  MemoryEstimate e(stage);
  if (n > 0)  // every view's representation of the train split, and one view read from the cache
    e.add("teacher representations " + count_text(views) + " x " + count_text(n) + " x " + count_text(d), (views + 1) * n * d * kFloatBytes,
          "use fewer views (--views)");
  // Views, their activations and the backward pass's gradients of them (measured: a pool
  // step's peak is about twice its forward graph), the set's parameters and AdamW's moments.
  e.add("distilled set " + count_text(views) + " x " + count_text(m) + " images",
        set * (2 * net.activation_bytes + 2 * image) + 4 * m * (image + views * d * kFloatBytes),
        "lower " + s.images_flag + " (m = " + count_text(m) + " images)");
  // K_ss and (K_ss + lambda I), its Cholesky factor, and their gradients; features with gradients.
  e.add("kernel " + count_text(set) + "x" + count_text(set), 5 * set * set * kernel_float + 3 * set * p * kernel_float,
        "lower " + s.images_flag + " (m = " + count_text(m) + " images)");
  // Inputs and views, a forward without graph, features, targets, K_ts and its gradient.
  e.add("real batch " + count_text(real) + " views",
        real * (2 * image + net.activation_bytes / 4 + (p + d) * kFloatBytes) + 3 * real * set * kernel_float,
        "lower " + s.batch_flag);
  // Weights, gradients, momentum, and their copies in a checkpoint.
  const double model = net.parameters + p * d + d;
  e.add("pool " + count_text(static_cast<double>(s.pool_size)) + " models x " + count_text(model) + " parameters",
        static_cast<double>(s.pool_size) * (5 * model * kFloatBytes + 3 * (net.parameter_tensors + 2) * measure::kTensorOverheadBytes),
        "lower --pool-size");
  if (s.pca_images > 0)  // normalised images, centred copy, SVD workspace
    e.add("PCA fit on " + count_text(static_cast<double>(s.pca_images)) + " images",
          3 * static_cast<double>(s.pca_images) * image, "lower --pca-pool");
  return e;
}

DistillShape distill_shape(const DistillConfig& c, const models::ImageShape& image, int64_t train_images,
                           int64_t rep_dim) {
  DistillShape shape;
  shape.image = image;
  shape.train_images = train_images;
  shape.views = c.method == Method::krrst ? 1 : static_cast<int64_t>(data::parse_views(c.views).size());
  shape.distilled = distilled_images(c, image, rep_dim);
  shape.real_batch = std::min(c.real_batch, train_images);
  shape.rep_dim = rep_dim;
  shape.pool_size = c.pool.size;
  shape.pca_images =
      c.method == Method::ours && c.parameterization.enabled
          ? std::min(train_images, std::max(c.parameterization.pca_pool, shape.distilled))
          : 0;
  shape.pool_arch = c.pool.arch;
  shape.krr_float64 = c.krr_precision == KrrPrecision::float64;
  return shape;
}

}  // namespace ssdd::distill
