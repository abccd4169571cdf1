#!/usr/bin/env bash
# What the tests need beyond building ssdd: Debian's python3-torch and python3-torchvision,
# so the cross-checks with Python run (torch.load of our files, torch.save'd teachers to
# import). Idempotent; without them those tests skip with a message, nothing else changes.
set -euo pipefail
packages=(python3-torch python3-torchvision python3-numpy)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-tests: ${packages[*]} already installed"
  exit 0
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "setup-tests: installing ${missing[*]}"
if $SUDO apt-get update -qq &&
   DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
  echo "setup-tests: installed ${missing[*]}"
else
  echo "setup-tests: warning: could not install ${missing[*]}; the Python cross-check tests will skip" >&2
fi
