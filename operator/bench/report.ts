// The operator bench's report: per operator, then side by side with ratios and the goals.
import { availableParallelism, cpus, loadavg } from 'node:os'
import { errText, out, sumValues, type ReconcileDelta } from './cluster.ts'
import type { Options } from './options.ts'
import type { RssSampler } from './operator-process.ts'
import type { Part1Result, Part2Result } from './parts.ts'
import { fmtMiB, fmtMs, formatTable, promSum, summarize } from './stats.ts'

/** Issue 17's goals for the operator. */
export const GOALS = { p99ChangeMs: 1000, poolsMs: 30_000, rssBytes: 100 * 1024 * 1024 }

/** What one operator (one lane) measured. */
export interface LaneReport {
  name: string
  about: string
  p1: Part1Result | undefined
  p2: Part2Result | undefined
  sampler: RssSampler | undefined
  stopInfo: { clean: boolean } | undefined
  apiReqs: Map<string, number> | undefined
  reconcilesP1: ReconcileDelta | undefined
  reconcilesP2: ReconcileDelta | undefined
  opMetricsAtEnd: string
  operatorReadyMs: number
  /** Peak RSS while idle after start-up, before any work (undefined: not measured). */
  idleRssBytes: number | undefined
  logPath: string
}

export function report (o: Options, lanes: LaneReport[], failure: unknown): void {
  out()
  out(`Node ${process.version} on ${cpus().length} x ${cpus()[0]?.model.trim() ?? 'unknown CPU'} (${availableParallelism()} available); load average ${loadavg().map(l => l.toFixed(2)).join(' ')}`)
  out('Absolute numbers on this shared 2-core machine are noisy: etcd, kube-apiserver,')
  out('kube-controller-manager, the operators and this bench all share the same cores.')
  out('Every operator runs at once, each watching its own namespace; part 1 changes are interleaved,')
  out('part 2 bursts run one operator at a time, in the order given; a namespace is deleted before the next burst.')
  for (const r of lanes) laneReport(o, r)
  compare(o, lanes)
  if (failure !== undefined) out(`\nbench FAILED: ${errText(failure)}`)
}

function laneReport (o: Options, r: LaneReport): void {

  out()
  out(`=== operator "${r.name}": ${r.about}`)
  out(`ready in ${fmtMs(r.operatorReadyMs)}${r.idleRssBytes === undefined ? '' : `; idle RSS (peak over ${o.idleMs / 1000} s after ready, before work) ${fmtMiB(r.idleRssBytes)}`}`)

  let s1: ReturnType<typeof summarize> | undefined
  if (r.p1 !== undefined) {
    s1 = summarize(r.p1.latencies)
    out(`Part 1: single change (spec.image) -> StatefulSet pod template, idle operator, ${o.gapMs} ms between changes`)
    out(formatTable(['changes', 'timeouts', 'min', 'p50', 'p90', 'p99', 'max', 'mean'], [[
      String(s1.n), String(r.p1.timeouts), fmtMs(s1.min), fmtMs(s1.p50), fmtMs(s1.p90), fmtMs(s1.p99), fmtMs(s1.max), fmtMs(s1.mean)
    ]]))
    if (s1.n < 100) out(`(nearest-rank p99 of ${s1.n} samples is the max)`)
    for (const e of r.p1.errors) out(`  error: ${e}`)
    if (r.reconcilesP1 !== undefined) out(`reconciles during part 1: ${fmtCounts(r.reconcilesP1.counts)}; mean duration ${fmtMeans(r.reconcilesP1.meanMs)}`)
    out()
  }

  if (r.p2 !== undefined) {
    const p = r.p2
    const per = summarize(p.perPoolMs)
    out(`Part 2: ${p.pools} DawnNodes (replicas 1, one network), ${o.concurrency} creates in flight`)
    out('Note: kube-controller-manager creates a Pod for each StatefulSet (they stay Pending, no')
    out('kubelet), so it and the apiserver compete with the operator for the same 2 cores.')
    out(formatTable(['pools reconciled', 'creates done after', 'first pool', 'all pools', 'pools/s', 'ms/pool'], [[
      `${p.done}/${p.pools}${p.timedOut ? ' (TIMEOUT)' : ''}`, fmtMs(p.createPhaseMs), fmtMs(p.firstDoneMs), fmtMs(p.totalMs),
      (p.done / (p.totalMs / 1000)).toFixed(1), (p.totalMs / Math.max(1, p.done)).toFixed(1)
    ]]))
    out(`per pool, create -> reconciled: p50 ${fmtMs(per.p50)}, p99 ${fmtMs(per.p99)}, max ${fmtMs(per.max)}`)
    out(`operator quiet (no reconcile for 3 s) after: ${p.quietAfterMs === undefined ? `not within ${o.settleTimeoutMs / 1000} s` : fmtMs(p.quietAfterMs)} from the first create`)
    out(`StatefulSet spec updates after creation (generation bumps): ${p.stsGenerationBumps}`)
    if (p.settle.ms > 0) {
      const perSec = (n: number): string => (n / (p.settle.ms / 1000)).toFixed(1)
      out(`settle window (${fmtMs(p.settle.ms)} after the last pool): ${sumValues(p.settle.reconciles)} reconciles (${perSec(sumValues(p.settle.reconciles))}/s): ${fmtCounts(p.settle.reconciles)}`)
      out(`  watch events seen by the bench: ${fmtCounts(p.settle.events)}`)
      const fields = [...p.settle.changedFields].sort((a, b) => b[1] - a[1]).slice(0, 8)
      if (fields.length > 0) out(`  fields that changed: ${fields.map(([k, v]) => `${k} x${v}`).join(', ')}`)
    }
    for (const e of p.createErrors.slice(0, 5)) out(`  create error: ${e}`)
    if (r.reconcilesP2 !== undefined) {
      const total = sumValues(r.reconcilesP2.counts)
      out(`reconciles during part 2: ${total} (${(total / p.pools).toFixed(1)} per pool): ${fmtCounts(r.reconcilesP2.counts)}; mean duration ${fmtMeans(r.reconcilesP2.meanMs)}`)
    }
    if (r.apiReqs !== undefined) {
      const top = [...r.apiReqs].filter(([, v]) => v >= p.pools / 4).sort((a, b) => b[1] - a[1]).slice(0, 14)
      const total = sumValues(r.apiReqs)
      out(`apiserver requests during part 2 (all clients): ${total}; largest:`)
      out(top.map(([k, v]) => `  ${k.padEnd(44)} ${String(v).padStart(7)}`).join('\n'))
    }
    out()
  }

  const sampler = r.sampler
  if (sampler !== undefined) {
    out('Operator process (VmRSS sampled every 100 ms from /proc):')
    out(formatTable(['phase', 'wall', 'peak RSS', 'CPU s', 'CPU %', 'peak sockets'], sampler.phases.map(ph => [
      ph.name, fmtMs(ph.wallMs), fmtMiB(ph.peakRssBytes), ph.cpuSeconds.toFixed(1), `${((ph.cpuSeconds * 1000 / Math.max(1, ph.wallMs)) * 100).toFixed(0)} %`, String(ph.peakSockets)
    ])))
    const metric = (name: string): number | undefined => [...promSum(r.opMetricsAtEnd, name).values()][0]
    const heapUsed = metric('nodejs_heap_size_used_bytes')
    const heapTotal = metric('nodejs_heap_size_total_bytes')
    const external = metric('nodejs_external_memory_bytes')
    out(`peak RSS ${fmtMiB(sampler.peakRssBytes)} (kernel VmHWM ${fmtMiB(sampler.hwmBytes)}); RSS at end ${fmtMiB(sampler.lastRssBytes)}${heapUsed !== undefined ? `; at end V8 heap used ${fmtMiB(heapUsed)} of ${fmtMiB(heapTotal ?? Number.NaN)}, external ${fmtMiB(external ?? Number.NaN)}` : ''}; ${sampler.samples} samples; total CPU ${sampler.cpuSeconds.toFixed(1)} s`)
    if (r.stopInfo !== undefined) out(`operator shutdown: ${r.stopInfo.clean ? 'clean (exit 0)' : 'NOT clean (killed or non-zero exit)'}`)
    out()
  }

  if (s1 !== undefined && r.p2 !== undefined && !r.p2.timedOut) {
    out(`ratio: part 2 total / part 1 p50 = ${(r.p2.totalMs / s1.p50).toFixed(0)}x  (${r.p2.pools} pools; ${(r.p2.totalMs / s1.p50 / r.p2.pools).toFixed(2)}x per pool)`)
  }
}

/** Burst peak: the part 2 phase of this operator's sampler. */
const burstPeak = (r: LaneReport): number | undefined => r.sampler?.phases.find(p => p.name.startsWith('part 2'))?.peakRssBytes

/** One row per operator, ratios against the first, and the goals. */
function compare (o: Options, lanes: LaneReport[]): void {
  const goal = (met: boolean | undefined): string => met === undefined ? 'not measured' : met ? 'met' : 'NOT met'
  const rows = lanes.map(r => {
    const s1 = r.p1 === undefined || r.p1.latencies.length === 0 ? undefined : summarize(r.p1.latencies)
    return { r, s1, idle: r.idleRssBytes, burst: burstPeak(r), hwm: r.sampler?.hwmBytes, pools: r.p2 !== undefined && !r.p2.timedOut ? r.p2.totalMs : undefined }
  })
  const mib = (b: number | undefined): string => b === undefined || b === 0 ? '-' : fmtMiB(b)
  const ms = (v: number | undefined): string => v === undefined ? '-' : fmtMs(v)
  out()
  out(`Side by side (${o.pools} pools in part 2; RSS from /proc every 100 ms; VmHWM is the kernel's peak over the whole run):`)
  out(formatTable(['operator', 'idle RSS', `peak RSS, ${o.pools}-pool burst`, 'VmHWM', 'p50 change', 'p99 change', `${o.pools} pools`], rows.map(x => [
    x.r.name, mib(x.idle), mib(x.burst), mib(x.hwm), ms(x.s1?.p50), ms(x.s1?.p99), ms(x.pools)
  ])))
  const base = rows[0]
  if (base !== undefined && rows.length > 1) {
    const ratio = (a: number | undefined, b: number | undefined): string => a === undefined || b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}x`
    out(`ratios against "${base.r.name}" (below 1 is smaller or faster):`)
    out(formatTable(['operator', 'idle RSS', 'burst peak RSS', 'VmHWM', 'p50', 'p99', 'pools time'], rows.slice(1).map(x => [
      x.r.name, ratio(x.idle, base.idle), ratio(x.burst, base.burst), ratio(x.hwm, base.hwm), ratio(x.s1?.p50, base.s1?.p50), ratio(x.s1?.p99, base.s1?.p99), ratio(x.pools, base.pools)
    ])))
  }
  out('goals:')
  for (const x of rows) {
    const peak = Math.max(x.burst ?? 0, x.idle ?? 0)
    out(`  ${x.r.name}: p99 change < ${fmtMs(GOALS.p99ChangeMs)} ${x.s1 === undefined ? goal(undefined) : goal(x.s1.p99 < GOALS.p99ChangeMs && (x.r.p1?.timeouts ?? 0) === 0)}; ` +
      `${o.pools} pools < ${fmtMs(GOALS.poolsMs)} ${goal(x.r.p2 === undefined ? undefined : x.pools !== undefined && x.pools < GOALS.poolsMs)}${o.pools !== 200 ? ' (the goal is for 200 pools)' : ''}; ` +
      `RSS < ${fmtMiB(GOALS.rssBytes)} at idle and in the burst ${goal(peak === 0 ? undefined : peak < GOALS.rssBytes)}`)
  }
}

function fmtMeans (m: Map<string, number>): string {
  return [...m].sort((a, b) => a[0].localeCompare(b[0])).map(([k, v]) => `${k} ${fmtMs(v)}`).join(', ')
}

function fmtCounts (m: Map<string, number>): string {
  return [...m].sort((a, b) => a[0].localeCompare(b[0])).map(([k, v]) => `${k} ${v}`).join(', ')
}
