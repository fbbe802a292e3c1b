// The runtime through apiserver outages, on a control plane of its own (this file freezes and
// kills its kube-apiserver): a frozen apiserver (SIGSTOP: sockets stay open, nothing answers)
// and a crashed-and-restarted one. Timings observed are printed (grep for "[timing]").
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { V1ConfigMap } from '@kubernetes/client-node'
import { startControlPlane, type ControlPlane } from '../../../../test/controlplane/controlplane.ts'
import { createInformer, type Informer } from '../../../src/runtime/informer.ts'
import { Applier } from '../../../src/runtime/apply.ts'
import { LeaderElector } from '../../../src/runtime/leader-election.ts'
import type { KubeClient } from '../../../src/runtime/kube-client.ts'
import { kubeClientFromFile, createNamespace, eventually, tick, CONFIGMAPS } from './helpers.ts'

const timing = (msg: string): void => { process.stderr.write(`[timing] ${msg}\n`) }

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) } catch { return false }
}

describe('runtime through apiserver outages (own control plane)', () => {
  let cp: ControlPlane
  let client: KubeClient
  let applier: Applier
  let ns = ''
  /** The current kube-apiserver pid (changes when this file restarts it). */
  let apiserverPid = 0
  /** Pids this file spawned itself (restarted apiservers), to end in afterAll. */
  const spawned: number[] = []
  let frozen = false
  const informers: Array<Informer<V1ConfigMap>> = []

  const freeze = (): void => { process.kill(apiserverPid, 'SIGSTOP'); frozen = true }
  const thaw = (): void => { if (frozen) { process.kill(apiserverPid, 'SIGCONT'); frozen = false } }

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dawn-controlplane-runtime-outage-'))
    cp = await startControlPlane({ dir })
    apiserverPid = cp.pids['kube-apiserver']
    // Short deadlines: a frozen apiserver must turn into errors quickly.
    client = kubeClientFromFile(cp.kubeconfigPath, { requestTimeoutMs: 3000 })
    applier = new Applier({ client })
    ns = await createNamespace(client, 'outage')
  })

  afterAll(async () => {
    thaw()
    await Promise.all(informers.map(async i => { await i.stop() }))
    for (const pid of spawned) {
      if (!alive(pid)) continue
      process.kill(pid, 'SIGTERM')
      for (let i = 0; i < 100 && alive(pid); i++) await tick(100)
      if (alive(pid)) process.kill(pid, 'SIGKILL')
    }
    await cp.stop()
  })

  /** SIGKILLs the apiserver and starts it again with the same command line; resolves when it is ready. */
  async function crashAndRestartApiserver (downMs: number): Promise<{ readyAt: number }> {
    const argv = readFileSync(`/proc/${apiserverPid}/cmdline`, 'utf8').split('\0').filter(a => a !== '')
    const cwd = readlinkSync(`/proc/${apiserverPid}/cwd`)
    process.kill(apiserverPid, 'SIGKILL')
    for (let i = 0; i < 100 && alive(apiserverPid); i++) await tick(50)
    await tick(downMs)
    const fd = openSync(join(cp.dir, 'kube-apiserver.restarted.log'), 'a')
    const child = spawn(argv[0]!, argv.slice(1), { cwd, detached: true, stdio: ['ignore', fd, fd] })
    closeSync(fd)
    child.unref()
    if (child.pid === undefined) throw new Error('could not restart kube-apiserver')
    apiserverPid = child.pid
    spawned.push(child.pid)
    // Record it where the control plane's own tooling looks (cli.ts down, the orphan reaper of
    // a later run), so even a SIGKILLed test run leaves nothing behind.
    const statePath = join(cp.dir, 'state.json')
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as { pids: Record<string, number> }
    state.pids['kube-apiserver'] = child.pid
    writeFileSync(statePath, JSON.stringify(state, null, 2) + '\n')
    process.once('exit', () => { try { process.kill(child.pid as number, 'SIGKILL') } catch { /* gone */ } })
    // (/readyz answers text; any JSON read that works will do.)
    await eventually(async () => { await client.request({ method: 'GET', path: `/api/v1/namespaces/${ns}`, timeoutMs: 2000 }); return true },
      { what: 'restarted kube-apiserver to be ready', timeoutMs: 60_000, intervalMs: 100 })
    return { readyAt: performance.now() }
  }

  const cm = (name: string, data: Record<string, string>): V1ConfigMap => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data })

  it('frozen apiserver: the silent watch is restarted by the stall detector; reconnects back off; it heals after the thaw', async () => {
    const stallMs = 3000
    const inf = createInformer<V1ConfigMap>(client, CONFIGMAPS, { namespace: ns, stallTimeoutMs: stallMs, backoff: { baseMs: 200, capMs: 2000 } })
    informers.push(inf)
    inf.start()
    await inf.waitForSync()
    await applier.apply(cm('before', { v: '1' }))
    await eventually(async () => inf.get(`${ns}/before`) !== undefined, { what: 'before' })
    const listsBefore = inf.stats.lists

    const t0 = performance.now()
    freeze()
    await eventually(async () => inf.stats.stalls >= 1, { what: 'stall detection', timeoutMs: 20_000, intervalMs: 50 })
    timing(`apiserver frozen → watch declared stalled after ${Math.round(performance.now() - t0)} ms (stallTimeoutMs ${stallMs})`)
    // The stall is one failure; the restarted watch meets the frozen apiserver too and times out (then backs off).
    await eventually(async () => inf.stats.watchFailures >= 2 && /no answer within 3000 ms/.test(inf.stats.lastError ?? ''),
      { what: 'a failed reconnect while frozen', timeoutMs: 30_000, detail: async () => `failures ${inf.stats.watchFailures}, last error ${inf.stats.lastError ?? '-'}` })
    timing(`while frozen for ${Math.round((performance.now() - t0) / 1000)} s: ${inf.stats.watches} watches opened in total, ${inf.stats.watchFailures} failed (last: ${inf.stats.lastError ?? '-'})`)

    thaw()
    const t1 = performance.now()
    // The apiserver needs a moment after SIGCONT; keep writing until one lands.
    await eventually(async () => { await applier.apply(cm('after', { v: '1' })); return true }, { what: 'a write after the thaw', timeoutMs: 30_000 })
    await eventually(async () => inf.get(`${ns}/after`) !== undefined, { what: 'event after the thaw', timeoutMs: 30_000, intervalMs: 20 })
    timing(`thaw → informer has the next write after ${Math.round(performance.now() - t1)} ms; lists ${inf.stats.lists - listsBefore} extra, stalls ${inf.stats.stalls}`)
  })

  it('crashed and restarted apiserver: reconnects with backoff and resumes', async () => {
    const inf = createInformer<V1ConfigMap>(client, CONFIGMAPS, { namespace: ns, backoff: { baseMs: 200, capMs: 2000 } })
    informers.push(inf)
    inf.start()
    await inf.waitForSync()
    const watchesBefore = inf.stats.watches
    const listsBefore = inf.stats.lists

    const t0 = performance.now()
    const { readyAt } = await crashAndRestartApiserver(3000)
    timing(`apiserver down → ready again: ${Math.round(readyAt - t0)} ms; informer meanwhile: ${inf.stats.watchFailures} failed reconnects (last: ${inf.stats.lastError ?? '-'})`)
    expect(inf.stats.watchFailures).toBeGreaterThanOrEqual(2)

    await applier.apply(cm('after-restart', { v: '1' }))
    await eventually(async () => inf.get(`${ns}/after-restart`) !== undefined, { what: 'event after restart', timeoutMs: 30_000, intervalMs: 20 })
    timing(`apiserver ready → informer delivered a new write after ${Math.round(performance.now() - readyAt)} ms (backoff cap 2000 ms); watches +${inf.stats.watches - watchesBefore}, lists +${inf.stats.lists - listsBefore}, relists on 410 ${inf.stats.relistsOnExpired}`)
    expect(inf.size).toBe((await client.request<{ items: unknown[] }>({ method: 'GET', path: `/api/v1/namespaces/${ns}/configmaps` })).items.length)
  })

  it('leader steps down within renewDeadline when the apiserver freezes, well before its lease could expire; leadership resumes after', async () => {
    // 8 s between stepping down (renewDeadline) and the earliest takeover (leaseDuration): room for a busy machine.
    const mk = (id: string): LeaderElector => new LeaderElector({
      client, namespace: ns, name: 'outage-lease', identity: id,
      leaseDurationMs: 12_000, renewDeadlineMs: 4000, renewIntervalMs: 1000, retryPeriodMs: 500
    })
    const a = mk('a')
    const b = mk('b')
    const changes: string[] = []
    a.subscribe(l => changes.push(`a:${l}`))
    b.subscribe(l => changes.push(`b:${l}`))
    a.start()
    await a.waitForLeadership(AbortSignal.timeout(15_000))
    b.start()
    await eventually(async () => b.leader === 'a', { what: 'b to observe a as leader', timeoutMs: 15_000 })
    expect(b.isLeader()).toBe(false)

    const t0 = performance.now()
    freeze()
    await eventually(async () => !a.isLeader(), { what: 'a to step down', timeoutMs: 15_000, intervalMs: 20 })
    const steppedDown = performance.now() - t0
    timing(`apiserver frozen → leader stepped down after ${Math.round(steppedDown)} ms (renewDeadline 4000 ms, leaseDuration 12000 ms)`)
    // Before anyone else could take the lease: a renewed it at most renewIntervalMs before the freeze.
    expect(steppedDown).toBeLessThan(12_000 - 1000)
    expect(b.isLeader()).toBe(false)
    await tick(2000)
    thaw()
    const t1 = performance.now()
    await eventually(async () => a.isLeader() || b.isLeader(), { what: 'a leader again', timeoutMs: 30_000, intervalMs: 20 })
    timing(`thaw → ${a.isLeader() ? 'a' : 'b'} leads again after ${Math.round(performance.now() - t1)} ms`)
    expect(a.isLeader() && b.isLeader()).toBe(false)
    await a.stop()
    await b.stop()
    expect(changes[0]).toBe('a:true')
    expect(changes[1]).toBe('a:false')
  })
})
