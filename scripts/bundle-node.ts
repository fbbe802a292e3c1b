// Builds the node bundle (node-image/dist/dawn-node.mjs) and its input stamp; launchers
// rebuild it themselves when stale, so this is for CI and the image build.
//   sh scripts/node.sh scripts/bundle-node.ts          build now
//   sh scripts/node.sh scripts/bundle-node.ts --check  exit 1 when the bundle is missing or stale
import { buildNodeBundle, bundleStaleReason, NODE_BUNDLE } from '../node-image/src/local-mesh/node-bundle.ts'

if (process.argv.includes('--check')) {
  const stale = await bundleStaleReason()
  process.stdout.write(stale === undefined ? `${NODE_BUNDLE} is up to date\n` : `${NODE_BUNDLE} is stale: ${stale}\n`)
  process.exitCode = stale === undefined ? 0 : 1
} else {
  const built = await buildNodeBundle()
  process.stdout.write(`${NODE_BUNDLE}: ${(built.bytes / 1048576).toFixed(2)} MiB from ${built.inputs} files in ${built.ms} ms\n`)
}
