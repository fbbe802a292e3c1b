import { defineConfig } from 'vitest/config'
import { E2eLastSequencer } from './test/e2e/sequencer.ts'

export default defineConfig({
  test: {
    // zz-down.test.ts tears the e2e cluster down, so it must run after the other e2e files.
    sequence: { sequencer: E2eLastSequencer },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['node-image/test/unit/**/*.test.ts', 'operator/test/unit/**/*.test.ts', 'images/test/**/*.test.ts', 'test/e2e/unit/**/*.test.ts', 'charts/test/**/*.test.ts'],
          testTimeout: 20_000
        }
      },
      {
        test: {
          name: 'mesh',
          include: ['node-image/test/mesh/**/*.test.ts'],
          // Real node processes share two cores; run files one at a time.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000
        }
      },
      {
        test: {
          name: 'controlplane',
          // Operator integration tests run here too: one real kube-apiserver + etcd +
          // kube-controller-manager per run, shared by the files, one file at a time.
          include: ['test/controlplane/**/*.test.ts', 'operator/test/integration/**/*.test.ts'],
          globalSetup: ['test/controlplane/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000
        }
      },
      {
        test: {
          name: 'chaos',
          // Faults in network namespaces (test/chaos/netns/): five real nodes per file, as root.
          // The same scenarios on the real cluster run in the e2e tier, not here.
          include: ['test/chaos/*.test.ts', 'test/chaos/netns/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 120_000
        }
      },
      {
        test: {
          name: 'e2e',
          // The operator and its pools as real pods on the single-node cluster (test/cluster/).
          include: ['test/e2e/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 600_000
        }
      },
      {
        test: {
          name: 'browser',
          include: ['node-image/test/browser/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000
        }
      }
    ]
  }
})
