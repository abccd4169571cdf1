// The job this process belongs to (issue 26), made once per process, as torch.distributed's
// default group is: its world, read from the launcher's variables (distributed.h), and its
// process group, joined when the first stage that spreads its work across ranks opens. A
// one-process run has no group, and nothing here costs it anything.
#pragma once
#include <chrono>

#include <c10/core/Device.h>

#include "ssdd/train/distributed.h"

namespace ssdd::train {

struct JobOptions {
  std::string backend;                          // "": NCCL on CUDA, Gloo otherwise
  std::chrono::milliseconds timeout{1800000};   // a collective's wait for the other ranks (PyTorch's 30 min)
};

// Set by the command line before any stage opens; later calls change nothing once joined.
void set_job_options(const JobOptions& options);
const JobOptions& job_options();

// This process's world (read once).
const World& job_world();

// The job's process group, joined on the first call, which is collective (every rank makes
// it); null for a one-process run. `device` picks the default backend.
ProcessGroup* job_group(c10::Device device);

// Called when this process ends with an error: leaves the group without tearing it down.
// c10d's TCPStore, on rank 0, joins its server thread when destroyed, and that thread waits
// with no timeout for the rest of any request a rank began and never finished (a rank
// stopped or cut off mid-request). A failing rank must exit all the same; the kernel closes
// its sockets, which is all the other ranks need to see.
void leave_job_abruptly();

}  // namespace ssdd::train
