// The few places where LibTorch 1.13 (Debian, CPU) and 2.x (PyTorch wheels, CUDA) differ.
#pragma once
#include <torch/version.h>

#define SSDD_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))
