// Standalone config for the control-plane tier (until the root config has a `controlplane`
// project):  sh scripts/node.sh node_modules/vitest/vitest.mjs run --config test/controlplane/vitest.config.ts
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    name: 'controlplane',
    include: ['test/controlplane/**/*.test.ts'],
    globalSetup: ['test/controlplane/global-setup.ts'],
    // One shared control plane on two cores: run files one at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000
  }
})
