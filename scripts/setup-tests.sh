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
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

missing_from() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}
install_quietly() {
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

mapfile -t missing < <(missing_from "${required[@]}")
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-tests: installing ${missing[*]}"
  install_quietly "${missing[@]}"
fi
mapfile -t missing < <(missing_from "${optional[@]}")
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-tests: ${required[*]} ${optional[*]} installed"
elif install_quietly "${missing[@]}"; then
  echo "setup-tests: installed ${missing[*]}"
else
  echo "setup-tests: warning: could not install ${missing[*]}; the tests that need them will skip" >&2
fi
