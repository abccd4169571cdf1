#!/usr/bin/env bash
# Extracts the CIFAR-10 JPEG archive into the ssdd data folder (see scripts/extract-data.sh,
# which does the same for every shared archive).
# Usage: scripts/extract-cifar10.sh [ARCHIVE]   (default: ../shared/data/cifar10-jpeg.tar.gz)
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
if [ $# -gt 0 ]; then
  exec bash "$here/extract-data.sh" "cifar10=$1"
fi
exec bash "$here/extract-data.sh" cifar10
