#!/bin/sh
# Builds Prometheus from its Go module at the version pinned in
# test/controlplane/versions.env (PROMETHEUS_VERSION, the module's v0.3xx.y tag of
# Prometheus 3.x) into ${DAWN_CACHE:-~/.cache/dawn}/prometheus-<version>/bin/prometheus.
# Nothing is rebuilt when it is there.
#
# Why not Debian's: its prometheus 2.42 is built without Kubernetes service discovery,
# and the live alert test discovers the node pods the way a PodMonitor has Prometheus
# do it. (promtool and Alertmanager come from Debian: scripts/install-debian-packages.sh.)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../test/controlplane/versions.env
. "$here/../test/controlplane/versions.env"
VERSION="${DAWN_PROMETHEUS_VERSION:-$PROMETHEUS_VERSION}"
CACHE="${DAWN_CACHE:-$HOME/.cache/dawn}"
DIR="$CACHE/prometheus-$VERSION/bin"
if [ -x "$DIR/prometheus" ]; then
  echo "fetch-prometheus: Prometheus $VERSION cached in $DIR" >&2
  exit 0
fi
command -v go >/dev/null 2>&1 || { echo "fetch-prometheus: ERROR: the Go toolchain is required to build Prometheus $VERSION" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dawn-fetch-prometheus.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "fetch-prometheus: building Prometheus $VERSION (a few minutes on 2 cores; started $(date -u +%H:%M:%SZ))" >&2
t0=$(date +%s)
GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$tmp" go install -trimpath \
  -ldflags="-s -w -X github.com/prometheus/common/version.Version=$VERSION" \
  "github.com/prometheus/prometheus/cmd/prometheus@$VERSION" >"$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log" >&2; echo "fetch-prometheus: ERROR: go install github.com/prometheus/prometheus/cmd/prometheus@$VERSION failed" >&2; exit 1; }
mkdir -p "$DIR"
mv -f "$tmp/prometheus" "$DIR/prometheus.tmp" && mv -f "$DIR/prometheus.tmp" "$DIR/prometheus"
echo "fetch-prometheus: built in $(( $(date +%s) - t0 ))s: $DIR/prometheus" >&2
