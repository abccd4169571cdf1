// Process-wide runtime settings: thread count, device, seeding.
#pragma once
#include <string>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

namespace ssdd {

// Sets LibTorch's intra-op thread count. Debian's LibTorch starts with one thread,
// so every command calls this; 0 means all hardware cores.
int set_threads(int threads);

// "cpu", "cuda" or "cuda:N"; throws ConfigError when CUDA is asked for but absent.
c10::Device parse_device(const std::string& name);

// glibc serves blocks above its mmap threshold (at most 32 MiB) with fresh mmaps and
// returns them on free, so every batch of conv activations (~100 MB) is page-faulted in
// anew: on 2 cores that doubled the time of feature extraction (42 s -> 16 s for
// Fashion-MNIST through ConvNet-64, most of it system time). Keeping freed memory in the
// heap trades resident memory for that time. Called once at start-up by the CLI.
void keep_freed_memory();

// What a report says about where it ran: ssdd and LibTorch versions, CUDA, CPU model,
// hardware threads, memory (each stage's config records the threads it used).
nlohmann::json machine_info();

// Seeds LibTorch's global generators (CPU and, when present, CUDA).
void seed_everything(unsigned long long seed);

}  // namespace ssdd
