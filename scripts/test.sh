#!/bin/sh
# Every test tier, none skipped: typecheck, lint, unit, mesh (real node processes),
# browser (Debian Chromium), controlplane (kube-apiserver + etcd + controller-manager
# built from their Go modules and cached in ~/.cache/dawn).
# A tier whose component is missing fails and prints how to install it.
set -eu
cd "$(dirname "$0")/.."
run() { sh scripts/node.sh --disable-warning=ExperimentalWarning "$@"; }

echo "== typecheck"
run node_modules/typescript/bin/tsc -p tsconfig.json
run node_modules/typescript/bin/tsc -p node-image
run node_modules/typescript/bin/tsc -p operator
run node_modules/typescript/bin/tsc -p test/controlplane
run node_modules/typescript/bin/tsc -p images
echo "== lint"
run node_modules/eslint/bin/eslint.js .
sh scripts/install-debian-packages.sh
sh test/controlplane/fetch-binaries.sh
sh scripts/fetch-kubo.sh
echo "== unit, mesh, browser, controlplane"
run node_modules/vitest/vitest.mjs run "$@"
