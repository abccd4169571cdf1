// `--out` and `--force`, shared by every command that writes a folder. ssdd writes only
// into folders it made (io/owned_folder.h); `--force` lets it into one of the user's,
// marking it first, so that the stage's own check then passes.
#pragma once
#include <CLI/CLI.hpp>

#include <string>

#include "ssdd/io/owned_folder.h"

namespace ssdd::cli {

inline void add_force_flag(CLI::App& cmd, bool& force) {
  cmd.add_flag("--force", force,
               "Write into an existing non-empty --out folder that ssdd did not make (files of the same names are "
               "replaced; nothing else is touched)");
}

// Called before the stage runs; without `force` the stage itself claims the folder.
inline void claim_if_forced(const std::string& out, const std::string& what, bool force) {
  if (force) io::claim_folder(out, what, /*force=*/true);
}

}  // namespace ssdd::cli
