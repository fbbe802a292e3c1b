// The CRDs' schema defaults must survive every documented install path, and a spec that
// lost them anyway must never crash the operator. Here, against the real apiserver:
// `kubectl apply --server-side` of crds/ and of manifests/install.yaml keeps them; a CRD as
// plain JSON applied through client-node's object API drops them (it serializes through
// typed models that know `default` only as `_default`). A DawnNetwork with `spec: {}` under
// those defaultless CRDs still gets its Secrets and a status, because the operator fills in
// its own schema's defaults on every read.
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { PatchStrategy, type KubernetesObject } from '@kubernetes/client-node'
import type { DawnNetwork } from '../../../src/api/index.ts'
import {
  ROOT, applyCrds, clients, conditionOf, createNamespace, Dawn, deleteNamespace, eventually, findSecret, kubectl, networkManifest,
  reconcileCount, startOperator
} from './helpers.ts'

const c = clients()
const dawn = new Dawn(c)
const namespaces: string[] = []

afterAll(async () => {
  // Leave the CRDs as every other test expects them.
  await applyCrds(c)
  for (const ns of namespaces) await deleteNamespace(c, ns)
})

/** Creates `spec: {}` exactly as the README shows it and returns what the apiserver stored. */
async function storedEmptyNetwork (prefix: string): Promise<DawnNetwork> {
  const ns = await createNamespace(c, prefix)
  namespaces.push(ns)
  // The apiserver may take a moment to serve a re-applied CRD's new schema.
  return await eventually(async () => {
    const name = `n${Date.now().toString(36)}`
    await dawn.create(networkManifest(ns, name))
    return await dawn.get('DawnNetwork', ns, name)
  }, { what: `a DawnNetwork in ${ns}` })
}

function expectDefaults (net: DawnNetwork): void {
  expect(net.spec.clusterDomain).toBe('cluster.local')
  expect(net.spec.privateNetwork).toBeDefined()
  expect(net.spec.ipfs).toMatchObject({ replicationFactor: 2, privateSwarm: true })
  expect(net.spec.monitoring).toBeDefined()
}

describe('CRD install paths', () => {
  it('kubectl apply --server-side of crds/ keeps the defaults', async () => {
    await kubectl(['apply', '--server-side', '--force-conflicts', '-f', `${ROOT}crds`])
    expectDefaults(await storedEmptyNetwork('path-crds'))
  })

  it('kubectl apply --server-side of the CRDs in manifests/install.yaml keeps the defaults', async () => {
    // The CRD documents as they are written in the file, not re-serialized.
    const docs = readFileSync(`${ROOT}manifests/install.yaml`, 'utf8').split(/^---$/m).filter(d => /^kind: CustomResourceDefinition$/m.test(d))
    expect(docs).toHaveLength(3)
    const file = join(tmpdir(), `dawn-install-crds-${process.pid}.yaml`)
    writeFileSync(file, docs.join('\n---\n'))
    try { await kubectl(['apply', '--server-side', '--force-conflicts', '-f', file]) } finally { rmSync(file, { force: true }) }
    expectDefaults(await storedEmptyNetwork('path-manifest'))
  })

  it('a plain object through client-node drops them, and the operator still reconciles spec: {}', async () => {
    // The CRD as plain JSON (what JSON.parse of any YAML parser's output gives), applied
    // through the object API: its typed models know `default` only as `_default`.
    const plain = JSON.parse(await kubectl(['create', '--dry-run=client', '-o', 'json', '-f', `${ROOT}crds/dawnnetworks.yaml`])) as KubernetesObject
    await c.objects.patch(plain, undefined, undefined, 'dawn-lossy-path', true, PatchStrategy.ServerSideApply)
    const net = await eventually(async () => {
      const n = await storedEmptyNetwork('path-lossy')
      return (n.spec as Partial<DawnNetwork['spec']>).privateNetwork === undefined ? n : undefined
    }, { what: 'the CRD without the nested default to be served (privateNetwork not defaulted)', timeoutMs: 15_000 })
    // The lossy path really lost it: this is what crashed the controllers before.
    expect((net.spec as Partial<DawnNetwork['spec']>).privateNetwork).toBeUndefined()
    const ns = net.metadata.namespace ?? ''
    const op = await startOperator(ns)
    try {
      const ready = await eventually(async () => {
        const n = await dawn.get('DawnNetwork', ns, net.metadata.name ?? '')
        return n.status?.observedGeneration === n.metadata.generation ? n : undefined
      }, { what: 'the network status', timeoutMs: 60_000 })
      expect(conditionOf(ready, 'Ready')?.reason).toBe('NoNodes')
      expect(await findSecret(c, ns, `${net.metadata.name ?? ''}-swarm-key`)).toBeDefined()
      expect(reconcileCount(await op.operator.metrics.text(), 'DawnNetwork')).toBeGreaterThan(0)
      expect(op.lines.join('\n')).not.toMatch(/TypeError|Cannot read properties of undefined/)
    } finally { await op.stop() }
  })

  it('a spec the schema rejects (a CRD without validation let it in) is Ready=False InvalidSpec with an Event, not a crash loop', async () => {
    type Crd = KubernetesObject & { spec: { versions: Array<Record<string, unknown>> } }
    const crd = JSON.parse(await kubectl(['create', '--dry-run=client', '-o', 'json', '-f', `${ROOT}crds/dawnnetworks.yaml`])) as Crd
    for (const v of crd.spec.versions) {
      v.schema = { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } }
      delete v.selectableFields
    }
    const file = join(tmpdir(), `dawn-unvalidated-crd-${process.pid}.json`)
    writeFileSync(file, JSON.stringify(crd))
    try { await kubectl(['apply', '--server-side', '--force-conflicts', '-f', file]) } finally { rmSync(file, { force: true }) }
    const ns = await createNamespace(c, 'path-invalid')
    namespaces.push(ns)
    await eventually(async () => {
      await dawn.create({ ...networkManifest(ns, 'bad'), spec: { ipfs: { replicationFactor: 'lots' } } })
      return true
    }, { what: 'the unvalidated CRD to accept a bad spec' })
    const op = await startOperator(ns)
    try {
      const refused = await eventually(async () => {
        const n = await dawn.get('DawnNetwork', ns, 'bad')
        return conditionOf(n, 'Ready')?.reason === 'InvalidSpec' ? n : undefined
      }, { what: 'Ready=False InvalidSpec', timeoutMs: 60_000 })
      expect(conditionOf(refused, 'Ready')?.status).toBe('False')
      expect(conditionOf(refused, 'Ready')?.message).toMatch(/spec\.ipfs\.replicationFactor/)
      const events = await eventually(async () => {
        const list = (await c.core.listNamespacedEvent({ namespace: ns })).items.filter(e => e.reason === 'InvalidSpec')
        return list.length > 0 ? list : undefined
      }, { what: 'an InvalidSpec Event' })
      expect(events[0]?.type).toBe('Warning')
      // Nothing was generated for a spec it cannot use, and no reconcile threw.
      expect(await findSecret(c, ns, 'bad-swarm-key')).toBeUndefined()
      expect(op.lines.join('\n')).not.toMatch(/TypeError|Cannot read properties of undefined/)
    } finally { await op.stop() }
  })
})
