#!/bin/sh
# Debian packages the tests use. Installs only what is missing.
#   chromium            browser tests (playwright-core drives it; no browser download)
#   iproute2            `ip netns` for the isolated-host mesh tests and the cluster's netns
#   containerd, runc    the container runtime of the single-node cluster (test/cluster/)
#   containernetworking-plugins  its CNI bridge, host-local IPAM, loopback and portmap
#   iptables, conntrack kube-proxy's iptables mode (only ever inside the cluster's netns)
#   busybox-static      the one static shell the images carry (the init scripts)
#   gcc, libc6-dev      the static pause binary of the pod sandbox image
#   prometheus          promtool: checks and unit-tests the alert rules (monitoring/rules/)
#   prometheus-alertmanager  amtool: checks the rendered alertmanager.yml
#   libfaketime         the chaos tier's clock skew (LD_PRELOAD into one node process)
#   python3, python3-venv  the venv of the official MCP Python SDK (scripts/fetch-python-mcp.sh)
#   libjemalloc2        the allocator local-mesh nodes run with (node-process.ts nodeMallocEnv; ~35 MiB less per node)
set -eu
missing=""
[ -x "${DAWN_CHROMIUM:-/usr/bin/chromium}" ] || missing="$missing chromium fonts-dejavu-core"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
command -v containerd >/dev/null 2>&1 || missing="$missing containerd"
command -v runc >/dev/null 2>&1 || missing="$missing runc"
[ -x /usr/lib/cni/bridge ] || missing="$missing containernetworking-plugins"
command -v iptables >/dev/null 2>&1 || missing="$missing iptables"
command -v conntrack >/dev/null 2>&1 || missing="$missing conntrack"
[ -x /bin/busybox ] || missing="$missing busybox-static"
command -v gcc >/dev/null 2>&1 || missing="$missing gcc"
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || missing="$missing libc6-dev"
command -v promtool >/dev/null 2>&1 || missing="$missing prometheus"
command -v amtool >/dev/null 2>&1 || missing="$missing prometheus-alertmanager"
[ -f /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || missing="$missing libfaketime"
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing="$missing python3 python3-venv"
[ -f /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ] || [ -f /usr/lib/aarch64-linux-gnu/libjemalloc.so.2 ] || missing="$missing libjemalloc2"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "dawn: missing Debian packages:$missing. Install them with: sudo apt-get install -y$missing (or set DAWN_CHROMIUM=/path/to/chromium)" >&2
  exit 1
fi
echo "dawn: installing Debian packages:$missing" >&2
apt-get update -qq >/dev/null 2>&1 || true
# No service is started: the cluster harness runs containerd itself, inside its netns (and
# the tests run promtool/amtool, never the prometheus or alertmanager services).
# shellcheck disable=SC2086 # the list is meant to split
DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends $missing >/dev/null
