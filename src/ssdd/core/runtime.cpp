#include "ssdd/core/runtime.h"

#include <malloc.h>

#include <thread>

#include "ssdd/core/error.h"

namespace ssdd {

int set_threads(int threads) {
  if (threads < 0) throw ConfigError("--threads", "expected >= 0, found " + std::to_string(threads));
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  torch::set_num_threads(threads);
  return threads;
}

c10::Device parse_device(const std::string& name) {
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(name);
  } catch (const std::exception&) {
    throw ConfigError("--device", "expected cpu, cuda or cuda:N, found '" + name + "'");
  }
  if (device.is_cuda() && !torch::cuda::is_available())
    throw ConfigError("--device", "CUDA was asked for but this build or machine has no CUDA device");
  if (!device.is_cpu() && !device.is_cuda())
    throw ConfigError("--device", "expected cpu or cuda, found '" + name + "'");
  return device;
}

void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

void seed_everything(unsigned long long seed) {
  torch::manual_seed(seed);
  if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
}

}  // namespace ssdd
