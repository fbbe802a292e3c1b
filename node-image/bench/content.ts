/**
 * `npm run bench -- content`: the content layer's two backends and its mesh fetch,
 * side by side and interleaved in rounds (the order flips every round) so machine
 * noise hits every path alike. The ratios are the point.
 *
 *   store     add and get of the same fresh random bytes on the embedded store
 *             (blockstore-fs in this process) and on a real Kubo daemon (RPC over HTTP).
 *             "get" reads like the node does: unixfs exporter over a verifying
 *             BlockFetcher session, every block hash-checked.
 *   fetch     two in-process DawnNodes A and B with embedded stores: fresh bytes are
 *             added on A, then read on B (first read: every block over the mesh block
 *             protocol, written to B's store) and on A (local read), same CID.
 *             With Kubo: the same bytes added on Kubo A, read on Kubo B (bitswap in a
 *             private swarm, via KuboStore.fetchBlock) and on Kubo A (local).
 *   peer      Dawn against Kubo, each as two daemon processes: a cold read on B of fresh
 *             bytes added on A, at several sizes, with the Dawn/Kubo throughput ratio
 *             (content-peer.ts).
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { exporter } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'
import { EmbeddedStore } from '../src/storage/embedded-store.ts'
import { KuboStore } from '../src/storage/kubo-store.ts'
import { BlockFetcher, type BlockSource } from '../src/storage/block-fetcher.ts'
import type { ContentStore } from '../src/storage/content-store.ts'
import { createNodeMetrics } from '../src/metrics/node-metrics.ts'
import { silentLogger, type LogFn } from '../src/logging/json-logger.ts'
import { generateSwarmKey } from '../src/identity/swarm-key.ts'
import { DawnNode } from '../src/node/dawn-node.ts'
import { createNetworkDir } from '../src/local-mesh/network-dir.ts'
import { loadConfig } from '../src/config/load.ts'
import { startKubo, kuboFetch, type KuboDaemon } from '../../test/support/kubo.ts'
import { Deadline, fmtMs, formatTable, median, sleep, summarize, withTimeout } from './util.ts'
import { peerSection } from './content-peer.ts'

const MiB = 1024 * 1024
/** Upload chunk size, about what an HTTP body arrives in. */
const UPLOAD_CHUNK = 64 * 1024
/** As ContentService.get reads. */
const BLOCK_READ_CONCURRENCY = 8

interface Path {
  label: string
  samples: number[]
}

export async function run (args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      mib: { type: 'string', default: '16' },
      'mesh-mib': { type: 'string', default: '4' },
      rounds: { type: 'string', default: '5' },
      sizes: { type: 'string', default: '1,16,64' },
      sections: { type: 'string', default: 'store,fetch,peer' },
      'skip-kubo-fetch': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) {
    process.stdout.write([
      'options: --mib N        store add/get payload in MiB (16)',
      '         --mesh-mib N   fetch payload in MiB (4)',
      '         --rounds N     measured rounds per section (5), after one unmeasured 1 MiB warm-up round',
      '         --sizes A,B,C  peer section payloads in MiB (1,16,64)',
      '         --sections S   which of store,fetch,peer to run (all)',
      '         --skip-kubo-fetch  no second Kubo daemon, no Kubo-to-Kubo bitswap rows',
      'Kubo comes from scripts/fetch-kubo.sh (or $DAWN_KUBO_BIN); without it the Kubo rows are skipped.'
    ].join('\n') + '\n')
    return
  }
  const mib = positive(values.mib, '--mib')
  const meshMib = positive(values['mesh-mib'], '--mesh-mib')
  const rounds = Math.ceil(positive(values.rounds, '--rounds'))
  const kuboFetchRow = !values['skip-kubo-fetch']
  const sizes = values.sizes.split(',').map(s => positive(s, '--sizes'))
  const sections = new Set(values.sections.split(','))
  for (const s of sections) if (!['store', 'fetch', 'peer'].includes(s)) throw new Error(`--sections: unknown section ${s}`)

  const dir = await mkdtemp(join(tmpdir(), 'dawn-bench-content-'))
  const cleanup: Array<() => Promise<void>> = []
  try {
    // Kubo daemons first (in parallel): both sections use them.
    const swarmKey = generateSwarmKey()
    let kuboA: KuboDaemon | undefined
    let kuboB: KuboDaemon | undefined
    const started = await Promise.allSettled([
      startKubo({ dir: join(dir, 'kubo-a'), swarmKey }),
      ...(kuboFetchRow ? [startKubo({ dir: join(dir, 'kubo-b'), swarmKey })] : [])
    ])
    for (const r of started) if (r.status === 'fulfilled') cleanup.push(r.value.stop)
    const failed = started.find(r => r.status === 'rejected')
    if (failed === undefined) {
      [kuboA, kuboB] = started.map(r => (r as PromiseFulfilledResult<KuboDaemon>).value)
    } else {
      process.stdout.write(`(Kubo rows skipped: ${(failed.reason as Error).message.split('\n')[0] ?? ''})\n`)
    }

    const embedded = new EmbeddedStore({ dir: join(dir, 'embedded') })
    await embedded.start()
    cleanup.push(async () => { await embedded.stop() })
    const kubo = kuboA === undefined ? undefined : new KuboStore({ apiUrl: kuboA.apiUrl })
    await kubo?.start()

    if (sections.has('store')) await storeSection({ embedded, kubo, bytes: Math.round(mib * MiB), rounds })
    if (sections.has('fetch')) await fetchSection({ dir, bytes: Math.round(meshMib * MiB), rounds, kuboA: kubo, kuboB, kuboAddr: kuboA?.swarmAddrs[0] })
    if (sections.has('peer')) await peerSection({ dir, sizes, rounds, ...(kuboA === undefined ? {} : { kuboA }), ...(kuboB === undefined ? {} : { kuboB }) })
  } finally {
    for (const stop of cleanup.reverse()) await withTimeout(stop().catch(() => {}), 15_000)
    await rm(dir, { recursive: true, force: true })
  }
}

// ---- store: add and get, embedded vs Kubo ----

async function storeSection (opts: { embedded: EmbeddedStore, kubo: KuboStore | undefined, bytes: number, rounds: number }): Promise<void> {
  const { embedded, kubo, bytes, rounds } = opts
  const stores: Array<{ name: string, store: ContentStore, fetcher: BlockFetcher, add: Path, get: Path }> = [embedded, ...(kubo === undefined ? [] : [kubo])].map(store => ({
    name: store.backend,
    store,
    fetcher: new BlockFetcher({ store, metrics: createNodeMetrics(), log: silentLogger }, { selfId: 'bench' }),
    add: { label: `${store.backend} add`, samples: [] },
    get: { label: `${store.backend} get`, samples: [] }
  }))
  const deadline = new Deadline(120_000)

  // Round 0 is a 1 MiB warm-up (JIT, HTTP keep-alive), not recorded.
  for (let r = 0; r <= rounds; r++) {
    deadline.check(`store round ${r}`)
    const size = r === 0 ? MiB : bytes
    const data = randomBytes(size)
    const order = r % 2 === 0 ? stores : [...stores].reverse()
    const cids: CID[] = []
    for (const s of order) {
      const t0 = performance.now()
      const { cid, size: added } = await s.store.add(chunks(data))
      const ms = performance.now() - t0
      if (added !== size) throw new Error(`${s.name} add took ${added} of ${size} bytes`)
      cids.push(cid)
      if (r > 0) s.add.samples.push(ms)
    }
    const cid = cids[0] as CID
    // Same bytes, same DAG settings: both backends must agree on the CID.
    if (!cids.every(c => c.equals(cid))) throw new Error(`backends disagree on the CID: ${cids.map(c => c.toString()).join(' vs ')}`)
    for (const s of order) {
      const source = s.fetcher.session(() => [], { offline: true })
      const t0 = performance.now()
      const read = await readAll(cid, source)
      const ms = performance.now() - t0
      if (read !== size) throw new Error(`${s.name} get returned ${read} of ${size} bytes`)
      if (r > 0) s.get.samples.push(ms)
    }
  }

  const paths = stores.flatMap(s => [s.add, s.get])
  process.stdout.write(`\nstore: ${rounds} rounds × ${mb(bytes)} of fresh random bytes per backend (add: unixfs import, 256 KiB raw leaves; get: exporter over a verifying offline fetcher); order flips every round\n\n`)
  process.stdout.write(table(paths, bytes) + '\n\n')
  const emb = stores[0]
  const kb = stores[1]
  if (emb !== undefined && kb !== undefined) {
    process.stdout.write([
      ratioLine('add: Kubo/embedded time', kb.add, emb.add),
      ratioLine('get: Kubo/embedded time', kb.get, emb.get)
    ].join('\n') + '\n')
  } else {
    process.stdout.write('(no Kubo: no backend ratios)\n')
  }
}

// ---- fetch: mesh fetch vs local read ----

async function fetchSection (opts: { dir: string, bytes: number, rounds: number, kuboA: KuboStore | undefined, kuboB: KuboDaemon | undefined, kuboAddr: string | undefined }): Promise<void> {
  const { dir, bytes, rounds } = opts
  const warnings = new Map<string, number>()
  const log: LogFn = (level, msg) => {
    if (level === 'warn' || level === 'error') warnings.set(`${level}: ${msg}`, (warnings.get(`${level}: ${msg}`) ?? 0) + 1)
  }
  const nodes: DawnNode[] = []
  const deadline = new Deadline(120_000)
  try {
    const net = await createNetworkDir({
      dir: join(dir, 'mesh'),
      nodes: 2,
      network: 'bench',
      bootstrapNodes: 1,
      patch: (_i, config) => {
        config.log = { level: 'warn' }
        config.storage = { backend: 'embedded', replication: 1, manifestIntervalSeconds: 1, repairIntervalSeconds: 1 }
      }
    })
    for (const files of net.nodes) {
      // env: {} so DAWN_* variables of the calling shell cannot change the bench.
      const { config } = await loadConfig({ file: files.configFile, env: {}, flags: {} })
      const node = await DawnNode.create({ config, http: false, log })
      nodes.push(node)
      await node.start()
    }
    const [a, b] = nodes as [DawnNode, DawnNode]
    const t0 = performance.now()
    while (a.verifiedPeers().length < 1 || b.verifiedPeers().length < 1) {
      deadline.check('waiting for the two nodes to verify each other')
      await sleep(50)
    }
    process.stdout.write(`\nfetch: nodes A and B verified each other after ${fmtMs(performance.now() - t0)}\n`)

    // Kubo B joins Kubo A's private swarm.
    let kuboB: KuboStore | undefined
    if (opts.kuboA !== undefined && opts.kuboB !== undefined && opts.kuboAddr !== undefined) {
      const res = await kuboFetch(opts.kuboB.apiUrl, 'swarm/connect', { arg: opts.kuboAddr, timeout: '10s' })
      if (!res.ok) throw new Error(`Kubo swarm/connect failed: ${res.status} ${await res.text()}`)
      kuboB = new KuboStore({ apiUrl: opts.kuboB.apiUrl })
      await kuboB.start()
    }
    const kuboA = opts.kuboA
    const metrics = { metrics: createNodeMetrics(), log: silentLogger }

    const meshFetch: Path = { label: 'mesh fetch B←A (first read)', samples: [] }
    const localRead: Path = { label: 'local read on A', samples: [] }
    const kuboFetchPath: Path = { label: 'Kubo B←A bitswap (first read)', samples: [] }
    const kuboLocal: Path = { label: 'Kubo local read on A', samples: [] }
    const readNode = async (node: DawnNode, cid: string): Promise<number> => {
      const reader = await node.content.get(cid)
      let n = 0
      for await (const chunk of reader.content) n += chunk.byteLength
      return n
    }

    for (let r = 0; r <= rounds; r++) {
      deadline.check(`fetch round ${r}`)
      const size = r === 0 ? MiB : bytes
      const data = randomBytes(size)
      // Unpinned: with replication 1, rendezvous placement makes B the holder of about
      // half the pins and B would then copy them in the background. Unpinned, nothing
      // replicates, and B has never seen these bytes, so its first read is all mesh.
      const { cid } = await a.content.add(chunks(data), { pin: false })
      const steps: Array<{ path: Path, read: () => Promise<number> }> = [
        { path: meshFetch, read: async () => await readNode(b, cid) },
        { path: localRead, read: async () => await readNode(a, cid) }
      ]
      if (kuboA !== undefined && kuboB !== undefined) {
        const added = await kuboA.add(chunks(data))
        if (added.cid.toString() !== cid) throw new Error(`Kubo and the embedded store disagree on the CID: ${added.cid.toString()} vs ${cid}`)
        const fetchFromA = new BlockFetcher({ store: kuboB, ...metrics }, { selfId: 'bench-b' })
        const readLocal = new BlockFetcher({ store: kuboA, ...metrics }, { selfId: 'bench-a' })
        steps.push(
          { path: kuboFetchPath, read: async () => await readAll(added.cid, fetchFromA.session(() => [])) },
          { path: kuboLocal, read: async () => await readAll(added.cid, readLocal.session(() => [], { offline: true })) }
        )
      }
      for (const step of r % 2 === 0 ? steps : [...steps].reverse()) {
        const t1 = performance.now()
        const read = await step.read()
        const ms = performance.now() - t1
        if (read !== size) throw new Error(`${step.path.label} returned ${read} of ${size} bytes`)
        if (r > 0) step.path.samples.push(ms)
      }
    }

    const paths = [meshFetch, localRead, ...(kuboFetchPath.samples.length > 0 ? [kuboFetchPath, kuboLocal] : [])]
    process.stdout.write(`fetch: ${rounds} rounds × ${mb(bytes)}, fresh bytes added on A (unpinned) each round; both nodes in this process; order flips every round\n\n`)
    process.stdout.write(table(paths, bytes) + '\n\n')
    process.stdout.write([
      ratioLine('mesh fetch/local read time', meshFetch, localRead),
      ...(kuboFetchPath.samples.length > 0
        ? [ratioLine('Kubo bitswap/Kubo local time', kuboFetchPath, kuboLocal), ratioLine('Kubo bitswap/mesh fetch time', kuboFetchPath, meshFetch)]
        : ['(no Kubo-to-Kubo row)'])
    ].join('\n') + '\n')
    if (warnings.size > 0) process.stdout.write(`node warnings: ${[...warnings].map(([k, n]) => `${k} ×${n}`).join('; ')}\n`)
  } finally {
    await Promise.all(nodes.map(async n => await withTimeout(n.stop().catch(() => {}), 15_000)))
  }
}

// ---- helpers ----

/** Reads a whole file the way the node does: exporter over a verifying block source. */
async function readAll (cid: CID, source: BlockSource): Promise<number> {
  const signal = AbortSignal.timeout(60_000)
  const entry = await exporter(cid, source, { signal })
  if (entry.type !== 'file' && entry.type !== 'raw') throw new Error(`${cid.toString()} is a ${entry.type}, not a file`)
  let n = 0
  for await (const chunk of entry.content({ signal, blockReadConcurrency: BLOCK_READ_CONCURRENCY })) n += chunk.byteLength
  return n
}

/** The bytes as an upload stream of UPLOAD_CHUNK-sized views (no copies). */
function chunks (data: Uint8Array): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]: () => {
      let at = 0
      return {
        next: async (): Promise<IteratorResult<Uint8Array>> => {
          if (at >= data.length) return await Promise.resolve({ done: true, value: undefined })
          const value = data.subarray(at, at + UPLOAD_CHUNK)
          at += UPLOAD_CHUNK
          return await Promise.resolve({ done: false, value })
        }
      }
    }
  }
}

function table (paths: Path[], bytes: number): string {
  return formatTable(['path', 'p50', 'min', 'max', 'MiB/s (median)'], paths.map(p => {
    const s = summarize(p.samples)
    return [p.label, fmtMs(s.p50), fmtMs(s.min), fmtMs(s.max), median(p.samples.map(ms => mibPerSec(bytes, ms))).toFixed(1)]
  }))
}

/** Median and range of the per-round ratios: each pair ran back to back, so it shared the noise. */
function ratioLine (label: string, num: Path, den: Path): string {
  const ratios = num.samples.map((ms, i) => ms / (den.samples[i] ?? Number.NaN))
  const m = median(ratios)
  return `${label.padEnd(30)} ${m.toFixed(2)}×  (per round ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}; throughput ${(1 / m).toFixed(2)}×)`
}

function mibPerSec (bytes: number, ms: number): number {
  return bytes / MiB / (ms / 1000)
}

function mb (bytes: number): string {
  return `${+(bytes / MiB).toFixed(2)} MiB`
}

function positive (text: string, flag: string): number {
  const n = Number(text)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number, got ${text}`)
  return n
}
