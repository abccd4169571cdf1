#!/usr/bin/env bash
# Extra dependencies for benchmarks and cross-checks (not needed to build or run ssdd):
# Debian's python3-torch runs the PyTorch reference step and reads our .pt files.
set -euo pipefail
bash "$(dirname "$0")/setup.sh"
if python3 -c 'import torch' 2>/dev/null || /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "setup-bench: python3-torch already installed"
else
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-torch python3-numpy >/dev/null
  echo "setup-bench: installed python3-torch"
fi
