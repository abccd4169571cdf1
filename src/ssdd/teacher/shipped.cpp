#include "ssdd/teacher/shipped.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "ssdd/core/clock.h"
#include "ssdd/core/error.h"
#include "ssdd/core/format.h"
#include "ssdd/core/runtime.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/folder_lock.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/owned_folder.h"
#include "ssdd/io/run_log.h"
#include "ssdd/teacher/backbone_teacher.h"
#include "ssdd/teacher/manifest.h"
#include "ssdd/train/job.h"
#include "ssdd/train/progress.h"

#ifndef SSDD_SHIPPED_TEACHERS_DIR
#define SSDD_SHIPPED_TEACHERS_DIR "teachers"
#endif

namespace fs = std::filesystem;

namespace ssdd::teacher {

std::vector<std::string> shipped_teacher_roots() {
  const char* env = std::getenv("SSDD_TEACHERS");
  if (!env) return {SSDD_SHIPPED_TEACHERS_DIR};
  std::vector<std::string> roots;
  std::string text = env;
  for (size_t start = 0; start <= text.size();) {
    const size_t end = std::min(text.find(':', start), text.size());
    if (end > start) roots.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return roots;
}

namespace {

// The folders under `root` that hold a manifest, in name order (so the first match is stable).
std::vector<std::string> manifest_folders(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return out;
  for (const auto& entry : fs::directory_iterator(root, ec))
    if (entry.is_directory(ec) && fs::is_regular_file(entry.path() / "manifest.json", ec)) out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

// A manifest's id without checking its weights; empty when the file does not parse (a
// shipped folder that is not the one asked for must not stop the run).
std::string manifest_id(const std::string& dir) {
  try {
    const auto manifest = io::parse_json_file(dir + "/manifest.json");
    return manifest.is_object() ? manifest.value("id", "") : "";
  } catch (const Error& e) {
    std::cerr << "ssdd: warning: skipping the shipped teacher " << dir << ": " << e.what() << "\n";
    return "";
  }
}

}  // namespace

std::optional<ShippedTeacher> find_shipped_teacher(const std::string& id) {
  for (const auto& root : shipped_teacher_roots())
    for (const auto& dir : manifest_folders(root)) {
      if (manifest_id(dir) != id) continue;
      ShippedTeacher shipped{dir, read_verified_manifest(dir)};
      const std::string meta_path = dir + "/teacher.json";
      const std::string meta_id = io::parse_json_file(meta_path).value("id", "");
      if (meta_id != id) throw DataError(meta_path, "id " + id + " (manifest.json)", "id " + meta_id);
      return shipped;
    }
  return std::nullopt;
}

namespace {

std::string describe(const nlohmann::json& manifest) {
  std::string text = manifest.value("arch", "?") + " on " + manifest.value("data", "?");
  if (manifest.contains("probe_test_accuracy"))
    text += fmt::format(", probe top-1 {:.2f}%", 100 * manifest["probe_test_accuracy"].get<double>());
  if (manifest.contains("train_seconds"))
    text += ", trained in " + train::format_duration(manifest["train_seconds"].get<double>());
  if (manifest.contains("command")) text += " by `" + manifest["command"].get<std::string>() + "`";
  return text;
}

}  // namespace

void install_shipped_teacher(const ShippedTeacher& shipped, const std::string& dir) {
  io::claim_folder(dir, "teacher");
  io::FolderLock lock(dir, io::FolderLock::IfHeld::refuse);
  for (const char* file : {"teacher.pt", "teacher.json", "manifest.json"})
    io::write_file_atomic(dir + "/" + file, io::read_file(shipped.dir + "/" + file));
  io::RunLog log(dir + "/log");
  log.say("teacher: using the shipped teacher " + shipped.dir + " (id " + shipped.manifest.value("id", "") +
          ", sha256 verified; " + describe(shipped.manifest) + "); --retrain trains it anew");
}

void provide_teacher(const TeacherConfig& config, const std::string& out_dir, bool resume, bool retrain) {
  if (!retrain)
    if (const auto shipped = find_shipped_teacher(teacher_id(config))) {
      if (train::job_world().rank == 0) install_shipped_teacher(*shipped, out_dir);  // nothing to share
      return;
    }
  train_teacher(config, out_dir, resume);
}

std::string teacher_command(const TeacherConfig& config) {
  const nlohmann::json wanted = config.to_json();
  std::string best;
  size_t fewest = SIZE_MAX;
  for (const auto& preset : teacher_presets()) {
    const nlohmann::json base = teacher_preset(preset).to_json();
    std::string command = "ssdd teacher --preset " + preset;
    size_t differences = 0;
    for (const auto& [key, value] : wanted.items()) {
      if (key == "threads" || key == "device" || key == "data_dir" || base.value(key, nlohmann::json()) == value)
        continue;
      std::string flag = key;
      std::replace(flag.begin(), flag.end(), '_', '-');
      std::string text = value.is_string() ? value.get<std::string>() : value.dump();
      if (value.is_array()) {  // --projector 1024,1024,1024
        text.clear();
        for (const auto& v : value) text += (text.empty() ? "" : ",") + v.dump();
      }
      command += " --" + flag + " " + text;
      ++differences;
    }
    if (differences < fewest) fewest = differences, best = command;
  }
  return best;
}

void ship_trained_teacher(const std::string& trained_dir, const std::string& out_dir) {
  const Teacher t = load_teacher(trained_dir, c10::Device(c10::kCPU));
  const std::string config_path = trained_dir + "/config.json";
  const TeacherConfig config = TeacherConfig::from_json(io::parse_json_file(config_path), config_path);
  const std::string id = teacher_id(config);
  if (id != t.id)
    throw DataError(trained_dir + "/teacher.json", "id " + id + " (its config.json, on the data found here)",
                    "id " + t.id);
  const nlohmann::json metrics = io::parse_json_file(trained_dir + "/metrics.json");
  std::error_code ec;
  if (fs::exists(out_dir, ec) && !fs::is_empty(out_dir, ec))
    throw ConfigError("--out", out_dir + " is not empty: a shipped teacher is written into a new folder");
  write_backbone_teacher(out_dir, t.encoder, {t.arch, t.shape, t.norm, t.data, t.id});
  nlohmann::json fields = {
      {"name", fs::path(out_dir).filename().string()},
      {"source", "trained"},
      {"data", t.data},
      {"arch", t.arch},
      {"feature_dim", t.feature_dim},
      {"id", t.id},
      {"config_hash", config.hash()},
      {"config", config.to_json()},
      {"command", teacher_command(config)},
      {"probe_test_accuracy", metrics.at("probe_test_accuracy")},
      {"probe_train_accuracy", metrics.value("probe_train_accuracy", nlohmann::json())},
      {"probe_epochs", config.probe_epochs},
      {"train_seconds", metrics.at("train_seconds")},
      {"images_per_second", metrics.value("images_per_second", nlohmann::json())},
      {"threads", metrics.value("threads", nlohmann::json())},
      {"machine", metrics.value("machine", nlohmann::json())},  // recorded since shipping began
      {"shipped", utc_timestamp()}};
  write_manifest(out_dir, fields);
}

}  // namespace ssdd::teacher
