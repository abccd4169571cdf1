// Predefined augmentations (SPEC section 4): a fixed, ordered set of views applied to
// every image at every step, replacing random augmentation. View 0 is the identity.
#pragma once
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace ssdd::data {

enum class ViewKind { identity, rotate90, rotate180, rotate270, hflip };

struct View {
  ViewKind kind = ViewKind::identity;
  std::string name() const;  // "rot0", "rot90", "rot180", "rot270", "hflip"
};

// Parses a comma-separated list such as "rot0,rot90,rot180,rot270" (the default) or
// "none" (= "rot0"). The identity must come first; duplicates and unknown names throw
// ConfigError naming `where`.
std::vector<View> parse_views(const std::string& list, const std::string& where = "--views");
std::string format_views(const std::vector<View>& views);

// One view of a batch N x C x H x W (any dtype, any device). Rotations are exact pixel
// permutations (torch::rot90, counter-clockwise, as torchvision's rotate by +angle).
// Rotations need square images (else ConfigError).
at::Tensor apply_view(const at::Tensor& images, const View& view);

// All views stacked view-major: [v_0(x); v_1(x); ...], T*N x C x H x W.
at::Tensor apply_views(const at::Tensor& images, const std::vector<View>& views);

}  // namespace ssdd::data
