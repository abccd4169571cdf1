#!/usr/bin/env bash
# Extracts the shared image archives into the ssdd data folder, outside the checkout:
#   ${SSDD_DATA:-${SSDD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ssdd}/data}/<name>/
# which is where `ssdd ... --data <name>` looks by default:
#   cifar10     cifar10-jpeg.tar.gz    -> cifar10/{train,test}/<class>/*.jpg     60,000 images
#   imagenette  imagenette2-64.tar.gz  -> imagenette/{train,val}/<wnid>/*.jpg   13,394 (9,469 + 3,925)
#   imagewoof   imagewoof2-64.tar.gz   -> imagewoof/{train,val}/<wnid>/*.jpg    12,954 (9,025 + 3,929)
# Usage: scripts/extract-data.sh [NAME[=ARCHIVE]]...
#   No names: every archive present in ../shared/data (none present: nothing to do).
#   A name without =ARCHIVE reads ../shared/data/<its archive>.
# Checks: the archive's sha256 against the first and last hex digits the shared README
# publishes (only for the archive's own file name: the README gives no full digests), then
# the image count of every split. Idempotent: a complete earlier extraction is left as is.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="$here/../shared/data"
data_root="${SSDD_DATA:-${SSDD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ssdd}/data}"

# name: archive file, folder inside it, its splits, image count, sha256 head and tail.
spec() {
  case "$1" in
    cifar10) echo "cifar10-jpeg.tar.gz cifar10 train,test 60000 cb6c5052 34a5f" ;;
    imagenette) echo "imagenette2-64.tar.gz imagenette2-64 train,val 13394 8ba3f363 1b9c" ;;
    imagewoof) echo "imagewoof2-64.tar.gz imagewoof2-64 train,val 12954 7d87f1e1 f7da" ;;
    *) return 1 ;;
  esac
}
names=(cifar10 imagenette imagewoof)

count_images() {  # count_images DIR SPLITS
  local dir="$1" split dirs=()
  for split in ${2//,/ }; do
    [ -d "$dir/$split" ] || { echo 0; return; }
    dirs+=("$dir/$split")
  done
  find "${dirs[@]}" -type f \( -iname '*.jpg' -o -iname '*.jpeg' \) | wc -l
}

extract() {  # extract NAME ARCHIVE
  local name="$1" archive="$2" file inner splits expected sha_head sha_tail
  read -r file inner splits expected sha_head sha_tail <<<"$(spec "$name")"
  local dest="$data_root/$name" tag="extract-data: $name"
  if [ "$(count_images "$dest" "$splits")" -eq "$expected" ]; then
    echo "$tag: $dest already holds $expected images; nothing to do"
    return 0
  fi
  if [ ! -f "$archive" ]; then
    echo "$tag: archive not found: $archive (pass it as $name=ARCHIVE)" >&2
    return 1
  fi
  if [ "$(basename "$archive")" = "$file" ] && command -v sha256sum >/dev/null; then
    local sum
    sum="$(sha256sum "$archive" | cut -d' ' -f1)"
    if [ "${sum:0:${#sha_head}}" != "$sha_head" ] || [ "${sum: -${#sha_tail}}" != "$sha_tail" ]; then
      echo "$tag: $archive has sha256 $sum, expected ${sha_head}...${sha_tail}" >&2
      return 1
    fi
  fi
  # Extract beside the destination, then move into place, so an interrupted run never
  # leaves a half-filled folder that looks complete.
  mkdir -p "$data_root"
  local tmp
  tmp="$(mktemp -d "$data_root/.$name-extract.XXXXXX")"
  if ! tar -xzf "$archive" -C "$tmp" "$inner"; then
    rm -rf "$tmp"
    echo "$tag: $archive does not hold $inner/" >&2
    return 1
  fi
  local got
  got="$(count_images "$tmp/$inner" "$splits")"
  if [ "$got" -ne "$expected" ]; then
    rm -rf "$tmp"
    echo "$tag: $archive held $got images in $inner/{$splits}, expected $expected" >&2
    return 1
  fi
  rm -rf "$dest"
  mv "$tmp/$inner" "$dest"
  rm -rf "$tmp"
  echo "$tag: extracted $got images into $dest"
}

if [ $# -eq 0 ]; then
  found=0
  for name in "${names[@]}"; do
    read -r file _ <<<"$(spec "$name")"
    if [ -f "$shared/$file" ]; then
      found=1
      extract "$name" "$shared/$file"
    fi
  done
  [ "$found" -eq 1 ] || echo "extract-data: no archives in $shared; nothing to do"
  exit 0
fi

for arg in "$@"; do
  name="${arg%%=*}"
  if ! spec "$name" >/dev/null; then
    echo "extract-data: unknown data set '$name' (known: ${names[*]})" >&2
    exit 2
  fi
  read -r file _ <<<"$(spec "$name")"
  archive="$shared/$file"
  [ "$arg" = "$name" ] || archive="${arg#*=}"
  extract "$name" "$archive"
done
