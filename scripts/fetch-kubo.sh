#!/bin/sh
# Builds the Kubo (IPFS) daemon the mesh tests and benchmarks run against, at a pinned
# version, from its Go module:
#
#   ipfs -> $DAWN_CACHE/kubo-<version>/bin/ipfs
#
# DAWN_CACHE defaults to ~/.cache/dawn. A cached binary is reused. With DAWN_KUBO_BIN set
# to an existing ipfs binary, nothing is built and that binary is used.
#
# Why a wrapper module: the Go module proxy here refuses to list module versions, which
# `go install github.com/ipfs/kubo/cmd/ipfs@<version>` needs. A throwaway module that
# requires kubo at the pinned version and builds cmd/ipfs works.
#
# Needs: go, access to the Go module proxy (also for the toolchain below). First build
# takes a few minutes; later runs are instant.
set -eu

KUBO_VERSION="${DAWN_KUBO_VERSION:-v0.38.1}"
# Kubo v0.38.1 does not build with Go 1.26: its dependency github.com/cockroachdb/swiss
# links runtime.fastrand64, which 1.26 removed ("undefined: fastrand64"). go fetches this
# toolchain from the module proxy on first use.
KUBO_GO_TOOLCHAIN=go1.25.4

FETCH_NAME=fetch-kubo
# shellcheck source=fetch-common.sh
. "$(cd "$(dirname "$0")" && pwd)/fetch-common.sh"
KUBO_DIR="$CACHE/kubo-$KUBO_VERSION/bin"
OUT="$KUBO_DIR/ipfs"

show_version() { log "ipfs: $("$1" version 2>&1 | head -n1)  ($1)"; }

use_given_binary DAWN_KUBO_BIN "an ipfs binary"

if [ -x "$OUT" ]; then
  log "Kubo $KUBO_VERSION: cached in $KUBO_DIR"
  show_version "$OUT"
  exit 0
fi

case "$KUBO_VERSION" in v*.*.*) ;; *) die "the Kubo version must look like vX.Y.Z, got '$KUBO_VERSION' (check DAWN_KUBO_VERSION)";; esac
command -v go >/dev/null 2>&1 ||
  die "the Go toolchain is required to build Kubo; install it (https://go.dev/dl/), or set DAWN_KUBO_BIN to an ipfs $KUBO_VERSION binary"

go_env "$KUBO_GO_TOOLCHAIN"
fetch_tmp

log "go: $(go version 2>&1 | head -n1)" # also fetches $KUBO_GO_TOOLCHAIN when missing
go version >/dev/null 2>&1 ||
  die "could not get Go toolchain $KUBO_GO_TOOLCHAIN ($(go version 2>&1 | tail -n1)); check access to the Go module proxy, or set DAWN_KUBO_BIN to an ipfs $KUBO_VERSION binary"
log "Kubo $KUBO_VERSION: building into $KUBO_DIR"
t0=$(now)
w="$tmp/kubo"
mkdir -p "$w"
cd "$w"
cat >go.mod <<EOF
module dawn.local/kubo-build

go 1.24
EOF
go mod edit -require="github.com/ipfs/kubo@$KUBO_VERSION"
# A tools file so `go mod tidy` records exactly what cmd/ipfs needs.
cat >tools.go <<EOF
//go:build tools

package tools

import _ "github.com/ipfs/kubo/cmd/ipfs"
EOF
log "  go mod tidy (downloads the dependency graph)"
go mod tidy -e >"$tmp/tidy.log" 2>&1 ||
  { cat "$tmp/tidy.log" >&2; die "go mod tidy failed for the Kubo wrapper module; check access to the Go module proxy"; }
log "  go build github.com/ipfs/kubo/cmd/ipfs (started $(date -u +%H:%M:%SZ))"
mkdir -p "$tmp/out"
go build -trimpath -ldflags="-s -w" -o "$tmp/out/ipfs" github.com/ipfs/kubo/cmd/ipfs >"$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log" >&2; die "go build github.com/ipfs/kubo/cmd/ipfs failed (Go toolchain $KUBO_GO_TOOLCHAIN)"; }
log "  built ipfs in $(($(now) - t0))s"
mkdir -p "$KUBO_DIR"
mv -f "$tmp/out/ipfs" "$OUT.tmp" && mv -f "$OUT.tmp" "$OUT"
cd /
show_version "$OUT"
log "done"
