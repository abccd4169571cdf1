// Process-wide runtime settings: thread count, device, seeding.
#pragma once
#include <string>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

namespace ssdd {

// Sets LibTorch's intra-op thread count, and OpenBLAS's own pool to one thread (runtime.cpp says
// why). Debian's LibTorch starts with one thread, so every command calls this; 0 means all
// hardware cores.
int set_threads(int threads);

// "cpu", "cuda" or "cuda:N"; throws ConfigError when CUDA is asked for but absent.
c10::Device parse_device(const std::string& name);

// glibc serves blocks above its mmap threshold (at most 32 MiB) with fresh mmaps and
// returns them on free, so every batch of conv activations (~100 MB) is page-faulted in
// anew: on 2 cores that doubled the time of feature extraction (42 s -> 16 s for
// Fashion-MNIST through ConvNet-64, most of it system time). Keeping freed memory in the
// heap trades resident memory for that time. Called once at start-up by the CLI.
void keep_freed_memory();

// Subnormal floats (below 1.2e-38) take a slow microcode path on x86. The linear probe's
// cross-entropy gradient is full of them once its softmax saturates (6.6% of a batch's
// entries), and they made the weight-gradient product 5-7x slower (0.84 ms -> 5.7 ms at
// 256 x 4096 x 10). This flushes them to zero (FTZ and DAZ) in every thread that computes:
// this one, the OpenMP threads ATen starts later (a thread inherits its creator's mode), and
// OpenBLAS's worker threads, which it started when loaded and is made to start anew. Called
// once at start-up, before any parallel work, by the CLI. Returns false where the CPU has
// no such mode. [decision: docs/decisions.md, "Subnormal floats are flushed to zero"]
bool flush_denormals();

// What a report says about where it ran: ssdd and LibTorch versions, CUDA, CPU model,
// hardware threads, memory (each stage's config records the threads it used).
nlohmann::json machine_info();

// Seeds LibTorch's global generators (CPU and, when present, CUDA).
void seed_everything(unsigned long long seed);

}  // namespace ssdd
