#include "ssdd/train/run_setup.h"

#include "ssdd/core/runtime.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/owned_folder.h"

namespace ssdd::train {

std::unique_ptr<RunContext> start_run(const std::string& stage, const std::string& out_dir,
                                      const nlohmann::json& config, const RuntimeOptions& runtime) {
  io::claim_folder(out_dir, stage);
  auto lock = std::make_unique<io::FolderLock>(out_dir, io::FolderLock::IfHeld::refuse);
  auto run = std::make_unique<RunContext>(std::move(lock), out_dir + "/log");
  run->threads = set_threads(runtime.threads);
  run->device = parse_device(runtime.device);
  seed_everything(runtime.seed);
  io::write_json_file(out_dir + "/config.json", config);
  run->log.say(stage + ": " + config.dump());
  run->log.say(stage + ": " + std::to_string(run->threads) + " thread(s), device " + run->device.str());
  return run;
}

}  // namespace ssdd::train
