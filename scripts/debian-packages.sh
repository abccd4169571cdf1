# Sourced by the set-up scripts (setup.sh, setup-tests.sh, setup-bench.sh, setup-fuzz.sh,
# device-kit.sh): the one place that asks dpkg what is installed and installs what is not.
# `set -euo pipefail` is the caller's.

# Prints, one per line, the packages among "$@" that dpkg does not list as installed.
missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

# Installs "$@" from Debian's archive without recommends or apt's chatter (sudo unless root).
install_packages() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
