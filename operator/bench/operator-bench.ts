/**
 * `npm run bench -- operator`
 *
 * Operators as users run them, side by side on one fresh, real control plane (etcd +
 * kube-apiserver + kube-controller-manager from test/controlplane): by default the shipped
 * bundle (operator/bin/dawn-operator) next to the sources run through type stripping as they
 * shipped before it. Each is a separate process watching its own namespace.
 *
 * Idle: every operator idles for --idle seconds after it is ready; its peak RSS then is the
 * idle figure.
 * Part 1, one change at a time: one DawnNetwork and one DawnNode per operator; then N times
 * the pool's spec.image is patched and we time until the StatefulSet's pod template carries
 * it (watch event arrival in the bench). Changes alternate between the operators.
 * Part 2, a burst: M DawnNodes (1 replica each, one network) created with C requests in
 * flight, one operator after the other (each namespace is deleted before the next burst); we
 * time from the first create until every pool has its StatefulSet and a status for its current
 * generation with a Ready condition.
 * Throughout, each operator's VmRSS is sampled every 100 ms from /proc (peak per phase, next
 * to the kernel's own high-water mark VmHWM), with its CPU time and open sockets.
 */
import { readFileSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startControlPlane, type ControlPlane } from '../../test/controlplane/controlplane.ts'
import type { DawnNetwork, DawnNode } from '../src/api/index.ts'
import {
  apiserverRequests, applyCrds, clientsFor, customTracker, errText, operatorMetrics, out, poll, progress, reconcileDelta, statefulSetTracker,
  type Clients
} from './cluster.ts'
import { parseOptions, type Options } from './options.ts'
import { BUNDLE_PATH, ensureBundle } from '../scripts/bundle.ts'
import { RssSampler, operatorVariant, startOperator, waitOperatorReady, type OperatorVariant } from './operator-process.ts'
import { part1, part2, type Lane } from './parts.ts'
import { report, type LaneReport } from './report.ts'
import { Budget, diffCounts, fmtMs, sleep } from './stats.ts'

export async function run (args: string[]): Promise<void> {
  const o = parseOptions(args)
  if (o === undefined) return
  const variants = o.operators.map(operatorVariant)
  // Variants with their own flags run the bundle without the bin script, which would build it.
  const rebuilt = await ensureBundle()
  if (rebuilt !== undefined) progress(`rebuilt ${BUNDLE_PATH} (${rebuilt})`)
  const abort = new AbortController()
  const budget = new Budget(o.budgetMs, abort.signal)
  // The control plane gets its own signal, aborted only while it starts: once it runs, an
  // abort would make it stop itself in the background, racing our own teardown.
  const startup = { cp: new AbortController(), starting: false }
  const onSignal = (): void => {
    progress('interrupted; tearing down')
    abort.abort()
    if (startup.starting) startup.cp.abort()
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  const tmp = await mkdtemp(join(tmpdir(), 'dawn-operator-bench-'))
  let cp: ControlPlane | undefined
  const lanes: Lane[] = []
  const reports: LaneReport[] = []
  const trackers: Array<{ stop: () => void }> = []
  let failure: unknown
  try {
    progress(`starting a control plane in ${tmp}/controlplane`)
    startup.starting = true
    try {
      cp = await startControlPlane({ dir: join(tmp, 'controlplane'), signal: startup.cp.signal, timeoutMs: budget.cap(180_000), log: m => { if (o.verbose) progress(m) } })
    } finally {
      startup.starting = false
    }
    budget.throwIfAborted()
    progress(`control plane ready in ${fmtMs(cp.startupMs)}`)
    const c = clientsFor(cp.kubeconfigPath)
    const crds = await applyCrds(c, budget.cap(60_000))
    progress(`CRDs applied: ${crds.join(', ')}`)

    for (const [i, v] of variants.entries()) {
      const lane = await startLane(o, c, cp.kubeconfigPath, tmp, v, `dawn-bench-${i}`, budget)
      lanes.push(lane)
      reports.push(emptyReport(v, lane, join(tmp, `${lane.ns}.log`)))
      trackers.push(lane.nodes, lane.sets, lane.networks)
    }
    for (const [i, lane] of lanes.entries()) {
      const r = reports[i] as LaneReport
      r.operatorReadyMs = await waitOperatorReady(lane.op, budget.cap(60_000), () => tailLog(r.logPath))
      progress(`${lane.name}: pid ${lane.op.pid} ready in ${fmtMs(r.operatorReadyMs)}`)
    }
    for (const lane of lanes) lane.sampler.mark('idle (after ready, before work)')
    await sleep(o.idleMs, budget.signal)
    for (const [i, lane] of lanes.entries()) {
      lane.sampler.mark(undefined)
      ;(reports[i] as LaneReport).idleRssBytes = lane.sampler.phases.at(-1)?.peakRssBytes
    }
    for (const t of [...lanes.flatMap(l => [l.networks, l.nodes, l.sets])]) await t.start()

    if (o.only !== 'part2') {
      for (const lane of lanes) lane.sampler.mark('part 1 (single changes)')
      progress(`part 1: ${o.changes} single changes per operator, interleaved`)
      const before = await Promise.all(lanes.map(async l => await operatorMetrics(l.op)))
      const results = await part1(o, c, lanes, budget)
      for (const [i, lane] of lanes.entries()) {
        const r = reports[i] as LaneReport
        r.p1 = results.get(lane.name)
        r.reconcilesP1 = reconcileDelta(before[i] ?? '', await operatorMetrics(lane.op))
        lane.sampler.mark('waiting')
      }
    }
    if (abort.signal.aborted) throw new Error('interrupted')
    if (o.only !== 'part1') {
      for (const [i, lane] of lanes.entries()) {
        const r = reports[i] as LaneReport
        lane.sampler.mark(`part 2 (${o.pools} pools burst)`)
        const before = await operatorMetrics(lane.op)
        const reqBefore = await apiserverRequests(c.kc).catch(() => undefined)
        progress(`${lane.name} part 2: ${o.pools} DawnNodes, ${o.concurrency} creates in flight`)
        r.p2 = await part2(o, c, lane, budget)
        r.reconcilesP2 = reconcileDelta(before, await operatorMetrics(lane.op))
        const reqAfter = await apiserverRequests(c.kc).catch(() => undefined)
        if (reqBefore !== undefined && reqAfter !== undefined) r.apiReqs = diffCounts(reqAfter, reqBefore)
        lane.sampler.mark('after part 2')
        if (i < lanes.length - 1) await emptyNamespace(c, lane, budget)
      }
    }
    for (const [i, lane] of lanes.entries()) (reports[i] as LaneReport).opMetricsAtEnd = await operatorMetrics(lane.op)
  } catch (e) {
    failure = e
  } finally {
    for (const t of trackers) t.stop()
    for (const [i, lane] of lanes.entries()) {
      lane.sampler.stop()
      progress(`stopping ${lane.name}`)
      ;(reports[i] as LaneReport).stopInfo = await lane.op.stop(25_000)
    }
    if (cp !== undefined) {
      progress('stopping the control plane')
      await cp.stop({ keepState: o.keep }).catch((e: unknown) => { progress(`control plane stop failed: ${errText(e)}`) })
    }
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }

  report(o, reports, failure)
  if (o.cpuProfDir !== undefined) {
    const profiles = await readdir(o.cpuProfDir).catch(() => [])
    out(`CPU profiles in ${o.cpuProfDir}: ${profiles.filter(f => f.endsWith('.cpuprofile')).join(', ') || '(none written: the operators did not exit cleanly)'}`)
  }
  if (o.keep) out(`kept: ${tmp} (dawn-bench-<n>.log per operator, controlplane/*.log)`)
  else {
    for (const r of reports) {
      const troubled = failure !== undefined || r.p2?.timedOut === true || (r.p1 !== undefined && (r.p1.timeouts > 0 || r.p1.errors.length > 0))
      if (troubled) {
        out(`operator log of "${r.name}" (last lines):`)
        out(tailLog(r.logPath))
      }
    }
    await rm(tmp, { recursive: true, force: true })
  }
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(errText(failure))
}

async function startLane (o: Options, c: Clients, kubeconfigPath: string, tmp: string, variant: OperatorVariant, ns: string, budget: Budget): Promise<Lane> {
  budget.throwIfAborted()
  await c.core.createNamespace({ body: { metadata: { name: ns } } })
  const op = await startOperator({
    variant,
    namespace: ns,
    kubeconfigPath,
    logPath: join(tmp, `${ns}.log`),
    logLevel: o.logLevel,
    ...(o.cpuProfDir !== undefined ? { cpuProfDir: o.cpuProfDir } : {}),
    nodeFlags: o.operatorFlags
  })
  const sampler = new RssSampler(op.pid)
  sampler.start(100)
  sampler.mark('start-up (informers syncing)')
  const log = (m: string): void => { progress(`${variant.name}: ${m}`) }
  return {
    name: variant.name,
    ns,
    op,
    sampler,
    networks: customTracker<DawnNetwork>(c, ns, 'dawnnetworks', log),
    nodes: customTracker<DawnNode>(c, ns, 'dawnnodes', log),
    sets: statefulSetTracker(c, ns, log)
  }
}

/**
 * Deletes a lane's namespace and waits until it is gone, so the next burst meets a control
 * plane as empty as this one did (200 more StatefulSets, Pods and PVCs slow it down severalfold).
 */
async function emptyNamespace (c: Clients, lane: Lane, budget: Budget): Promise<void> {
  const t0 = Date.now()
  progress(`${lane.name}: deleting namespace ${lane.ns} before the next burst`)
  await c.core.deleteNamespace({ name: lane.ns })
  await poll(`namespace ${lane.ns} to be deleted`, budget.cap(300_000), async () => {
    try {
      await c.core.readNamespace({ name: lane.ns })
      return undefined
    } catch (e) {
      if ((e as { code?: number }).code === 404) return true
      throw e
    }
  }, 500)
  progress(`${lane.name}: namespace ${lane.ns} gone after ${fmtMs(Date.now() - t0)}`)
}

function emptyReport (v: OperatorVariant, lane: Lane, logPath: string): LaneReport {
  return {
    name: v.name,
    about: v.about,
    p1: undefined,
    p2: undefined,
    sampler: lane.sampler,
    stopInfo: undefined,
    apiReqs: undefined,
    reconcilesP1: undefined,
    reconcilesP2: undefined,
    opMetricsAtEnd: '',
    operatorReadyMs: 0,
    idleRssBytes: undefined,
    logPath
  }
}

/** Last lines of a log (synchronous: used in error paths). */
function tailLog (path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines - 1).join('\n')
  } catch { return '(no operator log)' }
}
