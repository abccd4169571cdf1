#include "ssdd/train/run_setup.h"

#include "ssdd/core/error.h"
#include "ssdd/core/runtime.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/owned_folder.h"
#include "ssdd/train/job.h"

namespace ssdd::train {
namespace {

c10::Device rank_device(const RuntimeOptions& runtime, const World& world) {
  const c10::Device device = parse_device(runtime.device);
  if (device.is_cuda() && !device.has_index() && world.distributed()) return c10::Device(c10::kCUDA, world.local_rank);
  return device;
}

}  // namespace

std::unique_ptr<RunContext> start_run(const std::string& stage, const std::string& out_dir,
                                      const nlohmann::json& config, const RuntimeOptions& runtime, Ranks ranks) {
  const World& world = job_world();
  if (world.distributed() && ranks == Ranks::one)
    throw ConfigError(stage, "runs as one process for now; under a launcher (" + std::to_string(world.size) +
                                 " ranks) only `teacher`, `distill` and `evaluate` spread their work across ranks (issue 26): run "
                                 "this stage without the launcher");
  const c10::Device device = rank_device(runtime, world);
  ProcessGroup* group = job_group(device);
  std::unique_ptr<RunContext> run;
  if (world.rank == 0) {
    io::claim_folder(out_dir, stage);
    auto lock = std::make_unique<io::FolderLock>(out_dir, io::FolderLock::IfHeld::refuse);
    run = std::make_unique<RunContext>(std::move(lock), out_dir + "/log");
    io::write_json_file(out_dir + "/config.json", config);
  }
  if (group) group->barrier();  // the other ranks write into the folder rank 0 has claimed
  if (world.rank != 0) {
    run = std::make_unique<RunContext>(nullptr, out_dir + "/log.rank-" + std::to_string(world.rank));
    run->log.set_terminal(false);
  }
  run->world = world;
  run->group = group;
  run->threads = set_threads(runtime.threads);
  run->device = device;
  seed_everything(runtime.seed);
  run->log.say(stage + ": " + config.dump());
  std::string where = std::to_string(run->threads) + " thread(s), device " + run->device.str();
  if (group)
    where += ", rank " + std::to_string(world.rank) + " of " + std::to_string(world.size) + " (" + group->backend() + ")";
  run->log.say(stage + ": " + where);
  return run;
}

}  // namespace ssdd::train
