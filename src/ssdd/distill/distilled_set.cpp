#include "ssdd/distill/distilled_set.h"

#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/io/tensor_checksum.h"
#include "ssdd/train/state.h"

namespace ssdd::distill {

DistilledSet DistilledSet::explicit_form(at::Tensor images, at::Tensor targets, std::vector<data::View> views,
                                          ApproximationNets approx) {
  DistilledSet s;
  s.images_ = std::move(images);
  s.targets_ = std::move(targets);
  s.views_ = std::move(views);
  s.approx_ = std::move(approx);
  const int64_t m = s.images_.size(0), t = s.targets_.size(0);
  if (s.approx_ && (t != m || s.approx_->views() != s.views()))
    throw Error("distilled set: approximation networks for " + std::to_string(s.approx_->views()) +
                " views need one target per image (" + std::to_string(m) + ") and as many views; found " +
                std::to_string(t) + " targets and " + std::to_string(s.views()) + " views");
  if (t != m && t != m * s.views()) throw Error("distilled set: " + std::to_string(t) + " targets for " +
                                                std::to_string(m) + " images and " + std::to_string(s.views()) +
                                                " views");
  return s;
}

DistilledSet DistilledSet::parameterized_form(ParameterizedSet param, ApproximationNets approx,
                                              std::vector<data::View> views) {
  DistilledSet s;
  s.param_ = std::move(param);
  s.approx_ = std::move(approx);
  s.views_ = std::move(views);
  const int64_t m = s.param_->image_coeffs.size(0), rows = s.param_->rep_coeffs.size(0);
  const bool ok = s.approx_ ? (rows == m && s.approx_->views() == s.views()) : (rows == m * s.views() || s.views() == 1);
  if (!ok) throw Error("distilled set: representation coefficients and views disagree");
  return s;
}

int64_t DistilledSet::size() const { return param_ ? param_->image_coeffs.size(0) : images_.size(0); }

at::Tensor DistilledSet::images() const { return param_ ? param_->decode_images() : images_; }

at::Tensor DistilledSet::view_images() const { return data::apply_views(images(), views_); }

at::Tensor DistilledSet::view_targets() {
  if (!param_) {
    if (approx_) return approx_->all_views(targets_);
    // One stored target per image: every view shares it (views of an explicit set
    // without stored per-view targets are only used with the identity).
    if (targets_.size(0) == size() && views() > 1) return targets_.repeat({views(), 1});
    return targets_;
  }
  if (approx_) return param_->reps_from_coeffs(approx_->all_views(param_->rep_coeffs));
  return param_->decode_reps();
}

std::vector<at::Tensor> DistilledSet::parameters() const {
  std::vector<at::Tensor> out = param_ ? param_->parameters() : std::vector<at::Tensor>{images_, targets_};
  if (approx_)
    for (const auto& p : approx_->parameters()) out.push_back(p);
  return out;
}

StorageReport DistilledSet::storage() const {
  StorageReport r;
  const at::Tensor decoded = images();  // held: sizes() would dangle on a temporary
  r.image_floats = decoded.size(1) * decoded.size(2) * decoded.size(3);
  // Exactly what the file holds, tensor by tensor.
  if (param_)
    for (const auto& [name, t] : param_->to_tensors()) r.items.push_back({name, t.numel()});
  else
    r.items = {{"images", images_.numel()}, {"targets", targets_.numel()}};
  if (approx_)
    for (int64_t v = 1; v < views(); ++v) {
      int64_t floats = 0;
      for (const auto& p : approx_->named_parameters())
        if (p.key().rfind("nets." + std::to_string(v - 1) + ".", 0) == 0) floats += p.value().numel();
      r.items.push_back({"approx." + views_[static_cast<size_t>(v)].name(), floats});
    }
  return r;
}

void DistilledSet::save(const std::string& path) const {
  io::TensorMap t;
  if (param_)
    t = param_->to_tensors();
  else
    t = {{"images", images_}, {"targets", targets_}};
  if (approx_)
    for (auto& [k, v] : train::module_state(*approx_, "approx.")) t[k] = v;
  nlohmann::json m = meta;
  m["form"] = param_ ? "parameterized" : "explicit";
  m["views"] = data::format_views(views_);
  m["approximation"] = static_cast<bool>(approx_);
  if (param_) {
    m["height"] = param_->height;
    m["width"] = param_->width;
  }
  if (approx_) m["approx_hidden"] = approx_->hidden();
  t["__meta__"] = io::text_to_tensor(m.dump());
  io::save_tensors_checksummed(path, std::move(t));
}

DistilledSet DistilledSet::load(const std::string& path) {
  io::TensorMap t = io::load_tensors(path);
  io::verify_checksum(t, path);  // a set written before checksums has none, and loads
  t.erase(io::kChecksumEntry);
  auto meta_it = t.find("__meta__");
  if (meta_it == t.end()) throw DataError(path, "a distilled set (with __meta__)", "no __meta__ entry");
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(io::tensor_to_text(meta_it->second));
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path, "JSON metadata", e.what());
  }
  t.erase(meta_it);
  DistilledSet s;
  try {
    // Inside the try: a "views" that is not a string is bad metadata (found by fuzz_distilled_set).
    const auto views = data::parse_views(meta.value("views", "rot0"), path);
    // The networks q_t act on the stored targets' dimension: k_y, or d when explicit.
    auto approximation = [&](int64_t dim) {
      ApproximationNets approx{nullptr};
      if (meta.value("approximation", false)) {
        approx = ApproximationNets(static_cast<int64_t>(views.size()), dim, meta.at("approx_hidden").get<int64_t>());
        train::load_module_state(*approx, t, path, "approx.");
      }
      return approx;
    };
    if (meta.value("form", "") == "explicit") {
      if (!t.count("images") || !t.count("targets")) throw DataError(path, "images and targets", "missing entries");
      at::Tensor targets = t.at("targets").to(torch::kFloat);
      if (targets.dim() != 2) throw DataError(path, "targets of 2 dimensions", std::to_string(targets.dim()));
      s = explicit_form(t.at("images").to(torch::kFloat), targets, views, approximation(targets.size(1)));
    } else if (meta.value("form", "") == "parameterized") {
      // Without approximation networks every view's targets are stored.
      const int64_t copies = meta.value("approximation", false) ? 1 : static_cast<int64_t>(views.size());
      auto param = ParameterizedSet::from_tensors(t, meta.at("height"), meta.at("width"), path, copies);
      ApproximationNets approx = approximation(param.rep_coeffs.size(1));
      s = parameterized_form(std::move(param), approx, views);
    } else {
      throw DataError(path, "form explicit or parameterized", meta.value("form", "none"));
    }
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path, "complete metadata", e.what());
  } catch (const DataError&) {
    throw;
  } catch (const Error& e) {
    throw DataError(path, "a consistent distilled set", e.what());
  }
  s.meta = meta;
  return s;
}

}  // namespace ssdd::distill
