#!/bin/sh
# Debian's Chromium for the browser tests (playwright-core drives it; no browser download).
set -eu
if [ -x "${DAWN_CHROMIUM:-/usr/bin/chromium}" ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "dawn: Chromium is missing. Install it with: sudo apt-get install -y chromium (or set DAWN_CHROMIUM=/path/to/chromium)" >&2
  exit 1
fi
echo "dawn: installing Debian chromium" >&2
apt-get update -qq >/dev/null 2>&1 || true
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
