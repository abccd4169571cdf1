// The opening every long stage shares: claim the run folder (io/owned_folder.h: a folder
// of the user's is refused) and lock it for this process, open its log, write config.json,
// set threads, device and seeds, and say so in the log. In a job of several ranks (job.h)
// rank 0 does the claiming, locking and writing; the other ranks wait for it, then log to
// log.rank-N, and a CUDA device without an index becomes cuda:LOCAL_RANK.
#pragma once
#include <memory>
#include <string>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "ssdd/core/runtime_options.h"
#include "ssdd/io/folder_lock.h"
#include "ssdd/io/run_log.h"
#include "ssdd/train/distributed.h"

namespace ssdd::train {

struct RunContext {
  std::unique_ptr<io::FolderLock> lock;  // held until the stage ends
  io::RunLog log;
  int threads = 1;
  c10::Device device = c10::Device(c10::kCPU);
  World world;                    // one process unless launched as several ranks
  ProcessGroup* group = nullptr;  // the job's (job.h); null for one process
  bool leads() const { return world.rank == 0; }  // writes the stage's outputs
  RunContext(std::unique_ptr<io::FolderLock> folder_lock, const std::string& log_path)
      : lock(std::move(folder_lock)), log(log_path) {}
};

// Whether a stage spreads its work across the ranks of a job. One that does not yet is
// refused under a launcher, rather than run N times into one folder.
enum class Ranks { one, many };

// `stage` also names the folder's kind in its marker.
std::unique_ptr<RunContext> start_run(const std::string& stage, const std::string& out_dir,
                                      const nlohmann::json& config, const RuntimeOptions& runtime,
                                      Ranks ranks = Ranks::one);

}  // namespace ssdd::train
