#!/usr/bin/env bash
# Extra dependencies for fuzzing (scripts/fuzz.sh; not needed to build, test or run ssdd):
# Debian's clang and its runtime libraries (libFuzzer, ASan, UBSan).
set -euo pipefail
bash "$(dirname "$0")/setup.sh"
if command -v clang++ >/dev/null && [ -n "$(find /usr/lib/llvm-*/lib/clang -name 'libclang_rt.fuzzer-x86_64.a' 2>/dev/null)" ]; then
  echo "setup-fuzz: clang and libFuzzer already installed"
else
  source "$(dirname "$0")/debian-packages.sh"
  install_packages clang libclang-rt-dev
  echo "setup-fuzz: installed clang and libclang-rt-dev"
fi
