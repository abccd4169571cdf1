// The opening every long stage shares: claim the run folder (io/owned_folder.h: a folder
// of the user's is refused) and lock it for this process, open its log, write config.json,
// set threads, device and seeds, and say so in the log.
#pragma once
#include <memory>
#include <string>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "ssdd/core/runtime_options.h"
#include "ssdd/io/folder_lock.h"
#include "ssdd/io/run_log.h"

namespace ssdd::train {

struct RunContext {
  std::unique_ptr<io::FolderLock> lock;  // held until the stage ends
  io::RunLog log;
  int threads = 1;
  c10::Device device = c10::Device(c10::kCPU);
  RunContext(std::unique_ptr<io::FolderLock> folder_lock, const std::string& log_path)
      : lock(std::move(folder_lock)), log(log_path) {}
};

// `stage` also names the folder's kind in its marker.
std::unique_ptr<RunContext> start_run(const std::string& stage, const std::string& out_dir,
                                      const nlohmann::json& config, const RuntimeOptions& runtime);

}  // namespace ssdd::train
