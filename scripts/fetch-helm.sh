#!/bin/sh
# Builds helm, which the chart tests (charts/test/) run, at the version pinned in
# test/controlplane/versions.env (HELM_VERSION), from its Go module:
#
#   helm -> $DAWN_CACHE/helm-<version>/bin/helm
#
# DAWN_CACHE defaults to ~/.cache/dawn. A cached binary is reused (nothing is rebuilt
# when it exists). With DAWN_HELM_BIN set to an existing helm binary, nothing is built
# and that binary is used.
#
# The version is stamped the way helm's Makefile does it
# (-X helm.sh/helm/v4/internal/version.version=...), so `helm version` prints it.
#
# Needs: go >= 1.26 (the go directive of helm.sh/helm/v4 v4.3.2), access to the Go
# module proxy. The first build took 168 s on 2 cores from empty Go module and build
# caches (download included); later runs are instant.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../test/controlplane/versions.env
. "$here/../test/controlplane/versions.env"
HELM_VERSION="${DAWN_HELM_VERSION:-$HELM_VERSION}"
FETCH_NAME=fetch-helm
# shellcheck source=fetch-common.sh
. "$here/fetch-common.sh"
HELM_DIR="$CACHE/helm-$HELM_VERSION/bin"
OUT="$HELM_DIR/helm"

show_version() { log "helm: $("$1" version --short 2>&1 | head -n1)  ($1)"; }

use_given_binary DAWN_HELM_BIN "a helm binary"

if [ -x "$OUT" ]; then
  log "Helm $HELM_VERSION: cached in $HELM_DIR"
  show_version "$OUT"
  exit 0
fi

case "$HELM_VERSION" in v4.*.*) ;; *) die "HELM_VERSION must look like v4.X.Y (the module path is helm.sh/helm/v4), got '$HELM_VERSION'";; esac
command -v go >/dev/null 2>&1 ||
  die "the Go toolchain (go >= 1.26) is required to build helm; install it (https://go.dev/dl/), or set DAWN_HELM_BIN to a helm $HELM_VERSION binary"

go_env local
fetch_tmp

ld="-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
log "go: $(go version)"
log "Helm $HELM_VERSION: building into $HELM_DIR (started $(date -u +%H:%M:%SZ))"
t0=$(now)
# helm.sh/helm/v4 has no replace directives, so `go install <pkg>@<version>` builds it as
# published. Run it outside any module so the repository's files play no part.
mkdir -p "$tmp/bin"
(cd "$tmp" && GOBIN="$tmp/bin" go install -trimpath -ldflags="$ld" "helm.sh/helm/v4/cmd/helm@$HELM_VERSION") >"$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log" >&2; die "go install helm.sh/helm/v4/cmd/helm@$HELM_VERSION failed; check access to the Go module proxy"; }
log "  built helm in $(($(now) - t0))s"
got=$("$tmp/bin/helm" version --template '{{.Version}}' 2>&1) ||
  die "the built helm does not run: $got"
[ "$got" = "$HELM_VERSION" ] ||
  die "the built helm reports version '$got', expected '$HELM_VERSION' (has helm.sh/helm/v4/internal/version.version moved?)"
mkdir -p "$HELM_DIR"
mv -f "$tmp/bin/helm" "$OUT.tmp" && mv -f "$OUT.tmp" "$OUT"
show_version "$OUT"
log "done"
