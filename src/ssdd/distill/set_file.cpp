#include "ssdd/distill/set_file.h"

#include "ssdd/distill/distilled_set.h"
#include "ssdd/distill/view_pairs.h"

namespace ssdd::distill {
namespace {

SetFile describe(DistilledSet& set, const std::string& path) {
  SetFile file;
  file.path = path;
  file.meta = set.meta;
  file.images = set.size();
  file.views = set.views();
  const StorageReport storage = set.storage();
  file.stored_image_equivalents = storage.image_equivalents();
  file.storage_table = storage.table();
  file.approximation = static_cast<bool>(set.approx());
  file.pairs = view_pairs(set);
  return file;
}

}  // namespace

SetFile read_set_file(const std::string& path) {
  DistilledSet set = DistilledSet::load(path);
  return describe(set, path);
}

SetFile write_explicit_set(const std::string& path, const at::Tensor& images, const at::Tensor& targets,
                           const std::vector<data::View>& views, nlohmann::json meta) {
  auto set = DistilledSet::explicit_form(images, targets, views);
  set.meta = std::move(meta);
  set.meta["m"] = set.size();
  set.meta["storage"] = set.storage().to_json();
  set.save(path);
  return describe(set, path);
}

}  // namespace ssdd::distill
