#!/usr/bin/env bash
# What the test suite needs beyond building and running ssdd (scripts/setup.sh). Idempotent.
# Required: GoogleTest (the suite does not build without it). Optional, installed when Debian's
# archive allows and otherwise skipped with a warning: chromium (the report test renders
# report.html headless) and python3-torch, python3-torchvision (the cross-checks with Python:
# torch.load of our files, torch.save'd teachers to import); the tests that need them skip
# with a message where they are absent.
set -euo pipefail
required=(libgtest-dev libgmock-dev)
optional=(chromium python3-torch python3-torchvision python3-numpy)
source "$(dirname "$0")/debian-packages.sh"

mapfile -t missing < <(missing_packages "${required[@]}")
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-tests: installing ${missing[*]}"
  install_packages "${missing[@]}"
fi
mapfile -t missing < <(missing_packages "${optional[@]}")
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-tests: ${required[*]} ${optional[*]} installed"
elif install_packages "${missing[@]}"; then
  echo "setup-tests: installed ${missing[*]}"
else
  echo "setup-tests: warning: could not install ${missing[*]}; the tests that need them will skip" >&2
fi
