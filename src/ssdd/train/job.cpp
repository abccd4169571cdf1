#include "ssdd/train/job.h"

#include <memory>

namespace ssdd::train {
namespace {

struct Job {
  JobOptions options;
  std::unique_ptr<World> world;
  std::unique_ptr<ProcessGroup> group;
};

Job& job() {
  static Job j;
  return j;
}

}  // namespace

void set_job_options(const JobOptions& options) { job().options = options; }

const JobOptions& job_options() { return job().options; }

const World& job_world() {
  if (!job().world) job().world = std::make_unique<World>(world_from_environment());
  return *job().world;
}

ProcessGroup* job_group(c10::Device device) {
  const World& world = job_world();
  if (!world.distributed()) return nullptr;
  if (!job().group) job().group = std::make_unique<ProcessGroup>(world, job().options.backend, device, job().options.timeout);
  return job().group.get();
}

void leave_job_abruptly() {
  (void)job().group.release();  // deliberately never destroyed: see job.h
}

}  // namespace ssdd::train
