// The operator as a real process (operator/bin/dawn-operator), SIGKILLed in the middle of
// creating several pools and started again: it must converge with no duplicate and no lost
// identity, since key material is only ever created conditionally and read fresh.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { peerIdFromPrivateKeyPem } from '@dawn/node-image/identity'
import {
  applyCrds, clients, createNamespace, Dawn, deleteNamespace, eventually, killAll, networkManifest, poolManifest,
  printLogsOnFailure, secretTexts, spawnOperator, statusPeerIds, type OperatorProcess
} from './helpers.ts'

const c = clients()
const dawn = new Dawn(c)
let ns = ''
const procs: OperatorProcess[] = []

beforeAll(async () => {
  await applyCrds(c)
  ns = await createNamespace(c, 'op-crash')
})
afterAll(async () => {
  await killAll(procs)
  await deleteNamespace(c, ns)
})
printLogsOnFailure(() => procs.map(p => ({ name: p.name, lines: p.lines })))

const POOLS = { p0: 3, p1: 4, p2: 2, p3: 5, p4: 3 } as const
type Pool = keyof typeof POOLS
const poolNames = Object.keys(POOLS) as Pool[]

function start (n: number): OperatorProcess {
  const p = spawnOperator(`operator-${n}`, ['--namespace', ns, '--leader-elect', 'false', '--metrics-port', '0', '--log-level', 'info'])
  procs.push(p)
  return p
}

/** Identity Secrets as they are now: pool → texts. */
async function identities (): Promise<Map<string, Record<string, string>>> {
  const list = await c.core.listNamespacedSecret({ namespace: ns, labelSelector: 'app.kubernetes.io/managed-by=dawn-operator' })
  return new Map(list.items.filter(s => s.metadata?.name?.endsWith('-identity') === true).map(s => [s.metadata?.name ?? '', secretTexts(s)]))
}

async function networkSecrets (): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const name of ['crash-net-ca', 'crash-net-swarm-key']) {
    const s = await c.core.readNamespacedSecret({ namespace: ns, name }).catch(() => undefined)
    if (s !== undefined) out[name] = JSON.stringify(s.data)
  }
  return out
}

async function waitForStart (p: OperatorProcess): Promise<void> {
  await eventually(async () => {
    if (!p.isRunning()) throw new Error(`${p.name} exited:\n${p.lines.slice(-20).join('\n')}`)
    return p.lines.filter(l => l.includes('controller started')).length === 3
  }, { what: `${p.name} controllers to start`, timeoutMs: 60_000, detail: async () => p.lines.slice(-10).join('\n') })
}

describe('dawn-operator killed mid-reconcile', () => {
  it('converges after a restart: one identity per ordinal, identities unchanged, one StatefulSet per pool', async () => {
    await dawn.create(networkManifest(ns, 'crash-net'))
    const first = start(1)
    await waitForStart(first)
    for (const name of poolNames) await dawn.create(poolManifest(ns, name, 'crash-net', { replicas: POOLS[name] }))
    // Kill as soon as key material starts to appear: some pools done, some half, some not started.
    await eventually(async () => (await identities()).size >= 1, { what: 'the first identity Secret', intervalMs: 10 })
    first.kill('SIGKILL')
    expect(await first.exited).toBe('SIGKILL')
    const atFirstKill = await identities()
    const netAtKill = await networkSecrets()

    // A second life, killed again once more pools have keys.
    const second = start(2)
    await waitForStart(second)
    await eventually(async () => (await identities()).size >= Math.min(poolNames.length, atFirstKill.size + 1), { what: 'more identity Secrets', intervalMs: 10 })
    second.kill('SIGKILL')
    expect(await second.exited).toBe('SIGKILL')
    const atSecondKill = await identities()

    const third = start(3)
    await waitForStart(third)
    const settled = await eventually(async () => {
      const pools = await Promise.all(poolNames.map(async name => await dawn.get('DawnNode', ns, name)))
      return pools.every(p => p.status?.peers?.length === POOLS[p.metadata.name as Pool] && p.status.observedGeneration === p.metadata.generation) ? pools : undefined
    }, { what: 'every pool to report its peers', timeoutMs: 60_000 })
    // Every StatefulSet exists at its size.
    await eventually(async () => {
      const sets = (await c.apps.listNamespacedStatefulSet({ namespace: ns })).items
      return sets.length === poolNames.length && sets.every(s => s.spec?.replicas === POOLS[s.metadata?.name as Pool])
    }, { what: 'one StatefulSet per pool' })

    const final = await identities()
    expect([...final.keys()].sort()).toEqual(poolNames.map(n => `${n}-identity`))
    const allPeerIds: string[] = []
    for (const pool of settled) {
      const name = pool.metadata.name as Pool
      const texts = final.get(`${name}-identity`)!
      // Exactly one key and one certificate per ordinal.
      const ordinals = Array.from({ length: POOLS[name] }, (_, i) => i)
      expect(Object.keys(texts).sort(), name).toEqual(ordinals.flatMap(i => [`${i}.cert.json`, `${i}.key`]).sort())
      const peers = statusPeerIds(pool)
      for (const i of ordinals) {
        expect(peers[i], `${name} ordinal ${i}`).toBe(peerIdFromPrivateKeyPem(texts[`${i}.key`]!))
        allPeerIds.push(peers[i]!)
      }
      // Whatever key existed at either kill is still the key now.
      for (const snapshot of [atFirstKill, atSecondKill]) {
        const before = snapshot.get(`${name}-identity`)
        if (before === undefined) continue
        for (const [k, v] of Object.entries(before)) if (k.endsWith('.key')) expect(texts[k], `${name} ${k}`).toBe(v)
      }
    }
    expect(new Set(allPeerIds).size).toBe(allPeerIds.length)

    // No duplicates of anything else either.
    const sets = (await c.apps.listNamespacedStatefulSet({ namespace: ns })).items.map(s => s.metadata?.name).sort()
    expect(sets).toEqual([...poolNames].sort())
    const services = (await c.core.listNamespacedService({ namespace: ns })).items.map(s => s.metadata?.name).sort()
    expect(services).toEqual(poolNames.flatMap(n => [n, `${n}-headless`]).sort())
    const secrets = (await c.core.listNamespacedSecret({ namespace: ns })).items.map(s => s.metadata?.name).sort()
    expect(secrets).toEqual(['crash-net-ca', 'crash-net-swarm-key', ...poolNames.flatMap(n => [`${n}-agent-headers`, `${n}-identity`])].sort())
    // The network's PSK and CA survived the kills as they were.
    const net = await networkSecrets()
    for (const [name, data] of Object.entries(netAtKill)) expect(net[name], name).toBe(data)
    // Pods: exactly the ordinals of each pool.
    await eventually(async () => {
      const pods = (await c.core.listNamespacedPod({ namespace: ns })).items.map(p => p.metadata?.name ?? '').sort()
      return JSON.stringify(pods) === JSON.stringify(poolNames.flatMap(n => Array.from({ length: POOLS[n] }, (_, i) => `${n}-${i}`)).sort())
    }, { what: 'one pod per ordinal' })
    process.stderr.write(`[crash] identity Secrets at first kill: ${atFirstKill.size}, at second kill: ${atSecondKill.size} of ${poolNames.length}\n`)

    // A clean stop after all this.
    third.kill('SIGTERM')
    expect(await third.exited).toBe(0)
  })
})
