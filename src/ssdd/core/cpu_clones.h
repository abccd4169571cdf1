// SSDD_CPU_CLONES: a hand-vectorised loop compiled for three x86-64 levels (AVX-512, AVX2 + FMA,
// baseline SSE2), the loader picking the one the CPU runs, as LibTorch picks its own kernels: the
// build targets baseline x86-64, and these loops run faster with wider vectors and FMA
// (docs/performance-log.md section 12). SSDD_NO_CPU_CLONES compiles them once, at the build's
// own -march: scripts/check-cpu-levels.sh tests each level's code on a machine that has all three.
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(SSDD_NO_CPU_CLONES)
#define SSDD_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SSDD_CPU_CLONES
#endif
