#!/bin/sh
# Fetches the prometheus-operator CRDs the operator's monitoring tests install, at the
# version pinned in test/controlplane/versions.env (PROMETHEUS_OPERATOR_VERSION), from
# its Go module (never copied into this repository):
#
#   monitoring.coreos.com_{podmonitors,prometheusrules,alertmanagerconfigs}.yaml
#     -> $DAWN_CACHE/prometheus-operator-<version>/
#
# DAWN_CACHE defaults to ~/.cache/dawn. Cached files are reused.
# Needs: go, access to the Go module proxy (the module zip is ~10 MB).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
VERSION="${DAWN_PROMETHEUS_OPERATOR_VERSION:-$PROMETHEUS_OPERATOR_VERSION}"
FETCH_NAME=fetch-prometheus-operator-crds
# shellcheck source=../../scripts/fetch-common.sh
. "$here/../../scripts/fetch-common.sh"
DIR="$CACHE/prometheus-operator-$VERSION"
MODULE=github.com/prometheus-operator/prometheus-operator
CRDS="podmonitors prometheusrules alertmanagerconfigs"

have=1
for c in $CRDS; do [ -s "$DIR/monitoring.coreos.com_$c.yaml" ] || have=0; done
if [ "$have" = 1 ]; then
  log "prometheus-operator $VERSION CRDs: cached in $DIR"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "the Go toolchain is required to download $MODULE@$VERSION; install it (https://go.dev/dl/)"
go_env local
fetch_tmp

# `go mod download` of a module outside any module needs a throwaway go.mod.
(cd "$tmp" && go mod init dawn.local/po-crds >/dev/null 2>&1) || die "go mod init failed in $tmp"
log "downloading $MODULE@$VERSION"
(cd "$tmp" && go mod download -json "$MODULE@$VERSION") >"$tmp/dl.json" 2>&1 ||
  die "could not download $MODULE@$VERSION: $(cat "$tmp/dl.json")"
moddir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' "$tmp/dl.json" | head -n1)
[ -n "$moddir" ] && [ -d "$moddir" ] || die "$MODULE@$VERSION: no module directory in: $(cat "$tmp/dl.json")"

mkdir -p "$DIR"
for c in $CRDS; do
  src="$moddir/example/prometheus-operator-crd-full/monitoring.coreos.com_$c.yaml"
  [ -f "$src" ] || die "$MODULE@$VERSION has no $src"
  cp "$src" "$DIR/monitoring.coreos.com_$c.yaml.tmp"
  chmod 0644 "$DIR/monitoring.coreos.com_$c.yaml.tmp"
  mv -f "$DIR/monitoring.coreos.com_$c.yaml.tmp" "$DIR/monitoring.coreos.com_$c.yaml"
done
log "prometheus-operator $VERSION CRDs ($CRDS) in $DIR"
