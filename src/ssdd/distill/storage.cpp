#include "ssdd/distill/storage.h"

#include <algorithm>
#include <sstream>

#include "ssdd/core/error.h"
#include "ssdd/core/format.h"

namespace ssdd::distill {

namespace {

std::string fixed(double value, int decimals) {
  return fmt::format("{:.{}f}", value, decimals);
}

void require_positive(int64_t value, const char* what) {
  if (value <= 0) throw ConfigError("storage", std::string(what) + " must be positive, got " + std::to_string(value));
}

void check_sizes(const OursSizes& s) {
  require_positive(s.channels, "channels");
  require_positive(s.height, "image height");
  require_positive(s.width, "image width");
  require_positive(s.rep_dim, "representation dimension (d)");
  if (s.parameterization) {
    require_positive(s.base_height, "base height");
    require_positive(s.base_width, "base width");
    require_positive(s.image_bases, "image bases (k_x)");
    require_positive(s.rep_bases, "representation bases (k_y)");
  }
  require_positive(s.views, "number of views (T)");
  if (s.approximation && s.views > 1) require_positive(s.approx_hidden, "approximation hidden width");
  if (!s.view_names.empty() && static_cast<int64_t>(s.view_names.size()) != s.views) {
    throw ConfigError("storage", std::to_string(s.view_names.size()) + " view names given for " +
                                     std::to_string(s.views) + " views");
  }
}

// What the user can change to shrink a component (option names of the CLI).
std::string remedy(const std::string& name) {
  if (name == "image_bases") return "lower --image-bases, raise --base-scale";
  if (name == "image_mean") return "raise --base-scale";
  if (name == "image_coeffs") return "lower --image-bases";
  if (name == "images" || name == "targets") return "use the parameterization";
  if (name == "rep_bases") return "lower --rep-bases";
  if (name == "rep_coeffs") return "lower --rep-bases or use the approximation networks";
  if (name.rfind("approx.", 0) == 0) return "lower --approx-hidden or use fewer --views";
  return "use a smaller configuration";
}

}  // namespace

int64_t StorageReport::total_floats() const {
  int64_t total = 0;
  for (const StorageItem& item : items) total += item.floats;
  return total;
}

double StorageReport::image_equivalents() const {
  return image_floats > 0 ? static_cast<double>(total_floats()) / static_cast<double>(image_floats) : 0.0;
}

const StorageItem& StorageReport::biggest() const {
  if (items.empty()) throw ConfigError("storage", "empty storage report has no biggest item");
  // First of equals wins, so the answer follows the report's order.
  return *std::max_element(items.begin(), items.end(),
                           [](const StorageItem& a, const StorageItem& b) { return a.floats < b.floats; });
}

io::SetStorage StorageReport::summary() const {
  io::SetStorage s;
  for (const StorageItem& item : items) {
    const double images =
        image_floats > 0 ? static_cast<double>(item.floats) / static_cast<double>(image_floats) : 0.0;
    s.items.push_back({item.name, item.floats, images});
  }
  s.total_floats = total_floats();
  s.image_equivalents = image_equivalents();
  s.image_floats = image_floats;
  return s;
}

nlohmann::json StorageReport::to_json() const { return io::to_json(summary()); }

std::string StorageReport::table() const {
  const int64_t total = total_floats();
  const auto images = [&](int64_t floats) {
    return image_floats > 0 ? fixed(static_cast<double>(floats) / static_cast<double>(image_floats), 2) : "-";
  };
  const auto share = [&](int64_t floats) {
    return total > 0 ? fixed(100.0 * static_cast<double>(floats) / static_cast<double>(total), 1) + "%" : "-";
  };
  struct Row {
    std::string name, floats, images, share;
  };
  std::vector<Row> rows{{"item", "floats", "image-equivalents", "share"}};
  for (const StorageItem& item : items) {
    rows.push_back({item.name, std::to_string(item.floats), images(item.floats), share(item.floats)});
  }
  rows.push_back({"total", std::to_string(total), images(total), share(total)});

  size_t w[4] = {0, 0, 0, 0};
  for (const Row& r : rows) {
    w[0] = std::max(w[0], r.name.size());
    w[1] = std::max(w[1], r.floats.size());
    w[2] = std::max(w[2], r.images.size());
    w[3] = std::max(w[3], r.share.size());
  }
  const auto pad_left = [](const std::string& s, size_t width) { return std::string(width - s.size(), ' ') + s; };
  const auto pad_right = [](const std::string& s, size_t width) { return s + std::string(width - s.size(), ' '); };
  const std::string rule(w[0] + w[1] + w[2] + w[3] + 9, '-');
  std::ostringstream out;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i + 1 == rows.size()) out << rule << '\n';  // separates the total from the items
    const Row& r = rows[i];
    out << pad_right(r.name, w[0]) << " | " << pad_left(r.floats, w[1]) << " | " << pad_left(r.images, w[2]) << " | "
        << pad_left(r.share, w[3]) << '\n';
    if (i == 0) out << rule << '\n';
  }
  if (image_floats > 0) out << "(one image = " << image_floats << " floats)\n";
  return out.str();
}

int64_t approx_net_floats(int64_t rep_bases, int64_t hidden) {
  // Linear(k_y, hidden) + Linear(hidden, k_y), weights and biases.
  return rep_bases * hidden + hidden + hidden * rep_bases + rep_bases;
}

StorageReport ours_storage(const OursSizes& sizes, int64_t m) {
  check_sizes(sizes);
  if (m < 0) throw ConfigError("storage", "number of distilled images must be >= 0, got " + std::to_string(m));
  StorageReport report;
  report.image_floats = sizes.channels * sizes.height * sizes.width;
  // Without approximation every view's targets are stored (as coefficients of their own
  // when parameterized).
  const int64_t target_copies = sizes.approximation ? 1 : sizes.views;
  int64_t approx_dim = sizes.rep_bases;
  if (sizes.parameterization) {
    const int64_t base_image = sizes.channels * sizes.base_height * sizes.base_width;
    report.items.push_back({"image_bases", sizes.image_bases * base_image});
    report.items.push_back({"image_mean", base_image});
    report.items.push_back({"image_coeffs", m * sizes.image_bases});
    report.items.push_back({"rep_bases", sizes.rep_bases * sizes.rep_dim});
    report.items.push_back({"rep_mean", sizes.rep_dim});
    report.items.push_back({"rep_coeffs", m * sizes.rep_bases * target_copies});
  } else {
    report.items.push_back({"images", m * report.image_floats});
    report.items.push_back({"targets", m * sizes.rep_dim * target_copies});
    approx_dim = sizes.rep_dim;
  }
  if (sizes.approximation) {
    for (int64_t t = 1; t < sizes.views; ++t) {
      const std::string name = sizes.view_names.empty() ? std::to_string(t) : sizes.view_names[t];
      report.items.push_back({"approx." + name, approx_net_floats(approx_dim, sizes.approx_hidden)});
    }
  }
  return report;
}

int64_t max_images_within_budget(const OursSizes& sizes, int64_t budget) {
  check_sizes(sizes);
  if (budget <= 0) throw ConfigError("--budget", "must be a positive number of images, got " + std::to_string(budget));
  const int64_t budget_floats = budget * sizes.channels * sizes.height * sizes.width;
  // Storage is affine in m: fixed part (m = 0) plus a per-image part.
  const StorageReport fixed_part = ours_storage(sizes, 0);
  const int64_t fixed_floats = fixed_part.total_floats();
  const StorageReport one = ours_storage(sizes, 1);
  const int64_t per_image = one.total_floats() - fixed_floats;
  if (one.total_floats() > budget_floats) {
    // Name the biggest part, the fixed cost (bases, means, networks: the same whatever m)
    // and the smallest budget that holds one image beside it.
    const StorageItem& big = one.biggest();
    const int64_t smallest = (one.total_floats() + one.image_floats - 1) / one.image_floats;
    throw ConfigError("--budget", "budget " + std::to_string(budget) + " images (" + std::to_string(budget_floats) +
                                      " floats) is too small: it cannot hold even 1 distilled image, which needs " +
                                      std::to_string(one.total_floats()) + " floats (" +
                                      fixed(one.image_equivalents(), 1) + " images), of which " + big.name +
                                      " alone takes " + std::to_string(big.floats) + " floats (" +
                                      fixed(static_cast<double>(big.floats) / one.image_floats, 1) +
                                      " images). The fixed part (bases, means, approximation networks) takes " +
                                      fixed(fixed_part.image_equivalents(), 2) + " image-equivalents and each image " +
                                      fixed(static_cast<double>(per_image) / one.image_floats, 2) +
                                      " more: the smallest budget that fits is " + std::to_string(smallest) + "; " +
                                      remedy(big.name) + " or raise --budget to " + std::to_string(smallest));
  }
  return (budget_floats - fixed_floats) / per_image;
}

StorageReport krrst_storage(int64_t m, int64_t channels, int64_t height, int64_t width, int64_t rep_dim) {
  if (m < 0) throw ConfigError("storage", "number of distilled images must be >= 0, got " + std::to_string(m));
  require_positive(channels, "channels");
  require_positive(height, "image height");
  require_positive(width, "image width");
  require_positive(rep_dim, "representation dimension (d)");
  StorageReport report;
  report.image_floats = channels * height * width;
  report.items.push_back({"images", m * report.image_floats});
  report.items.push_back({"targets", m * rep_dim});
  return report;
}

int64_t images_with_targets_within_budget(int64_t budget, int64_t image_floats, int64_t targets_per_image,
                                          int64_t rep_dim, const std::string& method) {
  const int64_t m = budget * image_floats / (image_floats + targets_per_image * rep_dim);
  if (m < 1)
    throw ConfigError("budget", "a budget of " + std::to_string(budget) + " image-equivalents holds no " + method +
                                    " image with its " + std::to_string(targets_per_image) + " target(s) of " +
                                    std::to_string(rep_dim) + " floats");
  return m;
}

}  // namespace ssdd::distill
