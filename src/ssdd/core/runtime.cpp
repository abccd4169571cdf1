#include "ssdd/core/runtime.h"

#include <dlfcn.h>
#include <malloc.h>

#include <sys/utsname.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <thread>
#include <ATen/Context.h>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/core/limits.h"

namespace ssdd {

int set_threads(int threads) {
  check_threads("--threads", threads);  // before LibTorch starts one OpenMP thread each
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  torch::set_num_threads(threads);
  // OpenBLAS's pthread build keeps workers of its own that spin (sched_yield) for a while after
  // each product, on the cores LibTorch's OpenMP threads are computing on: at the distillation
  // step's cpu shape a third of the samples of a 2-core profile were waiting threads. With one
  // OpenBLAS thread they never start; the large products (distill/krr.cpp) run on oneDNN's sgemm
  // with the OpenMP threads. [decision: docs/decisions.md, "OpenBLAS at one thread"]
  using SetBlasThreads = void (*)(int);
  auto set_blas = reinterpret_cast<SetBlasThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set_blas) set_blas(1);
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

bool flush_denormals() {
  if (!at::globalContext().setFlushDenormal(true)) return false;
  // OpenBLAS's pthread build exports this (it runs it before a fork); its next product starts
  // the workers again from the calling thread. Absent (MKL, OpenBLAS's OpenMP build): the
  // workers are OpenMP threads, started after this call.
  using Shutdown = int (*)();
  if (auto shutdown = reinterpret_cast<Shutdown>(dlsym(RTLD_DEFAULT, "blas_thread_shutdown_"))) shutdown();
  return true;
}

void seed_everything(unsigned long long seed) {
  torch::manual_seed(seed);
  if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
}

namespace {
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  return "unknown";
}
}  // namespace

nlohmann::json machine_info() {
  utsname os{};
  uname(&os);
  const double memory_gib = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE)) /
                            (1024.0 * 1024.0 * 1024.0);
  return {{"ssdd", SSDD_VERSION},
          {"libtorch", std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                           std::to_string(TORCH_VERSION_PATCH)},
          {"cuda", torch::cuda::is_available() ? "available (" + std::to_string(torch::cuda::device_count()) + " devices)"
                                               : "not available"},
          {"cpu", cpu_model()},
          {"hardware_threads", std::thread::hardware_concurrency()},
          {"memory_gib", std::round(memory_gib * 10) / 10},
          {"os", std::string(os.sysname) + " " + os.release + " " + os.machine},
          {"compiler", __VERSION__}};
}

}  // namespace ssdd
