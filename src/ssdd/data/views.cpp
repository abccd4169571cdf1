#include "ssdd/data/views.h"

#include <cctype>
#include <torch/torch.h>

#include "ssdd/core/error.h"

namespace ssdd::data {

namespace {

const char* kNames[] = {"rot0", "rot90", "rot180", "rot270", "hflip"};
constexpr ViewKind kKinds[] = {ViewKind::identity, ViewKind::rotate90, ViewKind::rotate180, ViewKind::rotate270,
                               ViewKind::hflip};

std::string trim(const std::string& s) {
  size_t begin = 0, end = s.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(s[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(s[end - 1]))) --end;
  return s.substr(begin, end - begin);
}

std::string known_names() {
  std::string out;
  for (const char* n : kNames) out += (out.empty() ? "" : ", ") + std::string(n);
  return out + " (or none)";
}

int64_t quarter_turns(ViewKind kind) {
  switch (kind) {
    case ViewKind::rotate90: return 1;
    case ViewKind::rotate180: return 2;
    case ViewKind::rotate270: return 3;
    default: return 0;
  }
}

}  // namespace

std::string View::name() const {
  for (size_t i = 0; i < std::size(kKinds); ++i) {
    if (kKinds[i] == kind) return kNames[i];
  }
  return "unknown";
}

std::vector<View> parse_views(const std::string& list, const std::string& where) {
  // "none" is shorthand for "no augmentation": only the identity view.
  if (trim(list) == "none") return {View{ViewKind::identity}};
  std::vector<View> views;
  size_t start = 0;
  while (true) {
    const size_t comma = list.find(',', start);
    const std::string token = trim(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (token.empty()) throw ConfigError(where, "empty view name in '" + list + "'");
    if (token == "none") throw ConfigError(where, "'none' cannot be combined with other views");
    View view;
    bool found = false;
    for (size_t i = 0; i < std::size(kNames); ++i) {
      if (token == kNames[i]) {
        view.kind = kKinds[i];
        found = true;
      }
    }
    if (!found) throw ConfigError(where, "unknown view '" + token + "'; known: " + known_names());
    for (const View& v : views) {
      if (v.kind == view.kind) throw ConfigError(where, "view '" + token + "' listed twice");
    }
    views.push_back(view);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  // Targets of view 0 are the stored ones (Y_s^(1) = Y_s); the others are derived from it.
  if (views.front().kind != ViewKind::identity) {
    throw ConfigError(where, "the identity view rot0 must come first, got '" + views.front().name() + "'");
  }
  return views;
}

std::string format_views(const std::vector<View>& views) {
  std::string out;
  for (const View& v : views) out += (out.empty() ? "" : ",") + v.name();
  return out;
}

at::Tensor apply_view(const at::Tensor& images, const View& view) {
  if (images.dim() != 4) {
    throw ConfigError("views", "expected a batch N x C x H x W, got " + std::to_string(images.dim()) + " dimensions");
  }
  if (view.kind == ViewKind::identity) return images;
  if (view.kind == ViewKind::hflip) return images.flip({3});
  if (images.size(2) != images.size(3)) {
    throw ConfigError("views", "view " + view.name() + " needs square images, got " + std::to_string(images.size(2)) +
                                   "x" + std::to_string(images.size(3)));
  }
  // rot90 over (H, W) turns from the H axis towards the W axis: counter-clockwise on screen,
  // y[i][j] = x[j][W-1-i]. contiguous() so downstream convolutions see a plain layout.
  return torch::rot90(images, quarter_turns(view.kind), {2, 3}).contiguous();
}

at::Tensor apply_views(const at::Tensor& images, const std::vector<View>& views) {
  if (views.empty()) throw ConfigError("views", "empty list of views");
  std::vector<at::Tensor> parts;
  parts.reserve(views.size());
  for (const View& v : views) parts.push_back(apply_view(images, v));
  return torch::cat(parts, 0);
}

}  // namespace ssdd::data
