// vitest globalSetup for the `controlplane` project: starts a fresh etcd + kube-apiserver +
// kube-controller-manager in a temp dir, hands the admin kubeconfig to the tests, stops it all
// afterwards.
//
//   in tests:  import { inject } from 'vitest';  const kubeconfigPath = inject('kubeconfig')
//              (or loadKubeConfig() from ./kube.ts)
//
// Missing binaries FAIL the run (never skip) with the command that builds them.
//
// Environment:
//   DAWN_CONTROLPLANE_KEEP=1        keep the state dir (certs, logs, etcd data) after the run
//   DAWN_CONTROLPLANE_DIR=<dir>     use the control plane already running there (`cli.ts up --dir <dir>`)
//                                   instead of starting one; it is left running (fast local iteration)
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { startControlPlane, controlPlaneStatus, resolveBinaries, reapOrphans } from './controlplane.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of the admin kubeconfig (client cert in group system:masters). */
    kubeconfig: string
    /** https://127.0.0.1:<port> */
    kubeServer: string
  }
}

const PREFIX = 'dawn-controlplane-'
const say = (m: string): void => { process.stderr.write(`[controlplane] ${m}\n`) }

export default async function setup (project: TestProject): Promise<() => Promise<void>> {
  const reuse = process.env.DAWN_CONTROLPLANE_DIR
  if (reuse !== undefined && reuse !== '') {
    const s = await controlPlaneStatus(reuse)
    if (!s.running || s.kubeconfig === undefined || s.server === undefined) {
      throw new Error(`DAWN_CONTROLPLANE_DIR=${reuse}: no healthy control plane there (start one with: sh scripts/node.sh test/controlplane/cli.ts up --dir ${reuse})`)
    }
    say(`using the running control plane in ${reuse} (${s.server})`)
    expose(project, s.kubeconfig, s.server)
    return async () => {}
  }

  resolveBinaries() // throws MissingBinariesError naming `sh test/controlplane/fetch-binaries.sh`
  // Processes are killed when this process exits, but a SIGKILLed run leaves its temp dir (and,
  // if killed hard, its processes): clean those up first.
  for (const d of await reapOrphans(tmpdir(), PREFIX)) say(`cleaned up after an earlier run: ${d}`)
  const dir = await mkdtemp(join(tmpdir(), PREFIX))
  const cp = await startControlPlane({ dir })
  say(`up in ${cp.startupMs} ms: ${cp.server} (state in ${dir})`)
  expose(project, cp.kubeconfigPath, cp.server)

  return async () => {
    const keep = process.env.DAWN_CONTROLPLANE_KEEP === '1'
    await cp.stop({ keepState: keep })
    say(keep ? `stopped; state and logs kept in ${dir}` : 'stopped')
  }
}

function expose (project: TestProject, kubeconfig: string, server: string): void {
  project.provide('kubeconfig', kubeconfig)
  project.provide('kubeServer', server)
  // For code that reads the environment (client libraries, spawned operator processes):
  // workers are started after global setup and inherit it.
  process.env.KUBECONFIG = kubeconfig
}
