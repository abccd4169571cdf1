// `ssdd collectives`: checks a process group before a long run trusts it (the job's launcher,
// store, backend and network), like NCCL's tests: every collective ssdd uses, with values
// whose right answer each rank knows, and the time of an all-reduce.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "ssdd/train/distributed.h"

namespace ssdd::train {

struct CollectiveCheck {
  std::vector<std::string> failures;  // one line per collective that gave a wrong value; empty: all right
  double all_reduce_seconds = 0;      // mean of `iterations` all-reduces of `floats` floats
  double bus_gb_per_second = 0;       // NCCL tests' bus bandwidth: bytes x 2(n-1)/n per second
};

CollectiveCheck check_collectives(ProcessGroup& group, int64_t floats, int iterations, c10::Device device);

}  // namespace ssdd::train
