// Process-wide runtime settings: thread count, device, seeding.
#pragma once
#include <string>

#include <c10/core/Device.h>

namespace ssdd {

// Sets LibTorch's intra-op thread count. Debian's LibTorch starts with one thread,
// so every command calls this; 0 means all hardware cores.
int set_threads(int threads);

// "cpu", "cuda" or "cuda:N"; throws ConfigError when CUDA is asked for but absent.
c10::Device parse_device(const std::string& name);

// Seeds LibTorch's global generators (CPU and, when present, CUDA).
void seed_everything(unsigned long long seed);

}  // namespace ssdd
