/**
 * The `peer` section of `npm run bench -- content`: a cold read of fresh bytes from a
 * peer, Dawn against Kubo, the same way on both sides and interleaved.
 *
 *   Dawn   two dawn-node processes (embedded stores) on loopback; the bytes are added on
 *          A over its HTTP API (unpinned, so nothing replicates), then read on B with
 *          GET /api/v1/content/<cid>: every block crosses the mesh block protocol.
 *   Kubo   two Kubo daemons in one private swarm; the same bytes added on A (same CID),
 *          then read on B with the RPC `cat`: every block crosses bitswap.
 * Both reads stream to this process over loopback HTTP and are checked by SHA-256.
 * The CPU columns (from /proc, Linux only) add the CPU time of both daemons per MiB
 * moved: less noisy than wall time on a loaded machine, and Kubo spreads over threads.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createNetworkDir } from '../src/local-mesh/network-dir.ts'
import { NodeProcess } from '../src/local-mesh/node-process.ts'
import { KuboStore } from '../src/storage/kubo-store.ts'
import { kuboFetch, type KuboDaemon } from '../../test/support/kubo.ts'
import { Deadline, formatTable, median, sleep, withTimeout } from './util.ts'

const MiB = 1024 * 1024
const UPLOAD_CHUNK = 64 * 1024

export interface PeerSectionInit {
  dir: string
  /** Payload sizes in MiB, each read once per round. */
  sizes: number[]
  rounds: number
  kuboA?: KuboDaemon
  kuboB?: KuboDaemon
}

interface Read { bytes: number, sha256: string }
interface Sample { ms: number, cpuMs: number }

export async function peerSection (init: PeerSectionInit): Promise<void> {
  const { sizes, rounds } = init
  const largest = Math.max(...sizes) * MiB
  const net = await createNetworkDir({
    dir: join(init.dir, 'peer'),
    nodes: 2,
    network: 'bench-peer',
    bootstrapNodes: 1,
    patch: (_i, config) => {
      config.log = { level: 'warn' }
      config.storage = { backend: 'embedded', replication: 1, manifestIntervalSeconds: 1, repairIntervalSeconds: 1, maxUploadBytes: largest + MiB, fetchTimeoutMs: 120_000 }
    }
  })
  const procs = net.nodes.map(n => new NodeProcess({ configFile: n.configFile, httpUrl: n.httpUrl }))
  const deadline = new Deadline(30 * 60_000)
  try {
    for (const p of procs) p.start()
    await Promise.all(procs.map(async p => { await p.waitReady(60_000) }))
    const [a, b] = net.nodes.map(n => n.httpUrl) as [string, string]
    while (!(await Promise.all([a, b].map(async url => await peersOf(url) >= 1))).every(Boolean)) {
      deadline.check('waiting for the two dawn-node processes to verify each other')
      await sleep(100)
    }
    const kubo = await kuboPair(init.kuboA, init.kuboB)
    const dawnPids = procs.map(p => p.pid ?? 0)
    const kuboPids = kubo === undefined ? [] : await Promise.all([init.kuboA, init.kuboB].map(async d => await kuboPid(d?.repo ?? '')))

    const dawnMs = new Map<number, Sample[]>(sizes.map(s => [s, []]))
    const kuboMs = new Map<number, Sample[]>(sizes.map(s => [s, []]))
    // Round 0 is a 1 MiB warm-up of both paths (JIT, connections), not recorded.
    for (let r = 0; r <= rounds; r++) {
      for (const size of r === 0 ? [1] : sizes) {
        deadline.check(`peer round ${r}, ${size} MiB`)
        const data = randomBytes(Math.round(size * MiB))
        const want = createHash('sha256').update(data).digest('hex')
        const cid = await dawnAdd(a, data)
        const steps: Array<{ into: Sample[] | undefined, pids: number[], read: () => Promise<Read> }> = [
          { into: dawnMs.get(size), pids: dawnPids, read: async () => await readHttp(`${b}/api/v1/content/${cid}?timeoutMs=120000`, 'GET') }
        ]
        if (kubo !== undefined) {
          const added = await kubo.a.add(chunks(data))
          if (added.cid.toString() !== cid) throw new Error(`Kubo and Dawn disagree on the CID: ${added.cid.toString()} vs ${cid}`)
          steps.push({ into: kuboMs.get(size), pids: kuboPids, read: async () => await readHttp(`${kubo.bUrl}/api/v0/cat?arg=${cid}`, 'POST') })
        }
        for (const step of r % 2 === 0 ? steps : [...steps].reverse()) {
          const cpu0 = await cpuMs(step.pids)
          const t0 = performance.now()
          const got = await step.read()
          const ms = performance.now() - t0
          const cpu = await cpuMs(step.pids) - cpu0
          if (got.bytes !== data.length || got.sha256 !== want) throw new Error(`peer read of ${size} MiB returned ${got.bytes} bytes, sha256 ${got.sha256.slice(0, 12)}…, expected ${want.slice(0, 12)}…`)
          if (r > 0) step.into?.push({ ms, cpuMs: cpu })
        }
      }
    }

    process.stdout.write(`\npeer: ${rounds} rounds, fresh random bytes each; cold read on B of what was added on A, over HTTP; Dawn (2 dawn-node processes, mesh block protocol) vs Kubo (2 daemons, bitswap, RPC cat); order flips every round\n\n`)
    process.stdout.write(formatTable(['size', 'Dawn MiB/s', 'Kubo MiB/s', 'Dawn/Kubo throughput', 'per round', 'CPU ms/MiB Dawn', 'CPU ms/MiB Kubo'], sizes.map(size => {
      const d = dawnMs.get(size) ?? []
      const k = kuboMs.get(size) ?? []
      const rate = (xs: Sample[]): string => xs.length === 0 ? '-' : median(xs.map(x => size / (x.ms / 1000))).toFixed(1)
      const cpu = (xs: Sample[]): string => xs.length === 0 || xs.some(x => Number.isNaN(x.cpuMs)) ? '-' : median(xs.map(x => x.cpuMs / size)).toFixed(1)
      // Each pair ran back to back and shared the noise: the ratio per round, then its median.
      const ratios = k.map((x, i) => x.ms / (d[i]?.ms ?? Number.NaN))
      return [`${size} MiB`, rate(d), rate(k), ratios.length === 0 ? '-' : `${median(ratios).toFixed(2)}×`, ratios.length === 0 ? '-' : `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`, cpu(d), cpu(k)]
    })) + '\n')
    if (kubo === undefined) process.stdout.write('(no Kubo pair: no Dawn/Kubo ratio)\n')
  } finally {
    await Promise.all(procs.map(async p => { await withTimeout(p.stop(), 15_000) }))
  }
}

async function kuboPair (a: KuboDaemon | undefined, b: KuboDaemon | undefined): Promise<{ a: KuboStore, bUrl: string } | undefined> {
  if (a === undefined || b === undefined) return undefined
  const res = await kuboFetch(b.apiUrl, 'swarm/connect', { arg: a.swarmAddrs[0] ?? '', timeout: '10s' })
  if (!res.ok) throw new Error(`Kubo swarm/connect failed: ${res.status} ${await res.text()}`)
  const store = new KuboStore({ apiUrl: a.apiUrl })
  await store.start()
  return { a: store, bUrl: b.apiUrl }
}

/** user + system CPU of the processes in ms (clock ticks of 10 ms); NaN where /proc is not readable. */
async function cpuMs (pids: number[]): Promise<number> {
  let total = 0
  for (const pid of pids) {
    try {
      const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? []
      total += (Number(fields[11]) + Number(fields[12])) * 10
    } catch {
      return Number.NaN
    }
  }
  return total
}

/** The Kubo daemon serving `repo` (its IPFS_PATH), found in /proc; 0 when not found. */
async function kuboPid (repo: string): Promise<number> {
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const [cmd, env] = await Promise.all([readFile(`/proc/${entry}/cmdline`, 'utf8'), readFile(`/proc/${entry}/environ`, 'utf8')])
      if (cmd.includes('daemon') && env.split('\0').includes(`IPFS_PATH=${repo}`)) return Number(entry)
    } catch {
      // Gone, or not ours to read.
    }
  }
  return 0
}

async function peersOf (url: string): Promise<number> {
  const res = await fetch(`${url}/api/v1/node`, { signal: AbortSignal.timeout(5000) })
  return res.ok ? ((await res.json()) as { peers: number }).peers : 0
}

async function dawnAdd (url: string, data: Uint8Array): Promise<string> {
  const res = await fetch(`${url}/api/v1/content?pin=false`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: data, signal: AbortSignal.timeout(120_000) })
  if (res.status !== 201) throw new Error(`Dawn add: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { cid: string }).cid
}

async function readHttp (url: string, method: 'GET' | 'POST'): Promise<Read> {
  const res = await fetch(url, { method, signal: AbortSignal.timeout(300_000) })
  if (!res.ok || res.body === null) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`)
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    hash.update(chunk)
    bytes += chunk.byteLength
  }
  return { bytes, sha256: hash.digest('hex') }
}

function chunks (data: Uint8Array): AsyncIterable<Uint8Array> {
  return (async function * () {
    for (let at = 0; at < data.length; at += UPLOAD_CHUNK) yield await Promise.resolve(data.subarray(at, at + UPLOAD_CHUNK))
  })()
}
