#include "ssdd/io/owned_folder.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "ssdd/core/clock.h"
#include "ssdd/core/error.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/folder_lock.h"

namespace ssdd::io {
namespace fs = std::filesystem;
namespace {

std::string marker_path(const std::string& dir) { return (fs::path(dir) / kMarkerFile).string(); }

void write_marker(const std::string& dir, const std::string& what) {
  const nlohmann::json marker = {{"made_by", std::string("ssdd ") + SSDD_VERSION}, {"what", what},
                                 {"marked", utc_timestamp()}};
  write_file_atomic(marker_path(dir), marker.dump() + "\n");
}

// Empty but for a lock file (a lock taken on a fresh folder creates one).
bool is_empty_folder(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().filename() != kLockFile) return false;
  if (ec) throw IoError(dir, "cannot list: " + ec.message());
  return true;
}

// `inner` lies strictly inside `outer`: every component of `outer`, then at least one more.
bool strictly_inside(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // a trailing separator
    if (i == inner.end() || *i != *o) return false;
  }
  for (; i != inner.end(); ++i)
    if (!i->empty()) return true;
  return false;
}

}  // namespace

bool is_claimed(const std::string& dir) { return file_exists(marker_path(dir)); }

void claim_folder(const std::string& dir, const std::string& what, bool force) {
  std::error_code ec;
  const auto status = fs::symlink_status(dir, ec);
  if (fs::exists(status) && !fs::is_directory(fs::status(dir, ec)))
    throw IoError(dir, "exists and is not a folder; give a folder for the outputs");
  if (!fs::exists(status)) {
    make_dirs(dir);
  } else if (is_claimed(dir)) {
    return;
  } else if (!is_empty_folder(dir) && !force) {
    throw IoError(dir, "exists, holds files, and was not made by ssdd (no " + std::string(kMarkerFile) +
                           " marker): choose a new or empty folder, or pass --force to let ssdd write into it "
                           "(files of the same names are then replaced)");
  }
  write_marker(dir, what);
}

void adopt_folder(const std::string& dir, const std::string& what) {
  if (!is_claimed(dir)) write_marker(dir, what);
}

void clear_claimed_folder(const std::string& dir, const std::string& owner) {
  std::error_code ec;
  const fs::path resolved = fs::weakly_canonical(dir, ec);
  if (ec) throw IoError(dir, "cannot resolve: " + ec.message());
  const fs::path resolved_owner = fs::weakly_canonical(owner, ec);
  if (ec) throw IoError(owner, "cannot resolve: " + ec.message());
  if (!strictly_inside(resolved, resolved_owner))
    throw IoError(dir, "lies outside " + owner + " (resolved: " + resolved.string() + "); refusing to clear it");
  if (!is_claimed(dir)) throw IoError(dir, "was not made by ssdd (no " + std::string(kMarkerFile) + " marker); refusing to clear it");
  for (const auto& entry : fs::directory_iterator(resolved, ec)) {
    const auto name = entry.path().filename();
    if (name == kMarkerFile || name == kLockFile) continue;
    fs::remove_all(entry.path(), ec);
    if (ec) throw IoError(entry.path().string(), "cannot remove: " + ec.message());
  }
  if (ec) throw IoError(dir, "cannot list: " + ec.message());
}

bool is_plain_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (!alnum(name[0])) return false;
  for (char c : name)
    if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

void check_plain_name(const std::string& name, const std::string& where) {
  if (!is_plain_name(name))
    throw ConfigError(where, "'" + name + "' is not a plain name: it names a folder, so it must start with a "
                             "letter or digit and hold only letters, digits, '.', '_' and '-' (at most 64)");
}

}  // namespace ssdd::io
