#include "ssdd/distill/set_export.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "ssdd/core/clock.h"
#include "ssdd/core/error.h"
#include "ssdd/core/format.h"
#include "ssdd/distill/distilled_set.h"
#include "ssdd/distill/view_pairs.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/folder_lock.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/owned_folder.h"
#include "ssdd/io/png_write.h"
#include "ssdd/io/tensor_archive.h"

namespace ssdd::distill {
namespace fs = std::filesystem;
namespace {

constexpr const char* kTensorsFile = "views.pt";
constexpr const char* kTargetsFile = "targets.csv";
constexpr const char* kImagesFolder = "images";
constexpr const char* kMetaFile = "export.json";
constexpr const char* kTempInfix = ".export-";

struct Normalisation {
  at::Tensor mean, std;  // float32, C
};

// The set's normalisation, from the metadata every producer writes (distill, baseline).
Normalisation normalisation_of(const DistilledSet& set, const std::string& path, int64_t channels) {
  const std::string expected = "norm_mean and norm_std of " + std::to_string(channels) + " channels in its metadata";
  std::vector<float> mean, deviation;
  try {
    mean = set.meta.value("norm_mean", std::vector<float>{});
    deviation = set.meta.value("norm_std", std::vector<float>{});
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path, expected, e.what());
  }
  if (static_cast<int64_t>(mean.size()) != channels || static_cast<int64_t>(deviation.size()) != channels)
    throw DataError(path, expected, std::to_string(mean.size()) + " and " + std::to_string(deviation.size()) + " values");
  return {torch::tensor(mean, torch::kFloat), torch::tensor(deviation, torch::kFloat)};
}

// "0012-rot90-i0003.png": fixed-width numbers, so the names sort in row order.
std::string png_name(int64_t row, int64_t rows, const std::string& view, int64_t index, int64_t images) {
  const auto padded = [](int64_t value, int64_t count) {
    const size_t width = std::max<size_t>(4, std::to_string(count - 1).size());
    const std::string digits = std::to_string(value);
    return std::string(width - std::min(width, digits.size()), '0') + digits;
  };
  return padded(row, rows) + "-" + view + "-i" + padded(index, images) + ".png";
}

// images/*.png and targets.csv, one row each.
void write_pngs(const ViewPairs& pairs, const Normalisation& norm, const std::vector<data::View>& views,
                const std::string& dir) {
  const int64_t rows = pairs.images.size(0), channels = pairs.images.size(1), d = pairs.targets.size(1);
  if (channels != 1 && channels != 3)
    throw ConfigError("--format", "PNG files hold grey or RGB images; this set's have " + std::to_string(channels) +
                                      " channels (export --format pt)");
  const at::Tensor pixels = (pairs.images.cpu() * norm.std.view({1, -1, 1, 1}) + norm.mean.view({1, -1, 1, 1}))
                                .clamp(0, 1)
                                .mul(255)
                                .round()
                                .to(torch::kUInt8)
                                .permute({0, 2, 3, 1})
                                .contiguous();  // N x H x W x C, interleaved as PNG wants
  const at::Tensor targets = pairs.targets.cpu().contiguous();
  const auto* view = pairs.view.data_ptr<int64_t>();
  const auto* index = pairs.index.data_ptr<int64_t>();
  const int64_t images = rows / static_cast<int64_t>(views.size());
  const std::string image_dir = dir + "/" + kImagesFolder;
  io::claim_folder(image_dir, "export images");  // so a later export may replace it
  std::string csv = "file,view,index";
  for (int64_t j = 0; j < d; ++j) csv += ",t" + std::to_string(j);
  csv += "\n";
  const int height = static_cast<int>(pixels.size(1)), width = static_cast<int>(pixels.size(2));
  for (int64_t r = 0; r < rows; ++r) {
    const std::string file = png_name(r, rows, views[static_cast<size_t>(view[r])].name(), index[r], images);
    io::write_png(image_dir + "/" + file, pixels[r].data_ptr<uint8_t>(), width, height, static_cast<int>(channels));
    csv += std::string(kImagesFolder) + "/" + file + "," + std::to_string(view[r]) + "," + std::to_string(index[r]);
    const float* t = targets[r].data_ptr<float>();
    for (int64_t j = 0; j < d; ++j) csv += fmt::format(",{:.9g}", static_cast<double>(t[j]));  // round-trips a float
    csv += "\n";
  }
  io::write_file_atomic(dir + "/" + kTargetsFile, csv);
}

nlohmann::json export_meta(const DistilledSet& set, const std::string& set_path, const ViewPairs& pairs,
                           const ExportOptions& options) {
  std::vector<std::string> view_names;
  for (const auto& v : set.view_list()) view_names.push_back(v.name());
  std::vector<std::string> formats;
  if (options.tensors) formats.push_back("pt");
  if (options.pngs) formats.push_back("png");
  return {{"source", fs::absolute(set_path).lexically_normal().string()},
          {"method", set.meta.value("method", "")},
          {"data", set.meta.value("data", "")},
          {"form", set.parameterized() ? "parameterized" : "explicit"},
          {"views", view_names},
          {"images", set.size()},
          {"rows", pairs.images.size(0)},
          {"row_order", "view-major: row = view * images + index"},
          {"image_shape", {pairs.images.size(1), pairs.images.size(2), pairs.images.size(3)}},
          {"target_dim", pairs.targets.size(1)},
          {"norm_mean", set.meta.at("norm_mean")},  // as the set states them (checked by normalisation_of)
          {"norm_std", set.meta.at("norm_std")},
          {"formats", formats},
          {"command", options.command},
          {"exported", utc_timestamp()},
          {"ssdd_version", SSDD_VERSION},
          {"set_meta", set.meta}};
}

// A temporary folder of a killed export (its pid no longer runs), beside `dir`.
void remove_abandoned_temporaries(const fs::path& dir) {
  const std::string prefix = "." + dir.filename().string() + kTempInfix;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir.parent_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || !io::is_claimed(entry.path().string())) continue;
    const long pid = std::atol(name.c_str() + prefix.size());
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove_all(entry.path(), ec);
  }
}

// An existing output folder: refused when it is the user's (unless forced); its images/
// must be an earlier export's, since a new export replaces it.
void check_destination(const fs::path& dir, const ExportOptions& options) {
  const std::string out = dir.string();
  if (!fs::exists(dir)) return;  // made by the final rename
  if (!io::is_claimed(out) && !options.force) io::claim_folder(out, "export");  // refuses a non-empty one
  const std::string images = out + "/" + kImagesFolder;
  if (options.pngs && fs::exists(images) && !io::is_claimed(images))
    throw IoError(images, "exists and was not made by ssdd export (no " + std::string(io::kMarkerFile) +
                              " marker); choose another --out, or move it away");
  io::claim_folder(out, "export", options.force);
}

void move_into_place(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) throw IoError(to.string(), "cannot move the export into place: " + ec.message());
}

// Moves the finished export from `temp` to `dir`: one rename when `dir` is new, so that
// `dir` appears whole or not at all; otherwise entry by entry, replacing an earlier
// export's (its images/ and the files of the other format included, so the folder never
// mixes two exports).
void publish(const fs::path& temp, const fs::path& dir) {
  if (!fs::exists(dir)) return move_into_place(temp, dir);
  const bool earlier_export = fs::exists(dir / kMetaFile);
  for (const char* name : {kImagesFolder, kTensorsFile, kTargetsFile, kMetaFile}) {
    const fs::path from = temp / name, to = dir / name;
    const bool ours_to_replace = std::string(name) == kImagesFolder ? io::is_claimed(to.string()) : earlier_export;
    std::error_code ec;
    if (fs::exists(to) && (fs::is_directory(to) || !fs::exists(from)) && ours_to_replace) fs::remove_all(to, ec);
    if (ec) throw IoError(to.string(), "cannot replace: " + ec.message());
    if (fs::exists(from)) move_into_place(from, to);
  }
  fs::remove_all(temp);
}

}  // namespace

ExportSummary export_set(const std::string& set_path, const std::string& out_dir, const ExportOptions& options) {
  if (!options.tensors && !options.pngs) throw ConfigError("--format", "nothing to write");
  DistilledSet set = DistilledSet::load(set_path);  // a damaged set: refused before anything is made
  const ViewPairs pairs = view_pairs(set);
  const Normalisation norm = normalisation_of(set, set_path, pairs.images.size(1));

  fs::path dir = fs::absolute(out_dir).lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "runs/export/"
  check_destination(dir, options);
  // Replacing an earlier export goes entry by entry: a second export into the same folder
  // must wait its turn (refused, naming the holder). A new folder needs no lock: it appears
  // by one rename, and a second rename onto it fails.
  std::optional<io::FolderLock> lock;
  if (fs::exists(dir)) lock.emplace(dir.string(), io::FolderLock::IfHeld::refuse);
  io::make_dirs(dir.parent_path().string());
  remove_abandoned_temporaries(dir);
  const fs::path temp = dir.parent_path() / ("." + dir.filename().string() + kTempInfix + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(temp, ec);
  io::claim_folder(temp.string(), "export");
  try {
    if (options.tensors)
      io::save_tensors(temp.string() + "/" + kTensorsFile, {{"images", pairs.images.to(torch::kFloat)},
                                                            {"targets", pairs.targets.to(torch::kFloat)},
                                                            {"view", pairs.view},
                                                            {"index", pairs.index},
                                                            {"mean", norm.mean},
                                                            {"std", norm.std}});
    if (options.pngs) write_pngs(pairs, norm, set.view_list(), temp.string());
    io::write_json_file(temp.string() + "/" + kMetaFile, export_meta(set, set_path, pairs, options));
    publish(temp, dir);
  } catch (...) {
    fs::remove_all(temp, ec);
    throw;
  }
  ExportSummary s;
  s.rows = pairs.images.size(0);
  s.images = set.size();
  s.views = set.views();
  s.target_dim = pairs.targets.size(1);
  s.shape = {pairs.images.size(1), pairs.images.size(2), pairs.images.size(3)};
  return s;
}

}  // namespace ssdd::distill
