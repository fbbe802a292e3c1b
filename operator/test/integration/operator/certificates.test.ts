// Membership certificates are renewed before they expire: an operator whose clock says the
// certificates are due re-issues all of them at once for the same keys, and the pods roll once
// (the config checksum carries the certificate epoch) and then stay put.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { decodeCertificate, decodePublicKeyPem, verifyCertificate } from '@dawn/node-image/identity'
import {
  applyCrds, clients, createNamespace, Dawn, deleteNamespace, eventually, findSecret, networkManifest, poolManifest,
  printLogsOnFailure, reconcileCount, secretTexts, startOperator, statusPeerIds, type RunningOperator
} from './helpers.ts'

const c = clients()
const dawn = new Dawn(c)
let ns = ''
const running: RunningOperator[] = []
const DAY_MS = 86_400_000
const CHECKSUM = 'mesh.dawn.dev/config-checksum'

beforeAll(async () => {
  await applyCrds(c)
  ns = await createNamespace(c, 'op-certs')
})
afterAll(async () => {
  for (const r of running) await r.stop()
  await deleteNamespace(c, ns)
})
printLogsOnFailure(() => running.map((r, i) => ({ name: `operator ${i + 1}`, lines: r.lines, metrics: async () => await r.operator.metrics.text() })))

const identity = async (): Promise<Record<string, string>> => secretTexts((await findSecret(c, ns, 'renew-identity'))!)
const template = async (): Promise<{ checksum: string | undefined, generation: number | undefined }> => {
  const s = await c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'renew' })
  return { checksum: s.spec?.template.metadata?.annotations?.[CHECKSUM], generation: s.metadata?.generation }
}

describe('certificate renewal', () => {
  it('re-issues every certificate for the same keys when they near expiry, and rolls the pods once', async () => {
    const today = await startOperator(ns)
    running.push(today)
    await dawn.create(networkManifest(ns, 'cn', { membership: { certificateValidityDays: 90 } }))
    await dawn.create(poolManifest(ns, 'renew', 'cn', { replicas: 2 }))
    const pool = await eventually(async () => {
      const p = await dawn.get('DawnNode', ns, 'renew')
      return p.status?.peers?.length === 2 ? p : undefined
    }, { what: 'pool renew to report 2 peers' })
    await eventually(async () => (await template()).checksum !== undefined, { what: 'StatefulSet renew' })
    const before = await identity()
    const templateBefore = await template()
    const certsBefore = [0, 1].map(i => decodeCertificate(before[`${i}.cert.json`]!))
    for (const cert of certsBefore) expect(cert.expiresAt - cert.issuedAt).toBe(90 * 86_400)
    await today.stop()

    // 70 days later: within the last third of a 90-day certificate's life.
    const offset = 70 * DAY_MS
    const later = await startOperator(ns, { now: () => Date.now() + offset })
    running.push(later)
    const after = await eventually(async () => {
      const texts = await identity()
      return [0, 1].every(i => texts[`${i}.cert.json`] !== before[`${i}.cert.json`]) ? texts : undefined
    }, { what: 'certificates to be re-issued' })
    const caPublicKey = decodePublicKeyPem(secretTexts((await findSecret(c, ns, 'cn-ca'))!)['ca.pub']!)
    const peers = statusPeerIds(pool)
    for (const i of [0, 1]) {
      expect(after[`${i}.key`], `key ${i}`).toBe(before[`${i}.key`])
      const cert = decodeCertificate(after[`${i}.cert.json`]!)
      expect(cert.peerId).toBe(peers[i])
      expect(cert.issuedAt).toBeGreaterThanOrEqual(certsBefore[i]!.issuedAt + 70 * 86_400 - 60)
      // Valid on the operator's clock, and issued together.
      expect(() => { verifyCertificate(cert, { caPublicKey, network: 'cn', peerId: peers[i] ?? '', now: Date.now() + offset }) }).not.toThrow()
    }
    const t = await eventually(async () => {
      const x = await template()
      return x.checksum !== templateBefore.checksum ? x : undefined
    }, { what: 'the pod template checksum to change' })
    expect(t.generation).toBe((templateBefore.generation ?? 0) + 1)
    // Renewed once, then stable: more reconciles change nothing.
    const reconciles = reconcileCount(await later.operator.metrics.text(), 'DawnNode')
    // Annotation changes wake the pool (a network's metadata alone does not).
    await dawn.patch('DawnNode', ns, 'renew', { metadata: { annotations: { poke: '1' } } })
    await eventually(async () => reconcileCount(await later.operator.metrics.text(), 'DawnNode') >= reconciles + 1, { what: 'one more reconcile of the pool' })
    await dawn.patch('DawnNode', ns, 'renew', { metadata: { annotations: { poke: '2' } } })
    await eventually(async () => reconcileCount(await later.operator.metrics.text(), 'DawnNode') >= reconciles + 2, { what: 'two more reconciles of the pool' })
    expect(await identity()).toEqual(after)
    expect(await template()).toEqual(t)
    expect(statusPeerIds(await dawn.get('DawnNode', ns, 'renew'))).toEqual(peers)
  })
})
