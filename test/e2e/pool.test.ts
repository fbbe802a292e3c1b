// A 3-replica pool as real pods: the operator (itself a pod, installed from
// manifests/install.yaml) turns a DawnNetwork, a DawnNode and a DawnAgent into StatefulSet
// pods that start, find each other over pod DNS, serve MCP through the pool's Service, share
// content, and survive pod deletion, agent changes, rollouts and scaling.
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { V1Pod } from '@kubernetes/client-node'
import type { NodeConfig } from '@dawn/node-image/config'
import { dumpOnFailure, eventually, freshConnectionFetch, kubectl } from './access.ts'
import { HTTP_PORT, PoolFixture, restarts, type PeerInfo } from './pool-fixture.ts'

const f = new PoolFixture()
const NET = 'mesh'
const POOL = 'edge'
const AGENT = 'echo'

dumpOnFailure(() => f.ns)

beforeAll(async () => {
  await f.createNamespace('e2e-pool')
  await f.apply(f.network(NET), f.pool(POOL, NET, { replicas: 3 }), f.agent(AGENT, NET))
})
afterAll(async () => { await f.dispose() })

/** What `name` resolves to for a pod: the node image's own runtime, asking the cluster DNS like the node does. */
async function resolveFromPod (pod: string, name: string): Promise<string[]> {
  const script = `require('node:dns').promises.resolve4(${JSON.stringify(name)}).then(a => console.log(a.join(',')), e => console.log(e.code))`
  return (await kubectl(['exec', '-n', f.ns, pod, '-c', 'node', '--', 'node', '-e', script])).trim().split(',')
}

describe('start-up', () => {
  let pods: V1Pod[] = []

  it('brings every pod to Running and Ready with no restart, admitted under Pod Security restricted', async () => {
    await f.readyPool(POOL, 3)
    pods = await f.pods(POOL)
    expect(pods.map(p => p.metadata?.name)).toEqual([`${POOL}-0`, `${POOL}-1`, `${POOL}-2`])
    for (const pod of pods) {
      expect(pod.status?.phase, pod.metadata?.name).toBe('Running')
      expect(pod.status?.containerStatuses?.every(s => s.ready), pod.metadata?.name).toBe(true)
      expect(restarts(pod), `${pod.metadata?.name ?? ''} restarts`).toBe(0)
    }
    const labels = (await f.c.core.readNamespace({ name: f.ns })).metadata?.labels
    expect(labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted')
  })

  it('node and Kubo run as uid 65532 on a read-only root filesystem, and write only to their volumes', async () => {
    for (const [container, volume] of [['node', '/var/lib/dawn'], ['kubo', '/data/ipfs']] as const) {
      const out = await f.exec(`${POOL}-0`, container, `id -u; echo x > /probe 2>&1 || echo root-ro; echo x > ${volume}/.e2e-probe && rm ${volume}/.e2e-probe && echo volume-rw`)
      expect(out.trim().split('\n').filter(l => !l.includes('Read-only'))).toEqual(['65532', 'root-ro', 'volume-rw'])
    }
  })

  it('each node has verified both others, found through per-pod DNS names only', async () => {
    const cm = await f.c.core.readNamespacedConfigMap({ namespace: f.ns, name: `${POOL}-config` })
    const config = JSON.parse(cm.data?.['config.json'] ?? '{}') as NodeConfig
    // The only addresses a node is given are DNS names: finding peers proves pod DNS works.
    expect(config.p2p.bootstrap).toHaveLength(3)
    for (const addr of config.p2p.bootstrap) expect(addr).toMatch(new RegExp(`^/dns4/${POOL}-\\d\\.${POOL}-headless\\.${f.ns}\\.svc\\.cluster\\.local/tcp/\\d+/p2p/`))
    const ids = await Promise.all(pods.map(async p => (await f.node(p)).peerId))
    for (const [i, pod] of pods.entries()) {
      const name = `${POOL}-${i}.${POOL}-headless.${f.ns}.svc.cluster.local`
      expect(await resolveFromPod(`${POOL}-0`, name), name).toEqual([pod.status?.podIP])
      const verified = await eventually(async () => {
        const peers = (await f.node<PeerInfo[]>(pod, '/api/v1/peers')).filter(p => p.verified).map(p => p.peerId).sort()
        return peers.length === 2 ? peers : undefined
      }, { what: `${pod.metadata?.name ?? ''} to verify 2 peers`, timeoutMs: 60_000 })
      expect(verified).toEqual(ids.filter((_, j) => j !== i).sort())
    }
  })
})

/** `<last 10 chars of the node id>.<agentId>.<tool>`: a tool's mesh-wide name. */
const meshName = (peerId: string, agentId: string, tool: string): string => `${peerId.slice(-10)}.${agentId}.${tool}`

async function connectMcp (url: string, fetchImpl?: typeof fetch): Promise<Client> {
  const client = new Client({ name: 'dawn-e2e', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', url), fetchImpl === undefined ? {} : { fetch: fetchImpl }))
  return client
}

const text = (r: Awaited<ReturnType<Client['callTool']>>): string => (r.content as Array<{ text?: string }>).map(c => c.text ?? '').join('')

interface Registry { entries: Array<{ nodeId: string, agentId: string, tools: Array<{ name: string }> }> }

async function ids (): Promise<string[]> {
  return await Promise.all((await f.pods(POOL)).map(async p => (await f.node(p)).peerId))
}

describe('MCP through the pool', () => {
  it('every pod lists the agent once for its three replicas and calls it on the others', async () => {
    const pods = await f.pods(POOL)
    const peerIds = await ids()
    for (const [i, pod] of pods.entries()) {
      const client = await connectMcp(await f.nodeUrl(pod))
      try {
        await eventually(async () => {
          const hosts = new Set((await f.node<Registry>(pod, '/api/v1/registry')).entries.filter(e => e.agentId === AGENT).map(e => e.nodeId))
          return peerIds.every(id => hosts.has(id))
        }, { what: `${pod.metadata?.name ?? ''} to know the echo agent of every node`, timeoutMs: 60_000 })
        const names = (await client.listTools()).tools.map(t => t.name)
        expect(names.filter(n => n === `${AGENT}.echo`)).toHaveLength(1)
        expect(names.filter(n => n.endsWith(`.${AGENT}.echo`))).toEqual([])
        for (const [j, id] of peerIds.entries()) {
          if (j === i) continue
          const said = `from ${POOL}-${i} to ${POOL}-${j}`
          expect(text(await client.callTool({ name: meshName(id, AGENT, 'echo'), arguments: { text: said } }))).toBe(said)
        }
      } finally { await client.close() }
    }
  })

  it('reports in the DawnAgent\'s status the tools it exposes, the pods serving it and its replicas, as a node\'s registry shows them', async () => {
    const status = await eventually(async () => {
      const s = (await f.dawn.get('DawnAgent', f.ns, AGENT)).status
      return s?.readyReplicas === 3 && s.conditions?.some(c => c.type === 'Serving' && c.status === 'True') === true ? s : undefined
    }, { what: 'the echo agent Serving on 3 replicas in its status', timeoutMs: 90_000 })
    expect(status.discoveredTools?.map(t => t.name).sort()).toEqual(['echo', 'generate', 'sleep'])
    expect(status.toolCount).toBe(3)
    expect(status.desiredReplicas).toBe(3)
    expect([...(status.servingNodes ?? [])].sort()).toEqual([0, 1, 2].map(i => `${POOL}-${i}`))
    const table = await kubectl(['get', 'dawnagent', AGENT, '-n', f.ns])
    expect(table).toMatch(/REPLICAS\s+TOOLS/)
    expect(table).toMatch(/True\s+3\s+3\s/)
  })

  it('a session client makes 50 calls through the Service, a new connection each, without losing its session', async () => {
    const svc = await f.c.core.readNamespacedService({ namespace: f.ns, name: POOL })
    expect(svc.spec?.sessionAffinity).toBe('ClientIP')
    const url = await f.bridges.url(svc.spec?.clusterIP ?? '', HTTP_PORT)
    const peerIds = await ids()
    const client = await connectMcp(url, freshConnectionFetch)
    try {
      for (let i = 0; i < 50; i++) {
        const target = peerIds[i % peerIds.length]!
        expect(text(await client.callTool({ name: meshName(target, AGENT, 'echo'), arguments: { text: `call ${i}` } }))).toBe(`call ${i}`)
      }
    } finally { await client.close() }
  })
})

describe('content', () => {
  it('bytes added on pod 0 are read intact on pod 2; the Kubo sidecars peer only inside the private swarm', async () => {
    const [p0, , p2] = await f.pods(POOL)
    const bytes = randomBytes(700 * 1024)
    const add = await fetch(`${await f.nodeUrl(p0!)}/api/v1/content`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes })
    expect(add.status, await add.clone().text()).toBe(201)
    const { cid } = await add.json() as { cid: string }
    const got = await eventually(async () => {
      const r = await fetch(`${await f.nodeUrl(p2!)}/api/v1/content/${cid}`, { signal: AbortSignal.timeout(30_000) })
      return r.ok ? Buffer.from(await r.arrayBuffer()) : undefined
    }, { what: `pod 2 to serve ${cid}`, timeoutMs: 60_000 })
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'))

    const podIps = new Set((await f.pods(POOL)).map(p => p.status?.podIP))
    const others = new Set(await Promise.all([1, 2].map(async i => (await f.exec(`${POOL}-${i}`, 'kubo', "ipfs id -f '<id>'")).trim())))
    // One line per connection: two sidecars that dial each other at once hold two, so compare peer ids.
    const swarm = async (): Promise<string[]> => (await f.exec(`${POOL}-0`, 'kubo', 'ipfs swarm peers')).trim().split('\n').filter(Boolean)
    const peers = await eventually(async () => {
      const out = await swarm()
      const ids = new Set(out.map(a => a.split('/p2p/').at(-1)))
      return ids.size === others.size && [...others].every(id => ids.has(id)) ? out : undefined
    }, { what: 'the Kubo sidecar of pod 0 to peer with both others', timeoutMs: 120_000, intervalMs: 1000, detail: async () => `swarm peers: ${(await swarm()).join(', ')}; expected ${[...others].join(', ')}` })
    for (const addr of peers) expect(podIps.has(/^\/ip4\/([^/]+)\//.exec(addr)?.[1])).toBe(true)
    expect(JSON.parse(await f.exec(`${POOL}-0`, 'kubo', 'ipfs config Bootstrap'))).toEqual([])
    expect((await f.exec(`${POOL}-0`, 'kubo', 'ls /data/ipfs')).split('\n')).toContain('swarm.key')
  })
})

describe('per-pod keys', () => {
  it('a node container can read its own key and no other ordinal\'s', async () => {
    const secret = await f.c.core.readNamespacedSecret({ namespace: f.ns, name: `${POOL}-identity` })
    const keyOf = (i: number): string => Buffer.from(secret.data?.[`${i}.key`] ?? '', 'base64').toString('utf8')
    const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
    for (let i = 0; i < 3; i++) {
      const pod = `${POOL}-${i}`
      expect((await f.exec(pod, 'node', 'ls -A /etc/dawn/identity')).trim().split('\n').sort()).toEqual(['node.cert.json', 'node.key'])
      expect((await f.exec(pod, 'node', 'sha256sum /etc/dawn/identity/node.key')).split(' ')[0]).toBe(sha(keyOf(i)))
      // Every other ordinal's key: a distinctive line of it, searched in every file mounted into the container.
      const mounts = (await f.exec(pod, 'node', 'cat /proc/self/mountinfo')).split('\n').map(l => l.split(' ')[4] ?? '')
        .filter(m => m !== '' && !/^\/(proc|sys|dev)(\/|$)/.test(m) && m !== '/')
      expect(mounts).toContain('/etc/dawn/identity')
      for (let j = 0; j < 3; j++) {
        if (j === i) continue
        const needle = keyOf(j).split('\n').find(l => l.length > 40 && !l.startsWith('-----'))
        expect(needle, `ordinal ${j} key has a body line`).toBeDefined()
        const found = await f.exec(pod, 'node', `grep -rlF -e '${needle!}' ${mounts.join(' ')} 2>/dev/null || true`)
        expect(found.trim(), `${pod} can read ordinal ${j}'s key`).toBe('')
      }
      // The search itself works: it finds this pod's own key.
      const own = keyOf(i).split('\n').find(l => l.length > 40 && !l.startsWith('-----'))!
      expect((await f.exec(pod, 'node', `grep -rlF -e '${own}' ${mounts.join(' ')} 2>/dev/null || true`)).trim().split('\n')).toContain('/etc/dawn/identity/node.key')
    }
  })
})

async function agentsOnEveryNode (agentId: string): Promise<boolean[]> {
  const pods = await f.pods(POOL)
  const peerIds = await ids()
  return await Promise.all(pods.map(async pod => {
    const reg = await f.node<Registry>(pod, '/api/v1/registry')
    return peerIds.every(id => reg.entries.some(e => e.nodeId === id && e.agentId === agentId && e.tools.length > 0))
  }))
}

const snapshot = async (): Promise<Array<{ uid: string, restarts: number }>> =>
  (await f.pods(POOL)).map(p => ({ uid: p.metadata?.uid ?? '', restarts: restarts(p) }))

describe('agent changes', () => {
  it('adding and removing a DawnAgent changes every node\'s registry with no pod restart', async () => {
    const before = await snapshot()
    await f.apply(f.agent('notes', NET, { builtin: { name: 'notes' } }))
    await eventually(async () => (await agentsOnEveryNode('notes')).every(Boolean),
      { what: 'every node to list the notes agent of every node', timeoutMs: 120_000, intervalMs: 1000 })
    await f.dawn.delete('DawnAgent', f.ns, 'notes')
    await eventually(async () => (await agentsOnEveryNode('notes')).every(b => !b) && (await agentsOnEveryNode(AGENT)).every(Boolean),
      { what: 'the notes agent to leave every registry (echo staying)', timeoutMs: 120_000, intervalMs: 1000 })
    expect(await snapshot()).toEqual(before)
  })
})

describe('pod deletion', () => {
  it('a deleted pod comes back with the same peer id and the mesh heals', async () => {
    const [, p1] = await f.pods(POOL)
    const oldUid = p1!.metadata?.uid
    const peerId = (await f.node(p1!)).peerId
    await f.c.core.deleteNamespacedPod({ namespace: f.ns, name: `${POOL}-1` })
    const back = await eventually(async () => {
      const p = (await f.pods(POOL)).find(x => x.metadata?.name === `${POOL}-1`)
      return p !== undefined && p.metadata?.uid !== oldUid && p.status?.containerStatuses?.every(s => s.ready) === true ? p : undefined
    }, { what: `${POOL}-1 to come back Ready`, timeoutMs: 240_000, intervalMs: 1000 })
    expect((await f.node(back)).peerId).toBe(peerId)
    await f.readyPool(POOL, 3)
    for (const pod of await f.pods(POOL)) {
      await eventually(async () => (await f.node<PeerInfo[]>(pod, '/api/v1/peers')).filter(p => p.verified).length === 2,
        { what: `${pod.metadata?.name ?? ''} to verify 2 peers again`, timeoutMs: 120_000 })
    }
  })
})

describe('rollouts', () => {
  it('a change that needs a restart rolls the pods one at a time, and the PDB refuses a second disruption meanwhile', async () => {
    const before = await snapshot()
    await f.dawn.patch('DawnNode', f.ns, POOL, { spec: { resources: { requests: { cpu: '20m' } } } })
    let minReady = 3
    let evictionRefused = false
    await eventually(async () => {
      const pods = await f.pods(POOL)
      const ready = pods.filter(p => p.metadata?.deletionTimestamp === undefined && p.status?.containerStatuses?.every(s => s.ready) === true)
      minReady = Math.min(minReady, ready.length)
      if (ready.length === 2 && !evictionRefused) {
        // One pod is down for the rollout: the PDB (maxUnavailable 1) must refuse to take another.
        try {
          await f.c.core.createNamespacedPodEviction({ namespace: f.ns, name: ready[0]!.metadata!.name!, body: { metadata: { name: ready[0]!.metadata!.name!, namespace: f.ns } } })
          throw new Error(`the PDB allowed evicting ${ready[0]!.metadata!.name!} while another pod was down`)
        } catch (e) {
          if ((e as { code?: number }).code === 429) evictionRefused = true
          else throw e
        }
      }
      const rolled = pods.length === 3 && pods.every(p => !before.some(b => b.uid === p.metadata?.uid))
      return rolled && ready.length === 3
    }, { what: 'every pod replaced and Ready', timeoutMs: 480_000, intervalMs: 300 })
    expect(minReady).toBeGreaterThanOrEqual(2)
    expect(evictionRefused).toBe(true)
    await f.readyPool(POOL, 3)
  })

  it('a change that needs no restart (a label on the DawnNode) rolls nothing', async () => {
    const before = await snapshot()
    const sts = await f.c.apps.readNamespacedStatefulSet({ namespace: f.ns, name: POOL })
    await f.dawn.patch('DawnNode', f.ns, POOL, { metadata: { labels: { 'e2e/touched': 'yes' } } })
    // The operator has seen the change once the pool's status reports the new generation...
    await f.readyPool(POOL, 3)
    const after = await f.c.apps.readNamespacedStatefulSet({ namespace: f.ns, name: POOL })
    expect(after.status?.updateRevision).toBe(sts.status?.updateRevision)
    expect(await snapshot()).toEqual(before)
  })
})

describe('scaling 3 → 5 → 2 → 4', () => {
  it('keeps every ordinal\'s peer id, and a returning pod keeps its volume', async () => {
    const peerOf = new Map<string, string>()
    const record = async (): Promise<void> => {
      for (const pod of await f.pods(POOL)) {
        const id = (await f.node(pod)).peerId
        const name = pod.metadata?.name ?? ''
        expect(peerOf.get(name) ?? id, `${name} kept its peer id`).toBe(id)
        peerOf.set(name, id)
      }
    }
    await record()
    for (const replicas of [5, 2, 4]) {
      if (replicas === 2) {
        // Leave a mark on ordinal 3's volume before it goes away.
        await f.exec(`${POOL}-3`, 'node', 'echo kept > /var/lib/dawn/e2e-mark')
      }
      const pvc3 = replicas === 4 ? (await f.c.core.readNamespacedPersistentVolumeClaim({ namespace: f.ns, name: `data-${POOL}-3` })).metadata?.uid : undefined
      await f.dawn.scale(f.ns, POOL, replicas)
      await f.readyPool(POOL, replicas)
      await eventually(async () => (await f.pods(POOL)).length === replicas, { what: `${replicas} pods`, timeoutMs: 120_000 })
      await record()
      if (replicas === 4) {
        expect((await f.c.core.readNamespacedPersistentVolumeClaim({ namespace: f.ns, name: `data-${POOL}-3` })).metadata?.uid).toBe(pvc3)
        expect((await f.exec(`${POOL}-3`, 'node', 'cat /var/lib/dawn/e2e-mark')).trim()).toBe('kept')
        expect((await f.exec(`${POOL}-3`, 'node', 'ls /var/lib/dawn')).split('\n')).toContain('registry.json')
      }
    }
    expect(peerOf.size).toBe(5)
    expect(new Set(peerOf.values()).size).toBe(5)
  })
})
