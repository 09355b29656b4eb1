#!/usr/bin/env bash
# The admin tests drive a real Chromium (Debian's package; Playwright never downloads a browser here).
# Installs it when missing and this user may; otherwise says what to do. The tests fail without it.
set -u
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "ordersync: installing Chromium for the admin browser tests (apt-get install chromium)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && exit 0
fi
echo "ordersync: /usr/bin/chromium is missing; install it (sudo apt-get install chromium) or the browser tests fail" >&2
exit 0
