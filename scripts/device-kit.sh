#!/usr/bin/env bash
# Packs what a lent GPU machine lacks into .devkit/ (git-ignored), for scripts/device-check.sh:
# that machine has CUDA, PyTorch's LibTorch, CMake and ninja, nothing to install from, and
# none of ssdd's other libraries. The kit mirrors the Debian packages' /usr layout (so their
# CMake package files work from there) with static libraries only, which link on any newer
# glibc; plus Fashion-MNIST (for `ssdd run --config quick` on the GPU) and the PyTorch
# reference step (for bench/compare.sh --device cuda).
#   scripts/device-kit.sh            # then: device run with carry [".devkit"]
set -euo pipefail
cd "$(dirname "$0")/.."
kit=.devkit
rm -rf "$kit" && mkdir -p "$kit"

packages=(libcli11-dev nlohmann-json3-dev libtomlplusplus-dev libfmt-dev libcmark-gfm-dev libcmark-gfm-extensions-dev
          libpng-dev libjpeg62-turbo-dev zlib1g-dev libgtest-dev libgmock-dev)
source scripts/debian-packages.sh
mapfile -t missing < <(missing_packages "${packages[@]}")
[ ${#missing[@]} -eq 0 ] || { echo "device-kit: not installed: ${missing[*]} (run scripts/setup-tests.sh)" >&2; exit 1; }
for p in "${packages[@]}"; do
  # Headers, static libraries and CMake package files; no shared objects, no docs.
  dpkg -L "$p" | grep -E '^/usr/(include|lib|share/cmake)/' | while read -r f; do
    [ -f "$f" ] || continue
    case $f in *.so|*.so.*|*.pc) continue ;; esac
    dest="$kit/${f#/usr/}"
    mkdir -p "$(dirname "$dest")" && cp -p "$f" "$dest"
  done
done
# Debian keeps libjpeg's jconfig.h under the multiarch include folder, which a compiler
# searches only under /usr; put it beside jpeglib.h.
cp -p /usr/include/x86_64-linux-gnu/jconfig.h "$kit/include/"
# libtomlplusplus-dev ships a shared library too, but ssdd uses it header-only.

mkdir -p "$kit/data"
cp -rp /usr/share/datasets/fashion-mnist "$kit/data/"
reference=${SSDD_REFERENCE_STEP:-../shared/bench/pytorch_reference_step.py}
[ -f "$reference" ] && cp -p "$reference" "$kit/"
echo "device-kit: $(du -sh "$kit" | cut -f1) in $kit"
