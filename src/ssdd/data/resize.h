// Resizing uint8 images to any size, once, when a data set is loaded (the decoded-data
// cache keeps the result). Separable, one dimension at a time:
//   shrinking  area averaging: each output pixel is the mean of the input area it covers,
//              partly covered pixels weighted by the covered fraction (OpenCV's INTER_AREA).
//              Every input pixel counts, so nothing aliases, and a 2x reduction (Imagenette
//              64 -> 32 for a CIFAR-10 source) is exactly the mean of 2x2 blocks, the box
//              filter of Downsampled ImageNet (Chrabaszcz et al., 2017).
//   enlarging  bilinear (half-pixel centres, edges clamped; PyTorch's align_corners=false):
//              smooth, with no block artefacts; antialiasing has nothing to do when enlarging.
// Results are rounded to the nearest integer (ties to even) and clamped to [0, 255].
#pragma once
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace ssdd::data {

// uint8 N x C x H x W (or C x H x W) images resized to height x width, on the CPU; the
// input itself when it already has that size.
at::Tensor resize_pixels(const at::Tensor& images, int64_t height, int64_t width);

// The out x in float matrix that resizes one dimension as above (rows sum to 1).
at::Tensor resize_weights(int64_t in, int64_t out);

}  // namespace ssdd::data
