#!/usr/bin/env bash
# usage: ensure_package.sh BINARY PACKAGE WHAT-NEEDS-IT
# The tests and benchmarks drive real Debian programs (Chromium for the admin pages, wrk for load; Playwright never
# downloads a browser here). Installs the package when the binary is missing and this user may; otherwise says what
# to do. What needs it then fails with its own error.
set -u
binary=$1 package=$2 needed_by=$3
[ -x "$binary" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "ordersync: installing $package for $needed_by (apt-get install $package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null && exit 0
fi
echo "ordersync: $binary is missing; install it (sudo apt-get install $package) or $needed_by fail" >&2
exit 0
