#!/usr/bin/env bash
# Extracts the CIFAR-10 JPEG archive (60,000 images, cifar10/{train,test}/<class>/NNNN.jpg)
# into the ssdd data folder, outside the checkout:
#   ${SSDD_DATA:-${SSDD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ssdd}/data}/cifar10/{train,test}
# which is where `ssdd ... --dataset cifar10` looks by default.
# Usage: scripts/extract-cifar10.sh [ARCHIVE]   (default: ../shared/data/cifar10-jpeg.tar.gz)
# Idempotent: a complete earlier extraction is left as is.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
archive="${1:-$here/../shared/data/cifar10-jpeg.tar.gz}"
data_root="${SSDD_DATA:-${SSDD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ssdd}/data}"
dest="$data_root/cifar10"
expected=60000
# The published digest of the bundled archive begins and ends with these.
sha_head="cb6c5052"
sha_tail="34a5f"

count_images() {
  if [ -d "$dest/train" ] && [ -d "$dest/test" ]; then
    find "$dest/train" "$dest/test" -type f -iname '*.jpg' | wc -l
  else
    echo 0
  fi
}

have="$(count_images)"
if [ "$have" -eq "$expected" ]; then
  echo "extract-cifar10: $dest already holds $expected images; nothing to do"
  exit 0
fi

if [ ! -f "$archive" ]; then
  echo "extract-cifar10: archive not found: $archive" >&2
  echo "  pass its path as the first argument" >&2
  exit 1
fi

if [ "$(basename "$archive")" = "cifar10-jpeg.tar.gz" ] && command -v sha256sum >/dev/null; then
  sum="$(sha256sum "$archive" | cut -d' ' -f1)"
  if [ "${sum:0:${#sha_head}}" != "$sha_head" ] || [ "${sum: -${#sha_tail}}" != "$sha_tail" ]; then
    echo "extract-cifar10: $archive has sha256 $sum, expected ${sha_head}...${sha_tail}" >&2
    exit 1
  fi
fi

# Extract beside the destination, then move into place, so an interrupted run never
# leaves a half-filled folder that looks complete.
mkdir -p "$data_root"
tmp="$(mktemp -d "$data_root/.cifar10-extract.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$archive" -C "$tmp"
src="$tmp/cifar10"
if [ ! -d "$src/train" ] || [ ! -d "$src/test" ]; then
  echo "extract-cifar10: $archive does not hold cifar10/train and cifar10/test" >&2
  exit 1
fi
got="$(find "$src/train" "$src/test" -type f -iname '*.jpg' | wc -l)"
if [ "$got" -ne "$expected" ]; then
  echo "extract-cifar10: $archive held $got images, expected $expected" >&2
  exit 1
fi
rm -rf "$dest"
mv "$src" "$dest"
echo "extract-cifar10: extracted $got images into $dest"
