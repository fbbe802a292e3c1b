// Helm on the real cluster: the CRD chart and the main chart installed with the pinned
// helm, the operator running with the chart's RBAC and reconciling the sample network to
// Ready pods; an upgrade that rolls only the operator; an uninstall that leaves the CRDs
// and the networks. The operator installed from manifests/install.yaml is scaled to zero
// meanwhile, so only the chart's operator reconciles.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { helmBinary } from '../../operator/src/install/helm.ts'
import { dumpOnFailure, kubectl } from './access.ts'
import { PoolFixture, restarts, uidsOf } from './pool-fixture.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const f = new PoolFixture()
const RELEASE = 'dawn-h'
const CRDS_RELEASE = 'dawn-crds'
const OPERATOR = `${RELEASE}-operator`
const CRDS = ['dawnnetworks.mesh.dawn.dev', 'dawnnodes.mesh.dawn.dev', 'dawnagents.mesh.dawn.dev']
const helmHome = mkdtempSync(join(tmpdir(), 'dawn-e2e-helm-'))

/** The pinned helm against this cluster, with its caches in a temp dir. */
async function helm (args: string[]): Promise<string> {
  const env = { ...process.env, KUBECONFIG: inject('kubeconfig'), HELM_CACHE_HOME: join(helmHome, 'cache'), HELM_CONFIG_HOME: join(helmHome, 'config'), HELM_DATA_HOME: join(helmHome, 'data') }
  return await new Promise((resolve, reject) => {
    const child = spawn(helmBinary(), args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString() })
    child.stderr.on('data', (c: Buffer) => { err += c.toString() })
    child.once('error', reject)
    child.once('exit', code => { if (code === 0) resolve(out); else reject(new Error(`helm ${args.join(' ')} exited ${String(code)}: ${err}`)) })
  })
}

const operatorPods = async (): Promise<string[]> =>
  (await f.c.core.listNamespacedPod({ namespace: f.ns, labelSelector: 'app.kubernetes.io/name=dawn-operator' })).items
    .filter(p => p.metadata?.deletionTimestamp === undefined).map(p => p.metadata?.uid ?? '').sort()

dumpOnFailure(() => f.ns)

beforeAll(async () => {
  await kubectl(['-n', 'dawn-system', 'scale', 'deployment/dawn-operator', '--replicas=0'])
  await kubectl(['-n', 'dawn-system', 'wait', '--for=delete', 'pod', '-l', 'app.kubernetes.io/name=dawn-operator', '--timeout=120s'])
  await f.createNamespace('e2e-helm')
})

afterAll(async () => {
  await helm(['uninstall', RELEASE, '-n', f.ns, '--wait']).catch(() => {})
  await f.dispose()
  await kubectl(['-n', 'dawn-system', 'scale', 'deployment/dawn-operator', '--replicas=2'])
  await kubectl(['-n', 'dawn-system', 'rollout', 'status', 'deployment/dawn-operator', '--timeout=180s'])
  rmSync(helmHome, { recursive: true, force: true })
})

describe('helm', () => {
  it('installs the CRD chart and the main chart; the chart\'s operator reconciles the sample network to Ready pods', async () => {
    // The CRDs exist already (manifests/install.yaml); the CRD chart takes them over.
    await helm(['upgrade', '--install', CRDS_RELEASE, 'charts/dawn-crds', '--take-ownership', '--wait'])
    for (const name of CRDS) {
      const crd = JSON.parse(await kubectl(['get', 'crd', name, '-o', 'json'])) as { metadata: { annotations?: Record<string, string> } }
      expect(crd.metadata.annotations?.['helm.sh/resource-policy'], name).toBe('keep')
      expect(crd.metadata.annotations?.['meta.helm.sh/release-name'], name).toBe(CRDS_RELEASE)
    }
    await helm(['install', RELEASE, 'charts/dawn', '-n', f.ns, '--set', 'crds.install=false', '--set', 'replicas=1',
      '--set', 'sample.enabled=true', '--set', 'sample.replicas=2', '--wait', '--timeout', '5m'])
    const pods = (await f.c.core.listNamespacedPod({ namespace: f.ns, labelSelector: 'app.kubernetes.io/name=dawn-operator' })).items
    expect(pods).toHaveLength(1)
    expect(pods[0]?.spec?.serviceAccountName).toBe(OPERATOR)
    const binding = JSON.parse(await kubectl(['get', 'clusterrolebinding', OPERATOR, '-o', 'json'])) as { roleRef: { name: string }, subjects: Array<{ name: string, namespace: string }> }
    expect(binding.roleRef.name).toBe(OPERATOR)
    expect(binding.subjects).toEqual([expect.objectContaining({ name: OPERATOR, namespace: f.ns })])
    // Only the chart's operator runs, so these Ready pods are its work.
    await f.readyPool('demo-pool', 2)
  })

  it('helm upgrade of an operator value rolls the operator and nothing of the network', async () => {
    const before = { operator: await operatorPods(), pool: uidsOf(await f.pods('demo-pool')), network: (await f.dawn.get('DawnNetwork', f.ns, 'demo')).metadata.uid }
    await helm(['upgrade', RELEASE, 'charts/dawn', '-n', f.ns, '--reuse-values', '--set', 'logLevel=debug', '--wait', '--timeout', '5m'])
    const after = await operatorPods()
    expect(after).toHaveLength(1)
    expect(after.some(uid => before.operator.includes(uid))).toBe(false)
    await f.readyPool('demo-pool', 2)
    const pool = await f.pods('demo-pool')
    expect(uidsOf(pool)).toEqual(before.pool)
    for (const p of pool) expect(restarts(p)).toBe(0)
    expect((await f.dawn.get('DawnNetwork', f.ns, 'demo')).metadata.uid).toBe(before.network)
  })

  it('helm uninstall leaves the CRDs and the networks in place', async () => {
    const network = (await f.dawn.get('DawnNetwork', f.ns, 'demo')).metadata.uid
    await helm(['uninstall', RELEASE, '-n', f.ns, '--wait'])
    expect(await operatorPods()).toEqual([])
    expect((await f.dawn.get('DawnNetwork', f.ns, 'demo')).metadata.uid).toBe(network)
    expect(await f.dawn.find('DawnNode', f.ns, 'demo-pool')).toBeDefined()
    await helm(['uninstall', CRDS_RELEASE, '--wait'])
    for (const name of CRDS) expect((await kubectl(['get', 'crd', name, '-o', 'name'])).trim()).toBe(`customresourcedefinition.apiextensions.k8s.io/${name}`)
  })
})
