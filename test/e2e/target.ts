// Where the e2e specs run: the project's own single-node cluster (default), or a kind
// cluster that `npm run e2e -- --kind` created and loaded with Docker-built images. The
// specs are the same; only how the host reaches the cluster differs.
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { kubectlEnv, kubectlRunner } from '../cluster/cluster.ts'
import { kubectlPath } from '../controlplane/controlplane.ts'
import { clusterPaths } from '../cluster/layout.ts'

/** Set by run.ts for a kind run: the kubeconfig of the kind cluster. */
export const KIND_KUBECONFIG_ENV = 'DAWN_E2E_KIND_KUBECONFIG'
/** Set by run.ts when it installed the operator with the chart (the specs then leave it as is). */
export const KIND_CHART_ENV = 'DAWN_E2E_KIND_CHART'

export type Target = { kind: 'local' } | { kind: 'kind', kubeconfig: string }

export function e2eTarget (): Target {
  const kubeconfig = process.env[KIND_KUBECONFIG_ENV]
  return kubeconfig === undefined || kubeconfig === '' ? { kind: 'local' } : { kind: 'kind', kubeconfig }
}

/** The pinned kubectl build; with kind, when there is none, the one on PATH. */
export function kubectlBinary (target: Target = e2eTarget()): string {
  if (target.kind === 'local') return kubectlPath()
  try { return kubectlPath() } catch { return process.env.DAWN_KUBECTL ?? 'kubectl' }
}

export function kubectlWith (kubeconfig: string, target: Target = e2eTarget()): (args: string[], stdin?: string) => Promise<string> {
  const cacheParent = target.kind === 'local' ? clusterPaths().state : join(tmpdir(), 'dawn-e2e-kind')
  return kubectlRunner(kubectlBinary(target), kubectlEnv(cacheParent, kubeconfig))
}
