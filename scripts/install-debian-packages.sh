#!/bin/sh
# Debian packages the tests use: Chromium for the browser tests (playwright-core
# drives it; no browser download) and iproute2 (`ip netns`) for the isolated-host
# mesh tests. Installs only what is missing.
set -eu
missing=""
[ -x "${DAWN_CHROMIUM:-/usr/bin/chromium}" ] || missing="$missing chromium fonts-dejavu-core"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "dawn: missing Debian packages:$missing. Install them with: sudo apt-get install -y$missing (or set DAWN_CHROMIUM=/path/to/chromium)" >&2
  exit 1
fi
echo "dawn: installing Debian packages:$missing" >&2
apt-get update -qq >/dev/null 2>&1 || true
# shellcheck disable=SC2086 # the list is meant to split
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
