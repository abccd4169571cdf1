#!/usr/bin/env bash
# Configures and builds ssdd into build/ (Release). Extra arguments go to cmake.
# On a GPU machine, point CMake at PyTorch's LibTorch:
#   scripts/build.sh -DCMAKE_PREFIX_PATH=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${SSDD_BUILD_JOBS:-$(nproc)}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j "$jobs"
echo "build: build/ssdd ready"
