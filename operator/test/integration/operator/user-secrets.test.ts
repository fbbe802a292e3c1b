// Key material the user brings (node keys, PSK, CA) is used as given and never written to.
import { describe, it, expect } from 'vitest'
import type { V1Secret } from '@kubernetes/client-node'
import {
  createCa, decodeCertificate, decodePublicKeyPem, encodePrivateKeyPem, generateSeed, generateSwarmKey, peerIdFromPrivateKeyPem,
  verifyCertificate
} from '@dawn/node-image/identity'
import { parseConfig } from '@dawn/node-image/config'
import {
  clients, conditionOf, Dawn, eventually, findSecret, networkManifest, poolManifest, reconcileCount, type RunningOperator,
  secretTexts, statusPeerIds, useOperatorNamespace
} from './helpers.ts'

const c = clients()
const dawn = new Dawn(c)
let ns = ''
let op: RunningOperator | undefined

useOperatorNamespace(c, 'op-usersecrets', (n, o) => { ns = n; op = o })

/** What must never change in a user's Secret. */
const fingerprint = (s: V1Secret): string => JSON.stringify({
  data: s.data,
  resourceVersion: s.metadata?.resourceVersion,
  labels: s.metadata?.labels ?? {},
  ownerReferences: s.metadata?.ownerReferences ?? [],
  managers: (s.metadata?.managedFields ?? []).map(f => f.manager)
})

describe('user-provided Secrets', () => {
  it('node keys (spec.identitySecretRef), PSK (swarmKeySecretRef) and CA (caSecretRef) are used and never overwritten', async () => {
    const keys = [encodePrivateKeyPem(generateSeed()), encodePrivateKeyPem(generateSeed())]
    const swarmKey = generateSwarmKey()
    const ca = createCa()
    const userSecret = async (name: string, texts: Record<string, string>): Promise<V1Secret> => await c.core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name, labels: { team: 'platform' } }, type: 'Opaque', data: Object.fromEntries(Object.entries(texts).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) }
    })
    const created = [
      // 1.key has Windows line endings: byte-exact copies must keep them.
      await userSecret('my-keys', { '0.key': keys[0]!, '1.key': keys[1]!.replace(/\n/g, '\r\n') }),
      await userSecret('my-psk', { psk: swarmKey }),
      await userSecret('my-ca', { 'ca.key': ca.privateKeyPem })
    ]
    const before = created.map(fingerprint)

    await dawn.create(networkManifest(ns, 'byo', {
      privateNetwork: { swarmKeySecretRef: { name: 'my-psk', key: 'psk' } },
      membership: { caSecretRef: { name: 'my-ca' } }
    }))
    await dawn.create(poolManifest(ns, 'mine', 'byo', { replicas: 3, identitySecretRef: { name: 'my-keys' } }))
    const pool = await eventually(async () => {
      const p = await dawn.get('DawnNode', ns, 'mine')
      return p.status?.peers?.length === 3 ? p : undefined
    }, { what: 'pool mine to report 3 peers', detail: async () => JSON.stringify((await dawn.get('DawnNode', ns, 'mine')).status) })

    // Ordinals 0 and 1 are the user's keys; 2 got a generated one.
    const peers = statusPeerIds(pool)
    expect(peers[0]).toBe(peerIdFromPrivateKeyPem(keys[0]!))
    expect(peers[1]).toBe(peerIdFromPrivateKeyPem(keys[1]!))
    expect(peers[2]).toMatch(/^12D3KooW/)
    expect(new Set(Object.values(peers)).size).toBe(3)
    const identity = secretTexts((await findSecret(c, ns, 'mine-identity'))!)
    expect(identity['0.key']).toBe(keys[0])
    expect(identity['1.key']).toBe(keys[1]!.replace(/\n/g, '\r\n'))
    expect(peerIdFromPrivateKeyPem(identity['2.key']!)).toBe(peers[2])
    // Certificates are issued by the user's CA, for the user's keys.
    const caPublicKey = decodePublicKeyPem(ca.publicKeyPem)
    for (const i of [0, 1, 2]) {
      const peerId = peers[i] ?? ''
      expect(() => { verifyCertificate(decodeCertificate(identity[`${i}.cert.json`]!), { caPublicKey, network: 'byo', peerId }) }).not.toThrow()
    }

    // The operator generated no network Secrets of its own, and the pods mount the user's PSK.
    expect(await findSecret(c, ns, 'byo-swarm-key')).toBeUndefined()
    expect(await findSecret(c, ns, 'byo-ca')).toBeUndefined()
    const set = await eventually(async () => await c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'mine' }), { what: 'StatefulSet mine' })
    const psk = set.spec?.template.spec?.volumes?.find(v => v.name === 'psk')?.secret
    expect(psk?.secretName).toBe('my-psk')
    expect(psk?.items).toEqual([{ key: 'psk', path: 'swarm.key' }])
    const cm = await c.core.readNamespacedConfigMap({ namespace: ns, name: 'mine-config' })
    expect(Buffer.from(decodePublicKeyPem(cm.data?.['ca.pub'] ?? '')).equals(Buffer.from(caPublicKey))).toBe(true)
    const net = await eventually(async () => {
      const n = await dawn.get('DawnNetwork', ns, 'byo')
      return n.status?.swarmKeySecret === 'my-psk' ? n : undefined
    }, { what: 'network status to name the user Secrets' })
    expect(net.status?.caSecret).toBe('my-ca')
    expect(conditionOf(net, 'Degraded')).toMatchObject({ status: 'False' })

    // Several more reconciles: a spec change that adds an ordinal and changes the config, and a network change.
    const metrics = op!.operator.metrics
    const reconciles = reconcileCount(await metrics.text(), 'DawnNode')
    const updated = await dawn.patch('DawnNode', ns, 'mine', { spec: { replicas: 4, logLevel: 'debug' } })
    await dawn.patch('DawnNetwork', ns, 'byo', { metadata: { annotations: { touched: 'yes' } }, spec: { membership: { certificateValidityDays: 200 } } })
    const after = await eventually(async () => {
      const p = await dawn.get('DawnNode', ns, 'mine')
      return p.status?.observedGeneration === updated.metadata.generation && p.status?.peers?.length === 4 ? p : undefined
    }, { what: 'pool mine to observe replicas 4' })
    await eventually(async () => {
      const text = (await c.core.readNamespacedConfigMap({ namespace: ns, name: 'mine-config' })).data?.['config.json'] ?? ''
      return parseConfig(JSON.parse(text), '/etc/dawn/config').log.level === 'debug'
    }, { what: 'config.json to carry logLevel debug' })
    await eventually(async () => reconcileCount(await metrics.text(), 'DawnNode') >= reconciles + 2, { what: 'more DawnNode reconciles' })

    const afterPeers = statusPeerIds(after)
    for (const i of [0, 1, 2]) expect(afterPeers[i], `ordinal ${i}`).toBe(peers[i])
    const identityAfter = secretTexts((await findSecret(c, ns, 'mine-identity'))!)
    expect(identityAfter['0.key']).toBe(keys[0])
    expect(identityAfter['1.key']).toBe(keys[1]!.replace(/\n/g, '\r\n'))
    expect(identityAfter['2.key']).toBe(identity['2.key'])

    const now = await Promise.all(['my-keys', 'my-psk', 'my-ca'].map(async name => fingerprint((await findSecret(c, ns, name))!)))
    expect(now).toEqual(before)
    expect(await findSecret(c, ns, 'byo-swarm-key')).toBeUndefined()
    expect(await findSecret(c, ns, 'byo-ca')).toBeUndefined()
  })
})

describe('user-provided Secrets that are missing or broken', () => {
  it('a pool whose identitySecretRef does not exist yet generates nothing, waits, then uses the keys once the Secret appears', async () => {
    await dawn.create(networkManifest(ns, 'late'))
    await dawn.create(poolManifest(ns, 'waits', 'late', { replicas: 2, identitySecretRef: { name: 'late-keys' } }))
    const waiting = await eventually(async () => {
      const p = await dawn.get('DawnNode', ns, 'waits')
      return conditionOf(p, 'Ready')?.reason === 'IdentitySecretNotFound' ? p : undefined
    }, { what: 'IdentitySecretNotFound', detail: async () => JSON.stringify((await dawn.get('DawnNode', ns, 'waits')).status) })
    expect(conditionOf(waiting, 'Ready')).toMatchObject({ status: 'False', message: `Secret late-keys (spec.identitySecretRef) does not exist in ${ns}` })
    // No identity was minted for ordinals the user is about to provide, and nothing runs without one.
    expect(await findSecret(c, ns, 'waits-identity')).toBeUndefined()
    expect((await c.apps.listNamespacedStatefulSet({ namespace: ns })).items.map(s => s.metadata?.name)).not.toContain('waits')

    const keys = [encodePrivateKeyPem(generateSeed()), encodePrivateKeyPem(generateSeed())]
    await c.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'late-keys' }, stringData: { '0.key': keys[0]!, '1.key': keys[1]! } } })
    const p = await eventually(async () => {
      const x = await dawn.get('DawnNode', ns, 'waits')
      return x.status?.peers?.length === 2 ? x : undefined
    }, { what: 'pool waits to use the late Secret', detail: async () => JSON.stringify((await dawn.get('DawnNode', ns, 'waits')).status) })
    expect(statusPeerIds(p)).toEqual({ 0: peerIdFromPrivateKeyPem(keys[0]!), 1: peerIdFromPrivateKeyPem(keys[1]!) })
    await eventually(async () => await c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'waits' }), { what: 'StatefulSet waits' })
  })

  it('a broken user PSK degrades the network and stops the pools from rendering until it is fixed', async () => {
    await c.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'bad-psk' }, stringData: { 'swarm.key': 'not a swarm key' } } })
    await dawn.create(networkManifest(ns, 'broken', { privateNetwork: { swarmKeySecretRef: { name: 'bad-psk' } } }))
    await dawn.create(poolManifest(ns, 'blocked', 'broken', { replicas: 1 }))
    const net = await eventually(async () => {
      const n = await dawn.get('DawnNetwork', ns, 'broken')
      return conditionOf(n, 'Degraded')?.status === 'True' ? n : undefined
    }, { what: 'network broken to be Degraded' })
    expect(conditionOf(net, 'Degraded')).toMatchObject({ reason: 'SecretsInvalid', message: expect.stringContaining('Secret bad-psk key "swarm.key" is not a valid swarm key') })
    const pool = await eventually(async () => {
      const p = await dawn.get('DawnNode', ns, 'blocked')
      return conditionOf(p, 'Ready')?.reason === 'NetworkSecretsInvalid' ? p : undefined
    }, { what: 'pool blocked to report NetworkSecretsInvalid', detail: async () => JSON.stringify((await dawn.get('DawnNode', ns, 'blocked')).status) })
    expect(conditionOf(pool, 'Ready')?.message).toContain('bad-psk')
    // Nothing that would mount the broken key.
    expect((await c.apps.listNamespacedStatefulSet({ namespace: ns })).items.map(s => s.metadata?.name)).not.toContain('blocked')

    // Fixed by the user: both recover without any change to the custom resources.
    await c.core.replaceNamespacedSecret({ namespace: ns, name: 'bad-psk', body: { metadata: { name: 'bad-psk' }, stringData: { 'swarm.key': generateSwarmKey() } } })
    await eventually(async () => conditionOf(await dawn.get('DawnNetwork', ns, 'broken'), 'Degraded')?.status === 'False', { what: 'network broken to recover', timeoutMs: 20_000 })
    await eventually(async () => (await dawn.get('DawnNode', ns, 'blocked')).status?.peers?.length === 1, { what: 'pool blocked to recover', timeoutMs: 20_000 })
    await eventually(async () => await c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'blocked' }), { what: 'StatefulSet blocked' })
  })
})
