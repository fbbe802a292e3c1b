// vitest globalSetup for the `e2e` tier: the single-node cluster (test/cluster/) with the
// images built from this checkout, and the operator installed from manifests/install.yaml
// exactly as shipped, running as a pod in the Pod Security `restricted` namespace dawn-system.
//
//   DAWN_E2E_REUSE=1   use the cluster already running (npm run cluster -- up) and leave it
//                      running; this checkout's images are imported and the operator is
//                      reinstalled and restarted. For fast local iteration.
//   (kind)             `npm run e2e -- --kind` (run.ts) sets DAWN_E2E_KIND_KUBECONFIG: the
//                      specs run against that kind cluster, whose images run.ts loaded and
//                      where it installed the chart (DAWN_E2E_KIND_CHART=1): then the
//                      chart's operator is used as it is.
//
// The last e2e file (zz-down.test.ts, placed last by sequencer.ts) tears the cluster down
// and checks that nothing is left; this teardown only stops a cluster that is still there
// (a failed run); a watcher process (test/cluster/down-after.ts) does it when the run is
// interrupted or killed.
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { TestProject } from 'vitest/node'
import { clusterStatus, defaultImages, importImages, startCluster, stopCluster } from '../cluster/cluster.ts'
import { clusterPaths } from '../cluster/layout.ts'
import { hostFirewallRules } from '../cluster/teardown.ts'
import { e2eTarget, KIND_CHART_ENV, kubectlWith } from './target.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string
    /** The host's firewall rules before the cluster started (zz-down.test.ts compares). */
    hostFirewallBefore: string
  }
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const say = (m: string): void => { process.stderr.write(`[e2e] ${m}\n`) }

export default async function setup (project: TestProject): Promise<() => Promise<void>> {
  const target = e2eTarget()
  if (target.kind === 'kind') {
    say(`running against the kind cluster of ${target.kubeconfig}`)
    project.provide('kubeconfig', target.kubeconfig)
    project.provide('hostFirewallBefore', '')
    const kubectl = kubectlWith(target.kubeconfig, target)
    if (process.env[KIND_CHART_ENV] === '1') await kubectl(['-n', 'dawn-system', 'rollout', 'status', 'deployment/dawn-operator', '--timeout=180s'])
    else await installOperator(kubectl, false)
    return async () => {}
  }

  const p = clusterPaths()
  const reuse = process.env.DAWN_E2E_REUSE === '1'
  const status = await clusterStatus(p)
  project.provide('hostFirewallBefore', hostFirewallRules())
  let kubeconfigPath: string
  if (reuse && status.running && status.state !== undefined) {
    say(`reusing the running cluster (${status.state.server}); importing this checkout's images`)
    kubeconfigPath = status.state.kubeconfig
    await importImages(p, await defaultImages(), say)
  } else {
    if (status.state !== undefined) { say('a cluster from an earlier run is still there; tearing it down'); await stopCluster(p) }
    const cluster = await startCluster({ paths: p, log: say })
    say(`cluster up in ${cluster.startupMs} ms: ${JSON.stringify(cluster.timings)}`)
    kubeconfigPath = cluster.kubeconfigPath
    // Ctrl-C or a kill can end this process without teardown; the watcher takes the cluster down then.
    spawn(process.execPath, ['--disable-warning=ExperimentalWarning', `${ROOT}test/cluster/down-after.ts`, String(process.pid)], { detached: true, stdio: 'ignore' }).unref()
  }
  project.provide('kubeconfig', kubeconfigPath)
  process.env.KUBECONFIG = kubeconfigPath
  await installOperator(kubectlWith(kubeconfigPath, target), reuse)

  return async () => {
    if (reuse) return
    if ((await clusterStatus(p)).state !== undefined) {
      say('tearing the cluster down (zz-down.test.ts did not run)')
      await stopCluster(p)
    }
  }
}

/** Applies manifests/install.yaml as shipped and waits for the operator Deployment to be Available. */
async function installOperator (kubectl: (args: string[], stdin?: string) => Promise<string>, restart: boolean): Promise<void> {
  const t0 = Date.now()
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], await readFile(`${ROOT}manifests/install.yaml`, 'utf8'))
  // Pods keep the image they started with; a reused cluster restarts them onto this checkout's.
  if (restart) await kubectl(['-n', 'dawn-system', 'rollout', 'restart', 'deployment/dawn-operator'])
  await kubectl(['-n', 'dawn-system', 'rollout', 'status', 'deployment/dawn-operator', '--timeout=180s'])
  say(`operator installed and Available in ${Date.now() - t0} ms`)
}
