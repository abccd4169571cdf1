#!/usr/bin/env bash
# Extra dependencies for benchmarks and cross-checks (not needed to build or run ssdd):
# Debian's python3-torch runs the PyTorch reference step and reads our .pt files.
set -euo pipefail
bash "$(dirname "$0")/setup.sh"
source "$(dirname "$0")/debian-packages.sh"
mapfile -t missing < <(missing_packages python3-torch python3-numpy)
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-bench: python3-torch already installed"
else
  install_packages "${missing[@]}"
  echo "setup-bench: installed ${missing[*]}"
fi
