import { randomBytes } from 'node:crypto'
import { access, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { generateSwarmKey } from '../../src/identity/swarm-key.ts'
import { initKuboRepo, kuboFetch, rpc, startKubo, type KuboDaemon } from '../../../test/support/kubo.ts'
import { tempDir } from './harness.ts'

// The swarm key the operator hands its Kubo sidecars really isolates them: real Kubo
// daemons whose repositories the operator's own init script prepared (test/support/kubo.ts
// runs the rendered kubo-init container), on loopback. The keyless and other-key daemons
// are the outsiders.
describe('Kubo in a private swarm', () => {
  let dir = ''
  const kubos: KuboDaemon[] = []
  let a: KuboDaemon, b: KuboDaemon, pub: KuboDaemon, other: KuboDaemon
  const bytes = randomBytes(64 * 1024)
  let cid: string

  beforeAll(async () => {
    dir = await tempDir('dawn-kubo-')
    const key = generateSwarmKey()
    const started = await Promise.allSettled([
      startKubo({ dir: join(dir, 'a'), swarmKey: key }),
      startKubo({ dir: join(dir, 'b'), swarmKey: key }),
      startKubo({ dir: join(dir, 'public') }),
      startKubo({ dir: join(dir, 'other'), swarmKey: generateSwarmKey() })
    ])
    for (const r of started) if (r.status === 'fulfilled') kubos.push(r.value)
    const failed = started.find(r => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason as Error
    ;[a, b, pub, other] = kubos as [KuboDaemon, KuboDaemon, KuboDaemon, KuboDaemon]
    const form = new FormData()
    form.append('file', new Blob([bytes]), 'data.bin')
    const res = await kuboFetch(a.apiUrl, 'add', { 'cid-version': '1', 'raw-leaves': 'true' }, form)
    expect(res.ok, await res.clone().text()).toBe(true)
    cid = (await res.json() as { Hash: string }).Hash
  })
  afterAll(async () => {
    await Promise.all(kubos.map(async k => { await k.stop() }))
    if (dir !== '') await rm(dir, { recursive: true, force: true })
  })

  const connect = async (from: KuboDaemon, to: KuboDaemon): Promise<Response> =>
    await kuboFetch(from.apiUrl, 'swarm/connect', { arg: to.swarmAddrs[0] ?? '', timeout: '3s' })
  const peersOf = async (k: KuboDaemon): Promise<string[]> =>
    ((await rpc<{ Peers: Array<{ Peer: string }> | null }>(k.apiUrl, 'swarm/peers')).Peers ?? []).map(p => p.Peer)

  it('two nodes with the same key connect and exchange blocks', async () => {
    const res = await connect(a, b)
    expect(res.ok, await res.text()).toBe(true)
    expect(await peersOf(a)).toContain(b.peerId)
    const cat = await kuboFetch(b.apiUrl, 'cat', { arg: cid, timeout: '20s' })
    expect(cat.ok).toBe(true)
    expect(Buffer.from(await cat.arrayBuffer()).equals(bytes)).toBe(true)
  })

  it('a node without a key, or with another key, can neither connect nor fetch', async () => {
    // Each refusal takes a timeout; check both outsiders at once.
    await Promise.all([pub, other].map(async outsider => {
      for (const [from, to] of [[outsider, a], [a, outsider]] as const) {
        const res = await connect(from, to)
        expect(res.ok).toBe(false)
        // The PSK handshake garbles the stream: the dialer that sent plaintext or another
        // key's ciphertext fails negotiation, or the dial just times out.
        expect((await res.json() as { Message: string }).Message).toMatch(/failed to negotiate security protocol|deadline exceeded/)
      }
      const cat = await kuboFetch(outsider.apiUrl, 'cat', { arg: cid, timeout: '3s' })
      expect(cat.ok).toBe(false)
      expect(Buffer.from(await cat.arrayBuffer()).equals(bytes)).toBe(false)
    }))
    const peers = await peersOf(a)
    expect(peers).not.toContain(pub.peerId)
    expect(peers).not.toContain(other.peerId)
  })

  it('the init script\'s public branch (privateSwarm off) prepares a public repository without a key', async () => {
    // Not started: a public Kubo would dial the public network.
    const repo = join(dir, 'public-pod')
    await initKuboRepo({ dir: repo, privateSwarm: false })
    const config = JSON.parse(await readFile(join(repo, 'config'), 'utf8')) as { AutoConf: { Enabled: boolean }, Bootstrap: string[], Addresses: { API: string } }
    expect(config.AutoConf.Enabled).toBe(true)
    expect(config.Bootstrap).not.toEqual([])
    expect(config.Addresses.API).toMatch(/^\/ip4\/127\.0\.0\.1\//)
    await expect(access(join(repo, 'swarm.key'))).rejects.toThrow()
  })

  it('Kubo refuses to start with LIBP2P_FORCE_PNET=1 and no key', async () => {
    await expect(startKubo({ dir: join(dir, 'forced'), forcePnet: true }))
      .rejects.toThrow(/private network was not configured but is enforced/)
  })
})
