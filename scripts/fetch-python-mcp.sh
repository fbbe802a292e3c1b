#!/bin/sh
# Installs the official MCP Python SDK at a pinned version into a venv of its own, for the
# MCP feature probes (test/support/mcp-features/feature_probe.py):
#
#   $DAWN_CACHE/python-mcp-<version>/bin/python   (with `mcp==<version>` installed by pip)
#
# DAWN_CACHE defaults to ~/.cache/dawn. A complete venv is reused: the script then only checks
# that `mcp` imports at the pinned version. Needs python3 (3.10+) with the venv module, and
# access to the Python package index through pip.
set -eu

MCP_VERSION=2.3.0
FETCH_NAME=fetch-python-mcp
# shellcheck source=fetch-common.sh
. "$(cd "$(dirname "$0")" && pwd)/fetch-common.sh"
VENV="$CACHE/python-mcp-$MCP_VERSION"
PY="$VENV/bin/python"
STAMP="$VENV/.dawn-complete"

installed_version() { "$PY" -c 'import importlib.metadata as m; print(m.version("mcp"))' 2>/dev/null || true; }

if [ -f "$STAMP" ] && [ -x "$PY" ] && [ "$(installed_version)" = "$MCP_VERSION" ]; then
  log "mcp $MCP_VERSION: cached in $VENV ($("$PY" --version 2>&1))"
  exit 0
fi

command -v python3 >/dev/null 2>&1 ||
  die "python3 is required; install it with: apt-get install -y python3 python3-venv"
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
  die "python3 $(python3 -c 'import platform; print(platform.python_version())') is too old; mcp $MCP_VERSION needs 3.10+"
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 ||
  die "the python3 venv module (with ensurepip) is missing; install it with: apt-get install -y python3-venv"

log "mcp $MCP_VERSION: creating a venv in $VENV ($(python3 --version 2>&1))"
# A half-built venv from an interrupted run is thrown away, never patched.
rm -rf "$VENV"
mkdir -p "$CACHE"
python3 -m venv "$VENV.tmp" 2>&1 | sed 's/^/  /' >&2 || true
[ -x "$VENV.tmp/bin/python" ] || { rm -rf "$VENV.tmp"; die "python3 -m venv failed; install the venv module with: apt-get install -y python3-venv"; }
log "  pip install mcp==$MCP_VERSION"
"$VENV.tmp/bin/python" -m pip install --disable-pip-version-check --no-input --quiet "mcp==$MCP_VERSION" ||
  { rm -rf "$VENV.tmp"; die "pip install mcp==$MCP_VERSION failed; check access to the Python package index"; }
# venv scripts hard-code their directory; the interpreter itself does not, and only it is used.
mv "$VENV.tmp" "$VENV"
[ "$(installed_version)" = "$MCP_VERSION" ] || die "mcp $MCP_VERSION did not import from $VENV after install"
touch "$STAMP"
log "mcp $MCP_VERSION: installed in $VENV"
