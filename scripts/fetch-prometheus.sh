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
FETCH_NAME=fetch-prometheus
# shellcheck source=fetch-common.sh
. "$here/fetch-common.sh"
DIR="$CACHE/prometheus-$VERSION/bin"
if [ -x "$DIR/prometheus" ]; then
  log "Prometheus $VERSION cached in $DIR"
  exit 0
fi
command -v go >/dev/null 2>&1 || die "the Go toolchain is required to build Prometheus $VERSION; install it (https://go.dev/dl/)"
go_env local
fetch_tmp
log "building Prometheus $VERSION (a few minutes on 2 cores; started $(date -u +%H:%M:%SZ))"
t0=$(now)
GOBIN="$tmp" go install -trimpath \
  -ldflags="-s -w -X github.com/prometheus/common/version.Version=$VERSION" \
  "github.com/prometheus/prometheus/cmd/prometheus@$VERSION" >"$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log" >&2; die "go install github.com/prometheus/prometheus/cmd/prometheus@$VERSION failed"; }
mkdir -p "$DIR"
mv -f "$tmp/prometheus" "$DIR/prometheus.tmp" && mv -f "$DIR/prometheus.tmp" "$DIR/prometheus"
log "built in $(( $(now) - t0 ))s: $DIR/prometheus"
