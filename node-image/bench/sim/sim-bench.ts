/**
 * `npm run bench -- sim`: the scale model (no sockets, deterministic: the same
 * seed prints the same numbers). Gossip delivery, DHT lookups and anti-entropy
 * after a partition at 100 / 1,000 / 10,000 nodes, then the model's prediction
 * for the in-process registry bench at 25 / 50 / 100 / 200 nodes.
 */
import { parseArgs } from 'node:util'
import { summarize, formatTable } from '../util.ts'
import { calibrate, indexBuildMs } from './calibrate.ts'
import type { CostModel } from './cost-model.ts'
import { loadRealParams } from './params.ts'
import { LOOPBACK_ONE_PROCESS, LOOPBACK_PROCESSES, WAN, runDht, runGossip, runHeal } from './scenarios.ts'
import { measureWireSizes } from './wire-sizes.ts'

const USAGE = `usage: npm run bench -- sim [options]

  --sizes LIST      node counts (default 100,1000,10000)
  --seed N          PRNG seed (default 1)
  --publishes N     gossip publishes per size (default 20)
  --lookups N       DHT lookups per size (default 200)
  --changed LIST    records changed on each side of the partition (default 1,10,100)
  --loss P          transmission loss for the second gossip run (default 0.01)
  --compare LIST    sizes predicted for the registry bench (default 25,50,100,200)
  --calibrate       also time this machine's CPU per delta through the real code and predict with it
                    (machine-dependent: printed apart from the deterministic figures)
  --background F    share of the bench process's core busy with other work (its "ELU idle"; default 0)
  --measured LIST   measured registry-bench convergence to compare, e.g. 25:84.7/1484,50:120/1900 (p50/p99 ms)
  --help`

/** CPU costs stretched by the share of the core other work takes. */
function scale (c: CostModel, background: number): CostModel {
  const f = 1 / (1 - background)
  return { ...c, sendMs: c.sendMs * f, validateMs: c.validateMs * f, duplicateMs: c.duplicateMs * f }
}

function parseMeasured (text: string): Map<number, { p50: number, p99: number }> {
  const out = new Map<number, { p50: number, p99: number }>()
  for (const item of text.split(',').filter(x => x.trim() !== '')) {
    const m = /^\s*(\d+):([\d.]+)\/([\d.]+)\s*$/.exec(item)
    if (m === null) throw new Error(`--measured wants n:p50/p99[,...], got "${item}"\n${USAGE}`)
    out.set(Number(m[1]), { p50: Number(m[2]), p99: Number(m[3]) })
  }
  return out
}

const ms = (x: number): string => (x < 10 ? x.toFixed(2) : x.toFixed(1))
const kb = (b: number): string => (b < 10_240 ? `${(b / 1024).toFixed(1)} KiB` : b < 10 * 1024 * 1024 ? `${(b / 1024).toFixed(0)} KiB` : `${(b / 1024 / 1024).toFixed(1)} MiB`)

export async function run (args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      sizes: { type: 'string', default: '100,1000,10000' },
      seed: { type: 'string', default: '1' },
      publishes: { type: 'string', default: '20' },
      lookups: { type: 'string', default: '200' },
      changed: { type: 'string', default: '1,10,100' },
      loss: { type: 'string', default: '0.01' },
      compare: { type: 'string', default: '25,50,100,200' },
      calibrate: { type: 'boolean', default: false },
      background: { type: 'string', default: '0' },
      measured: { type: 'string', default: '' },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) {
    process.stdout.write(USAGE + '\n')
    return
  }
  const list = (s: string): number[] => s.split(',').filter(x => x.trim() !== '').map(Number)
  const sizes = list(values.sizes)
  const changed = list(values.changed)
  const compare = list(values.compare)
  const seed = Number(values.seed)
  const publishes = Number(values.publishes)
  const lookups = Number(values.lookups)
  const loss = Number(values.loss)
  if ([...sizes, ...changed, ...compare, seed, publishes, lookups].some(x => !Number.isInteger(x) || x < 0) || !(loss >= 0 && loss < 1)) throw new Error(`bad option\n${USAGE}`)
  const background = Number(values.background)
  if (!(background >= 0 && background < 1)) throw new Error(`--background must be in [0, 1)\n${USAGE}`)
  const measured = parseMeasured(values.measured)
  const out = (line = ''): void => { process.stdout.write(line + '\n') }
  const started = performance.now()

  const params = await loadRealParams()
  const wire = await measureWireSizes()
  out('\n--- Model parameters (read from the code; see docs/scale-model.md) ---')
  out(`  gossipsub: D ${params.gossip.D}, Dlo ${params.gossip.Dlo}, Dhi ${params.gossip.Dhi}, Dlazy ${params.gossip.Dlazy}, gossipFactor ${params.gossip.gossipFactor}, heartbeat ${params.gossip.heartbeatMs} ms, IHAVE for ${params.gossip.historyGossip} heartbeats, flood publish ${String(params.gossip.floodPublish)}, IDONTWANT from ${params.gossip.idontwantMinDataSize} B`)
  out(`  kad-dht: k ${params.dht.k}, alpha ${params.dht.alpha}; connections: maxConnections ${params.mesh.maxConnections}, announcer target ${params.mesh.targetPeers}; maxMessageBytes ${params.mesh.maxMessageBytes}`)
  out(`  wire (real encoders): registry.delta gossip message ${wire.deltaMessage} B (envelope ${wire.deltaEnvelope} B), IHAVE/IWANT/IDONTWANT ${wire.control} B, sync envelope overhead ${wire.envelopeOverhead} B + base64url body`)
  for (const s of params.sources) out(`  source: ${s}`)
  const costLine = (name: string, c: typeof WAN): string => `  ${name}: hop ${c.hopMedianMs} ms median (p99 x${c.hopP99OverP50}), uplink ${(c.bandwidthBytesPerMs * 8 / 1000).toFixed(0)} Mbit/s, CPU send ${c.sendMs} / validate ${c.validateMs} / duplicate ${c.duplicateMs} ms, ${c.cores === 'per-node' ? 'one core per node' : `${c.cores} core(s) shared by all nodes`}`
  out(costLine('WAN model', WAN))
  out(costLine('registry-bench model', LOOPBACK_ONE_PROCESS))

  out(`\n--- Gossip: one registry.delta published from a random node, ${publishes} publishes per size (WAN model) ---`)
  const gossipRows: string[][] = []
  for (const n of sizes) {
    for (const l of [0, loss]) {
      const r = runGossip(params, wire, { n, cost: WAN, loss: l, publishes, seed })
      const h = summarize(r.hops)
      const t = summarize(r.deliveryMs)
      const last = summarize(r.lastDeliveryMs)
      gossipRows.push([String(n), `${(l * 100).toFixed(0)}%`, r.deliveryRatio.toFixed(4), `${h.p50}/${h.p99}`, `${ms(t.p50)}/${ms(t.p99)}`, `${ms(last.p50)}/${ms(last.max)}`, r.messagesPerNode.toFixed(2), kb(r.bytesPerNode), r.duplicateRatio.toFixed(2), r.publisherSends.toFixed(0), `${r.meshDegree.min}/${r.meshDegree.mean.toFixed(1)}/${r.meshDegree.max}`])
    }
  }
  out(formatTable(['nodes', 'loss', 'delivery', 'hops p50/p99', 'deliver ms p50/p99', 'last ms p50/max', 'msgs/node', 'bytes/node', 'dup ratio', 'publisher sends', 'mesh deg min/mean/max'], gossipRows))
  out('  per publish; msgs/node = full copies sent; bytes/node includes IHAVE/IWANT/IDONTWANT; dup ratio = extra copies received per first receipt')

  out(`\n--- DHT: ${lookups} lookups of random keys per size (k ${params.dht.k}, alpha ${params.dht.alpha}) ---`)
  const dhtRows = sizes.map(n => {
    const r = runDht(params, n, lookups, seed)
    const hops = summarize(r.hops)
    const rounds = summarize(r.rounds)
    const msgs = summarize(r.messages)
    return [String(n), `${hops.p50}/${hops.p99}`, `${rounds.p50}/${rounds.p99}`, `${msgs.p50}/${msgs.p99}`, `${(r.foundClosest / lookups * 100).toFixed(1)}%`, r.tableSize.toFixed(0), Math.log2(n).toFixed(1)]
  })
  out(formatTable(['nodes', 'hops p50/p99', 'rounds p50/p99', 'requests p50/p99', 'found closest', 'table size', 'log2 N'], dhtRows))

  out('\n--- Anti-entropy after a partition heals: two halves, R records changed on each side ---')
  out('  session = one real pull (sync-server.ts answer + sync-session.ts pullFrom over real JSON bodies, counted as sealed envelopes)')
  const aeRows: string[][] = []
  for (const n of sizes) {
    for (const r of changed) {
      if (2 * r > n) continue
      const { costs, spread } = await runHeal(params, wire, { n, changed: r, recordsPerNode: 1, seed })
      const first = costs.cost.A.B
      const back = costs.cost.B.A
      aeRows.push([String(n), String(r), kb(costs.cost.A.A.bytes), kb(first.bytes), String(first.requests), kb(first.bytes + back.bytes), String(spread.rounds), String(spread.sessions), kb(spread.totalBytes), kb(spread.bytesPerNode), kb(spread.maxNodeTraffic), costs.digestsEqual && spread.converged ? 'yes' : 'NO'])
    }
  }
  out(formatTable(['nodes', 'R', 'in-sync check', 'A pulls B', 'round trips', 'pair both ways', 'rounds', 'sessions', 'mesh total', 'sent/node', 'busiest node in+out', 'equal'], aeRows))
  out('  in-sync check = one root comparison; rounds = pull rounds (one random peer per node per round, pull-back on a differing root) until every node holds both sides')

  out('\n--- Check against the real mesh: the registry bench (all nodes in one process, loopback) ---')
  out('  model: flood publish from the announcer; every node on one shared core (the registry bench), or one process each on 2 cores')
  out('  (the convergence bench; add its 50 ms event coalescing); convergence = the last node has applied the delta')
  const models: Array<{ name: string, cost: CostModel }> = [
    { name: 'one process', cost: scale(LOOPBACK_ONE_PROCESS, background) },
    { name: 'processes, 2 cores', cost: scale(LOOPBACK_PROCESSES, background) }
  ]
  if (values.calibrate) {
    const cal = await calibrate()
    out(`  calibrated on this machine (real code, ${cal.samples} deltas): receive = open + applyDelta + digest ${cal.validateMs.toFixed(3)} ms, seal ${cal.sealMs.toFixed(3)} ms`)
    for (const n of sizes.filter(x => x <= 10_000)) out(`  registry range-index rebuild after one change with ${n} nodes' records: ${indexBuildMs(n, 1, seed).toFixed(1)} ms (digest() pays it on every received delta)`)
    models.push({ name: 'one process, calibrated', cost: scale({ ...LOOPBACK_ONE_PROCESS, validateMs: cal.validateMs }, background) })
  }
  if (background > 0) out(`  the shared core is ${(background * 100).toFixed(0)}% busy with other work: CPU costs scaled by ${(1 / (1 - background)).toFixed(2)}`)
  const cmpRows = compare.map(n => {
    const row = [String(n)]
    for (const m of models) {
      const r = runGossip(params, wire, { n, cost: m.cost, loss: 0, publishes, seed })
      const last = summarize(r.lastDeliveryMs)
      const first = summarize(r.deliveryMs)
      row.push(`${ms(last.p50)} / ${ms(last.p99)}`, ms(first.min))
      const real = measured.get(n)
      if (real !== undefined) row.push(`${(real.p50 / last.p50).toFixed(2)}x / ${(real.p99 / last.p99).toFixed(2)}x`)
      else if (measured.size > 0) row.push('-')
    }
    const real = measured.get(n)
    if (measured.size > 0) row.push(real === undefined ? '(to fill)' : `${ms(real.p50)} / ${ms(real.p99)}`)
    return row
  })
  const headers = ['nodes', ...models.flatMap(m => [`${m.name} p50 / p99 ms`, `${m.name} 1st node ms`, ...(measured.size > 0 ? [`measured / ${m.name}`] : [])]), ...(measured.size > 0 ? ['measured p50 / p99 ms'] : [])]
  out(formatTable(headers, cmpRows))
  out('  measured: `npm run bench -- registry --sizes 25,50 --only mesh` (the multi-process bench when it lands); pass its figures with --measured')
  out(`\nsim bench finished in ${((performance.now() - started) / 1000).toFixed(1)} s (seed ${seed})`)
}
