#!/bin/sh
# Builds the control-plane binaries the control-plane tests need, at pinned versions
# (test/controlplane/versions.env), from their Go modules:
#
#   kube-apiserver, kube-controller-manager,
#   kube-scheduler, kubelet, kube-proxy, kubectl  -> $DAWN_CACHE/k8s-<version>/bin/
#   etcd                                          -> $DAWN_CACHE/etcd-<version>/bin/
#   coredns                                       -> $DAWN_CACHE/coredns-<version>/bin/
#
# The first two serve the control-plane tier; the rest complete the single-node
# cluster of test/cluster/ (the e2e tier).
#
# DAWN_CACHE defaults to ~/.cache/dawn. Cached binaries are reused (nothing is rebuilt
# when they exist). With DAWN_K8S_BIN_DIR set to a directory holding kube-apiserver,
# kube-controller-manager and etcd, nothing is built and that directory is used.
#
# Why a wrapper module: k8s.io/kubernetes cannot be `go install`ed because its go.mod
# replaces the k8s.io/* staging modules with local paths (./staging/src/...), which the
# module zip does not contain. A throwaway module that requires k8s.io/kubernetes and
# replaces each staging module with its published v0.<minor>.<patch> builds fine.
# etcd's server module has the same problem (replaces ../api etc.), same fix.
#
# Needs: go >= the go directive of the pinned modules (1.26), access to the Go module
# proxy. First build takes a while (tens of minutes on 2 cores); later runs are instant.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
K8S_VERSION="${DAWN_K8S_VERSION:-$K8S_VERSION}"
ETCD_VERSION="${DAWN_ETCD_VERSION:-$ETCD_VERSION}"
COREDNS_VERSION="${DAWN_COREDNS_VERSION:-$COREDNS_VERSION}"
FETCH_NAME=fetch-binaries
# shellcheck source=../../scripts/fetch-common.sh
. "$here/../../scripts/fetch-common.sh"
K8S_DIR="$CACHE/k8s-$K8S_VERSION/bin"
ETCD_DIR="$CACHE/etcd-$ETCD_VERSION/bin"
COREDNS_DIR="$CACHE/coredns-$COREDNS_VERSION/bin"
K8S_BINARIES="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl"

show_versions() { # dir-of-apiserver-and-kcm dir-of-etcd
  log "kube-apiserver:          $("$1/kube-apiserver" --version 2>&1 | head -n1)  ($1/kube-apiserver)"
  log "kube-controller-manager: $("$1/kube-controller-manager" --version 2>&1 | head -n1)  ($1/kube-controller-manager)"
  log "etcd:                    $("$2/etcd" --version 2>&1 | head -n1)  ($2/etcd)"
}

if [ -n "${DAWN_K8S_BIN_DIR:-}" ]; then
  for b in kube-apiserver kube-controller-manager etcd; do
    [ -x "$DAWN_K8S_BIN_DIR/$b" ] || die "DAWN_K8S_BIN_DIR=$DAWN_K8S_BIN_DIR has no executable '$b' (needs kube-apiserver, kube-controller-manager, etcd)"
  done
  log "DAWN_K8S_BIN_DIR is set: using binaries from $DAWN_K8S_BIN_DIR, building nothing"
  show_versions "$DAWN_K8S_BIN_DIR" "$DAWN_K8S_BIN_DIR"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "the Go toolchain (go >= 1.26) is required to build the control-plane binaries; install it, or set DAWN_K8S_BIN_DIR to a directory with kube-apiserver, kube-controller-manager and etcd"

go_env local

case "$K8S_VERSION" in v1.*.*) ;; *) die "K8S_VERSION must look like v1.X.Y, got '$K8S_VERSION'";; esac
STAGING_VERSION="v0.${K8S_VERSION#v1.}"

fetch_tmp

json_field() { # file field -> first string value of "field" in go's -json output
  sed -n "s/^[[:space:]]*\"$2\": \"\\(.*\\)\",\{0,1\}\$/\\1/p" "$1" | head -n1
}

new_wrapper() { # dir module-path
  mkdir -p "$1"
  (cd "$1" && go mod init "$2" >/dev/null 2>&1) || die "go mod init failed in $1"
}

build_k8s() {
  need=""
  for b in $K8S_BINARIES; do
    [ -x "$K8S_DIR/$b" ] || need="$need $b"
  done
  if [ -z "$need" ]; then
    log "Kubernetes $K8S_VERSION: cached in $K8S_DIR"
    return 0
  fi
  log "Kubernetes $K8S_VERSION: building$need into $K8S_DIR"
  w="$tmp/k8s"
  new_wrapper "$w" dawn.local/k8s-binaries
  cd "$w"
  log "  downloading k8s.io/kubernetes@$K8S_VERSION to read its staging replace block"
  go mod download -json "k8s.io/kubernetes@$K8S_VERSION" >"$tmp/k8s.json" 2>&1 ||
    die "could not download k8s.io/kubernetes@$K8S_VERSION: $(cat "$tmp/k8s.json")"
  moddir=$(json_field "$tmp/k8s.json" Dir)
  commit=$(json_field "$tmp/k8s.json" Hash)
  [ -n "$moddir" ] && [ -f "$moddir/go.mod" ] || die "k8s.io/kubernetes@$K8S_VERSION: no go.mod in the module cache ($(cat "$tmp/k8s.json"))"
  info=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$K8S_VERSION.info
  built=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info" 2>/dev/null || true)

  # Every `k8s.io/x => ./staging/src/k8s.io/x` line (block or single-line form).
  staging=$(awk '/=>[[:space:]]*\.\/staging\// { for (i = 1; i <= NF; i++) if ($i ~ /^k8s\.io\//) { print $i; break } }' "$moddir/go.mod" | sort -u)
  [ -n "$staging" ] || die "found no staging replace lines in $moddir/go.mod"
  n=0
  go mod edit -require="k8s.io/kubernetes@$K8S_VERSION"
  for m in $staging; do
    go mod edit -replace="$m=$m@$STAGING_VERSION"
    n=$((n + 1))
  done
  log "  wrapper module: requires k8s.io/kubernetes $K8S_VERSION, replaces $n staging modules with $STAGING_VERSION"
  # A tools file so `go mod tidy` records exactly what the commands need.
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for b in $K8S_BINARIES; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$b"; done
    printf ')\n'
  } >tools.go
  log "  go mod tidy (downloads the dependency graph)"
  go mod tidy >"$tmp/tidy.log" 2>&1 || { cat "$tmp/tidy.log" >&2; die "go mod tidy failed for the Kubernetes wrapper module"; }

  major=1
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    [ -n "$commit" ] && ld="$ld -X $pkg.gitCommit=$commit"
    [ -n "$built" ] && ld="$ld -X $pkg.buildDate=$built"
  done
  mkdir -p "$tmp/out"
  for b in $need; do
    log "  go build $b (this is the slow part; started $(date -u +%H:%M:%SZ))"
    t0=$(now)
    go build -trimpath -ldflags="$ld" -o "$tmp/out/$b" "k8s.io/kubernetes/cmd/$b" >"$tmp/build-$b.log" 2>&1 ||
      { cat "$tmp/build-$b.log" >&2; die "go build k8s.io/kubernetes/cmd/$b failed"; }
    log "  built $b in $(($(now) - t0))s"
  done
  mkdir -p "$K8S_DIR"
  for b in $need; do
    mv -f "$tmp/out/$b" "$K8S_DIR/$b.tmp" && mv -f "$K8S_DIR/$b.tmp" "$K8S_DIR/$b"
  done
  cd "$here"
}

build_etcd() {
  if [ -x "$ETCD_DIR/etcd" ]; then
    log "etcd $ETCD_VERSION: cached in $ETCD_DIR"
    return 0
  fi
  log "etcd $ETCD_VERSION: building into $ETCD_DIR"
  w="$tmp/etcd"
  new_wrapper "$w" dawn.local/etcd-binary
  cd "$w"
  go mod download -json "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >"$tmp/etcd.json" 2>&1 ||
    die "could not download go.etcd.io/etcd/server/v3@$ETCD_VERSION: $(cat "$tmp/etcd.json")"
  moddir=$(json_field "$tmp/etcd.json" Dir)
  go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  # etcd's server/go.mod replaces its sibling modules with ../api etc.; pin them instead.
  for m in $(awk '/=>[[:space:]]*\.\.\// { for (i = 1; i <= NF; i++) if ($i ~ /^go\.etcd\.io\//) { print $i; break } }' "$moddir/go.mod" | sort -u); do
    go mod edit -replace="$m=$m@$ETCD_VERSION"
  done
  cat >tools.go <<EOF
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
EOF
  go mod tidy >"$tmp/tidy-etcd.log" 2>&1 || { cat "$tmp/tidy-etcd.log" >&2; die "go mod tidy failed for the etcd wrapper module"; }
  log "  go build etcd (started $(date -u +%H:%M:%SZ))"
  t0=$(now)
  mkdir -p "$tmp/out"
  go build -trimpath -ldflags="-s -w" -o "$tmp/out/etcd" go.etcd.io/etcd/server/v3 >"$tmp/build-etcd.log" 2>&1 ||
    { cat "$tmp/build-etcd.log" >&2; die "go build go.etcd.io/etcd/server/v3 failed"; }
  log "  built etcd in $(($(now) - t0))s"
  mkdir -p "$ETCD_DIR"
  mv -f "$tmp/out/etcd" "$ETCD_DIR/etcd.tmp" && mv -f "$ETCD_DIR/etcd.tmp" "$ETCD_DIR/etcd"
  cd "$here"
}

build_coredns() {
  if [ -x "$COREDNS_DIR/coredns" ]; then
    log "CoreDNS $COREDNS_VERSION: cached in $COREDNS_DIR"
    return 0
  fi
  log "CoreDNS $COREDNS_VERSION: building into $COREDNS_DIR (started $(date -u +%H:%M:%SZ))"
  t0=$(now)
  mkdir -p "$tmp/coredns-bin"
  GOBIN="$tmp/coredns-bin" go install -trimpath -ldflags="-s -w" "github.com/coredns/coredns@$COREDNS_VERSION" >"$tmp/build-coredns.log" 2>&1 ||
    { cat "$tmp/build-coredns.log" >&2; die "go install github.com/coredns/coredns@$COREDNS_VERSION failed"; }
  log "  built coredns in $(($(now) - t0))s"
  mkdir -p "$COREDNS_DIR"
  mv -f "$tmp/coredns-bin/coredns" "$COREDNS_DIR/coredns.tmp" && mv -f "$COREDNS_DIR/coredns.tmp" "$COREDNS_DIR/coredns"
}

log "go: $(go version)"
log "cache: $CACHE  (Kubernetes $K8S_VERSION, etcd $ETCD_VERSION, CoreDNS $COREDNS_VERSION)"
case "${1:-all}" in
  all) build_etcd; build_k8s; build_coredns ;;
  etcd) build_etcd ;;
  k8s) build_k8s ;;
  coredns) build_coredns ;;
  *) die "usage: $0 [all|etcd|k8s|coredns]" ;;
esac
[ "${1:-all}" = all ] && show_versions "$K8S_DIR" "$ETCD_DIR"
log "done"
