import { describe, it, expect, afterEach } from 'vitest'
import { OperatorMetrics, MetricsServer } from '../../../src/runtime/metrics.ts'
import { createLogger } from '../../../src/runtime/logger.ts'
import { KubeApiError } from '../../../src/runtime/errors.ts'
import { Informer } from '../../../src/runtime/informer.ts'
import { FakeListWatch } from './fake-list-watch.ts'

describe('OperatorMetrics + MetricsServer', () => {
  const servers: MetricsServer[] = []
  afterEach(async () => { await Promise.all(servers.splice(0).map(async s => { await s.stop() })) })

  it('serves the operator metrics on its own registry, plus probes', async () => {
    const metrics = new OperatorMetrics()
    metrics.observeReconcile('DawnNode', 'success', 0.02)
    metrics.observeReconcile('DawnNode', 'error', 0.5)
    metrics.setQueueDepth('DawnNode', 3)
    metrics.setLeader(true)
    const lw = new FakeListWatch()
    lw.upsert('a')
    const inf = new Informer({ listWatch: lw, name: 'configmaps' })
    metrics.trackInformer(inf)
    inf.start()
    await inf.waitForSync()

    let ready: boolean | string = 'caches not synced'
    const server = new MetricsServer({ metrics, port: 0, host: '127.0.0.1' })
    servers.push(server)
    server.addReadinessCheck('informers', () => ready)
    server.addLivenessCheck('loop', () => true)
    await server.start()
    const base = `http://127.0.0.1:${server.port}`

    const m = await fetch(`${base}/metrics`)
    expect(m.status).toBe(200)
    expect(m.headers.get('content-type')).toContain('text/plain')
    const text = await m.text()
    expect(text).toContain('dawn_operator_reconcile_total{kind="DawnNode",result="success"} 1')
    expect(text).toContain('dawn_operator_reconcile_total{kind="DawnNode",result="error"} 1')
    expect(text).toContain('dawn_operator_reconcile_errors_total{kind="DawnNode"} 1')
    expect(text).toContain('dawn_operator_reconcile_duration_seconds_bucket{le="0.025",kind="DawnNode"} 1')
    expect(text).toContain('dawn_operator_queue_depth{kind="DawnNode"} 3')
    expect(text).toContain('dawn_operator_is_leader 1')
    expect(text).toContain('dawn_operator_informer_synced{informer="configmaps"} 1')
    expect(text).toContain('dawn_operator_informer_objects{informer="configmaps"} 1')
    expect(text).toContain('process_cpu_user_seconds_total')

    const notReady = await fetch(`${base}/readyz`)
    expect(notReady.status).toBe(500)
    expect(await notReady.text()).toContain('[-]informers failed: caches not synced')
    ready = true
    const ok = await fetch(`${base}/readyz`)
    expect(ok.status).toBe(200)
    expect(await ok.text()).toBe('ok\n')
    expect(await (await fetch(`${base}/readyz?verbose`)).text()).toContain('[+]informers ok')
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    expect((await fetch(`${base}/nope`)).status).toBe(404)
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405)
    await inf.stop()
  })

  it('two operators in one process do not share metrics', async () => {
    const a = new OperatorMetrics({ defaultMetrics: false })
    const b = new OperatorMetrics({ defaultMetrics: false })
    a.setLeader(true)
    expect(await a.text()).toContain('dawn_operator_is_leader 1')
    expect(await b.text()).toContain('dawn_operator_is_leader 0')
  })
})

describe('logger', () => {
  it('writes one JSON object per line with level, time, msg and fields; errors keep their shape', () => {
    const lines: string[] = []
    const log = createLogger({ level: 'info', write: l => lines.push(l), now: () => Date.UTC(2025, 0, 1), fields: { app: 'dawn-operator' } })
    log.debug('hidden')
    log.child({ controller: 'DawnNode' }).warn('reconcile failed', { key: 'ns/a', err: new KubeApiError({ status: 409, reason: 'Conflict', message: 'x' }) })
    expect(lines).toHaveLength(1)
    expect(lines[0]!.endsWith('\n')).toBe(true)
    expect(JSON.parse(lines[0]!)).toEqual({
      level: 'warn', time: '2025-01-01T00:00:00.000Z', msg: 'reconcile failed', app: 'dawn-operator', controller: 'DawnNode', key: 'ns/a',
      err: { name: 'KubeApiError', message: '409 Conflict: x', status: 409, reason: 'Conflict' }
    })
  })
  it('never throws on unserialisable fields', () => {
    const lines: string[] = []
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    createLogger({ write: l => lines.push(l) }).info('still logged', { cyclic })
    expect((JSON.parse(lines[0]!) as { msg: string }).msg).toBe('still logged')
  })
})
