#!/bin/sh
# Every test tier, none skipped: typecheck, lint, unit, mesh (real node processes),
# browser (Debian Chromium), controlplane (kube-apiserver + etcd + controller-manager
# built from their Go modules and cached in ~/.cache/dawn), chaos (faults in network
# namespaces, as root), and e2e (the operator and
# its pools as pods on the single-node cluster of test/cluster/, images built locally).
# With arguments, they go to one vitest run as they are (e.g. --project e2e).
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
run node_modules/typescript/bin/tsc -p test/cluster
run node_modules/typescript/bin/tsc -p test/e2e
run node_modules/typescript/bin/tsc -p test/chaos
run node_modules/typescript/bin/tsc -p charts
echo "== lint"
run node_modules/eslint/bin/eslint.js .
sh scripts/install-debian-packages.sh
sh test/controlplane/fetch-binaries.sh
sh test/controlplane/fetch-prometheus-operator-crds.sh
sh scripts/fetch-kubo.sh
sh scripts/fetch-helm.sh
sh scripts/fetch-prometheus.sh
sh scripts/fetch-python-mcp.sh
if [ $# -gt 0 ]; then
  run node_modules/vitest/vitest.mjs run "$@"
  exit
fi
echo "== unit, mesh, browser, controlplane"
run node_modules/vitest/vitest.mjs run --project unit --project mesh --project browser --project controlplane
# Alone: five real nodes per file in network namespaces, with faults (needs root).
echo "== chaos (network namespaces)"
run node_modules/vitest/vitest.mjs run --project chaos
# Alone, after the others: the cluster's pods want both cores to themselves.
echo "== e2e (single-node cluster)"
run node_modules/vitest/vitest.mjs run --project e2e
