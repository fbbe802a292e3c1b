import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { peerIdFromString } from '@libp2p/peer-id'
import { startMesh, eventually, getJson, readMetric, type Mesh } from './harness.ts'
import { outsiderNode } from './outsiders.ts'
import { NodeProcess } from '../../src/local-mesh/node-process.ts'
import { DawnNode } from '../../src/node/dawn-node.ts'
import { loadConfig } from '../../src/config/load.ts'
import { networkProtocols } from '../../src/p2p/protocols.ts'
import { sealEnvelope } from '../../src/p2p/envelope.ts'
import { request } from '../../src/p2p/lp-rpc.ts'
import { readKeyFile, seedFromPrivateKey } from '../../src/identity/key-file.ts'
import { decodeCertificate } from '../../src/identity/membership.ts'

interface PeerView { peerId: string, verified: boolean }

describe('the mesh refuses outsiders and bad messages', () => {
  let mesh: Mesh
  const extra: NodeProcess[] = []
  beforeAll(async () => { mesh = await startMesh({ nodes: 3 }) })
  afterAll(async () => {
    await Promise.all(extra.map(async p => { await p.stop() }))
    await mesh.stop()
  })

  const verifiedOn = async (i: number, peer: string): Promise<boolean> =>
    (await mesh.get<PeerView[]>(i, '/api/v1/peers')).some(p => p.peerId === peer && p.verified)

  it('a node with the wrong PSK cannot connect', async () => {
    const node = await outsiderNode(mesh.net, { psk: false, ca: true })
    // Debug logs: the outsider reports each failed bootstrap dial.
    const config = JSON.parse(await readFile(node.configFile, 'utf8')) as Record<string, unknown>
    await writeFile(node.configFile, JSON.stringify({ ...config, log: { level: 'debug' } }))
    const proc = new NodeProcess({ configFile: node.configFile, httpUrl: node.httpUrl })
    extra.push(proc)
    proc.start()
    // Wait until its attempts have concluded: three failed dials to each of its two
    // bootstrap nodes, or else any connection at all (which would fail the test below).
    const failedDials = (addr: string): number => proc.logs().split('\n').filter(l => l.includes('bootstrap dial failed') && l.includes(addr)).length
    await eventually(async () => (await getJson<PeerView[]>(`${node.httpUrl}/api/v1/peers`)).length > 0 || mesh.net.nodes.slice(0, 2).every(n => failedDials(n.p2pAddr) >= 3),
      { what: 'three failed dials to each bootstrap node', detail: async () => proc.logs() })
    expect(await getJson<PeerView[]>(`${node.httpUrl}/api/v1/peers`)).toEqual([])
    expect((await fetch(`${node.httpUrl}/readyz`)).status).toBe(503)
    for (let i = 0; i < 3; i++) {
      expect((await mesh.get<PeerView[]>(i, '/api/v1/peers')).map(p => p.peerId)).not.toContain(node.peerId)
    }
    await proc.stop()
  })

  it('a node whose certificate comes from another CA is refused', async () => {
    const before = await Promise.all([0, 1].map(async i => await mesh.metric(i, 'dawn_membership_rejected_total', { reason: 'invalid-certificate' })))
    const node = await outsiderNode(mesh.net, { psk: true, ca: false })
    const proc = new NodeProcess({ configFile: node.configFile, httpUrl: node.httpUrl })
    extra.push(proc)
    proc.start()
    // Its two bootstrap nodes each saw its certificate and refused it.
    await eventually(async () => {
      for (const i of [0, 1]) if (await mesh.metric(i, 'dawn_membership_rejected_total', { reason: 'invalid-certificate' }) <= before[i]!) return false
      return true
    }, { what: 'nodes 1 and 2 to count the refusal', detail: async () => proc.logs() })
    for (let i = 0; i < 3; i++) expect(await verifiedOn(i, node.peerId)).toBe(false)
    expect((await getJson<PeerView[]>(`${node.httpUrl}/api/v1/peers`)).filter(p => p.verified)).toEqual([])
    expect(await readMetric(node.httpUrl, 'dawn_peers')).toBe(0)
    await proc.stop()
  })

  it('forged, replayed and garbage messages from a member are dropped and counted; the node stays healthy', async () => {
    // A legitimate member (valid PSK and certificate) that misbehaves, run in-process.
    const files = await outsiderNode(mesh.net, { psk: true, ca: true })
    const { config } = await loadConfig({ file: files.configFile })
    const attacker = await DawnNode.create({ config, http: false })
    await attacker.start()
    try {
      const target = mesh.net.nodes[0]
      const victim = mesh.net.nodes[1]
      if (target === undefined || victim === undefined) throw new Error('mesh too small')
      await eventually(async () => await verifiedOn(0, attacker.peerId), { what: 'the attacker admitted as a member' })
      const digestBefore = (await mesh.get<{ digest: string }>(0, '/api/v1/registry')).digest
      const protocols = networkProtocols(config.network.name)
      const seed = seedFromPrivateKey(await readKeyFile(config.node.keyFile as string))
      const cert = decodeCertificate(await readFile(config.node.certificateFile, 'utf8'))
      const rejected = async (reason: string): Promise<number> => await mesh.metric(0, 'dawn_messages_rejected_total', { reason })
      const pubsub = attacker.libp2p.services.pubsub
      // The garbage is published once: the target itself must be a known subscriber, or it goes only to others.
      await eventually(async () => pubsub.getSubscribers(protocols.registryTopic).some(p => p.toString() === target.peerId), { what: 'the target\'s gossip subscription' })

      // Garbage on gossip and on a request/response protocol.
      const malformed = await rejected('malformed')
      await pubsub.publish(protocols.registryTopic, randomBytes(300))
      await request(attacker.libp2p, peerIdFromString(target.peerId), protocols.registrySync, randomBytes(200), { maxBytes: 1 << 20, signal: AbortSignal.timeout(5000) }).catch(() => {})
      await eventually(async () => await rejected('malformed') >= malformed + 2, { what: 'garbage counted as malformed' })

      // Forged: a message claiming to come from node 2, carrying node 2's certificate, signed by the attacker.
      const badSig = await rejected('bad-signature')
      const victimCert = decodeCertificate(await readFile(`${victim.dir}/node.cert.json`, 'utf8'))
      const genuine = JSON.parse(new TextDecoder().decode(sealEnvelope({ type: 'registry.delta', network: config.network.name, body: new TextEncoder().encode('{}'), privateKey: seed, peerId: attacker.peerId, cert }))) as Record<string, unknown>
      const forged = { ...genuine, from: victim.peerId, cert: victimCert }
      await pubsub.publish(protocols.registryTopic, new TextEncoder().encode(JSON.stringify(forged)))
      await eventually(async () => await rejected('bad-signature') > badSig, { what: 'the forgery counted' })

      // Replayed: the same valid sync request sent twice.
      const replay = await rejected('replay')
      const syncRequest = sealEnvelope({ type: 'registry.sync', network: config.network.name, body: new TextEncoder().encode(JSON.stringify({ op: 'replicas', root: digestBefore })), privateKey: seed, peerId: attacker.peerId, cert })
      const first = await request(attacker.libp2p, peerIdFromString(target.peerId), protocols.registrySync, syncRequest, { maxBytes: 1 << 20, signal: AbortSignal.timeout(5000) })
      expect(first.length).toBeGreaterThan(0)
      await expect(request(attacker.libp2p, peerIdFromString(target.peerId), protocols.registrySync, syncRequest, { maxBytes: 1 << 20, signal: AbortSignal.timeout(5000) })).rejects.toThrow()
      await eventually(async () => await rejected('replay') > replay, { what: 'the replay counted' })

      // Still healthy, still in the mesh, registry untouched by any of it.
      expect((await fetch(`${target.httpUrl}/healthz`)).status).toBe(200)
      expect((await fetch(`${target.httpUrl}/readyz`)).status).toBe(200)
      expect((await mesh.get<{ digest: string }>(0, '/api/v1/registry')).digest).toBe(digestBefore)
      expect(await verifiedOn(0, victim.peerId)).toBe(true)
      expect(mesh.procs[0]?.running).toBe(true)
    } finally {
      await attacker.stop()
    }
  })
})
