// The operator's Prometheus metrics, on a registry of its own (never prom-client's global one:
// tests and embedders create many operators per process), and the small HTTP server that
// exposes them with the Kubernetes-style /healthz and /readyz probes.
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Informer } from './informer.ts'
import type { WorkOutcome } from './work-queue.ts'
import { silentLogger, type Logger } from './logger.ts'
import type { KubernetesObject } from '@kubernetes/client-node'

export interface OperatorMetricsInit {
  /** Also collect process_* and nodejs_* metrics; default true. */
  defaultMetrics?: boolean
  registry?: Registry
}

/** Results as they appear in the `result` label. */
export type ReconcileResult = WorkOutcome

export class OperatorMetrics {
  readonly registry: Registry
  readonly reconcileTotal: Counter<'kind' | 'result'>
  readonly reconcileErrors: Counter<'kind'>
  readonly reconcileDuration: Histogram<'kind'>
  readonly queueDepth: Gauge<'kind'>
  readonly isLeader: Gauge
  private readonly informers = new Set<Informer<KubernetesObject>>()

  constructor (init: OperatorMetricsInit = {}) {
    this.registry = init.registry ?? new Registry()
    const registers = [this.registry]
    this.reconcileTotal = new Counter({
      name: 'dawn_operator_reconcile_total',
      help: 'Reconciliations by kind and result (success, requeue, error).',
      labelNames: ['kind', 'result'],
      registers
    })
    this.reconcileErrors = new Counter({
      name: 'dawn_operator_reconcile_errors_total',
      help: 'Reconciliations that failed (and were retried with backoff).',
      labelNames: ['kind'],
      registers
    })
    this.reconcileDuration = new Histogram({
      name: 'dawn_operator_reconcile_duration_seconds',
      help: 'Time spent in one reconciliation.',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers
    })
    this.queueDepth = new Gauge({
      name: 'dawn_operator_queue_depth',
      help: 'Keys waiting in the work queue (not counting delayed retries).',
      labelNames: ['kind'],
      registers
    })
    this.isLeader = new Gauge({
      name: 'dawn_operator_is_leader',
      help: '1 while this replica holds the leader Lease.',
      registers
    })
    this.isLeader.set(0)

    // Informer health, read from the informers' own counters at scrape time.
    const informers = this.informers
    const gaugeFrom = (name: string, help: string, pick: (i: Informer<KubernetesObject>) => number | undefined): void => {
      new Gauge({
        name,
        help,
        labelNames: ['informer'],
        registers,
        collect () {
          this.reset()
          for (const i of informers) {
            const v = pick(i)
            if (v !== undefined) this.set({ informer: i.name }, v)
          }
        }
      })
    }
    gaugeFrom('dawn_operator_informer_synced', '1 once the informer has listed its resource.', i => i.hasSynced() ? 1 : 0)
    gaugeFrom('dawn_operator_informer_objects', 'Objects in the informer cache.', i => i.size)
    gaugeFrom('dawn_operator_informer_lists', 'Lists done (initial list and relists).', i => i.stats.lists)
    gaugeFrom('dawn_operator_informer_relists_expired', 'Relists forced by 410 Gone (resourceVersion too old).', i => i.stats.relistsOnExpired)
    gaugeFrom('dawn_operator_informer_watch_failures', 'Watches that failed or closed early (followed by a backoff).', i => i.stats.watchFailures)
    gaugeFrom('dawn_operator_informer_watch_stalls', 'Watches restarted because no event or bookmark arrived in time.', i => i.stats.stalls)
    gaugeFrom('dawn_operator_informer_last_event_age_seconds', 'Seconds since the informer last received an event or bookmark.',
      i => i.stats.lastEventAt === undefined ? undefined : (Date.now() - i.stats.lastEventAt) / 1000)

    if (init.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry })
  }

  /** A controller of `kind` exists: its error count and queue read 0, not "no data", until it works. */
  declareKind (kind: string): void {
    this.reconcileErrors.inc({ kind }, 0)
    this.queueDepth.set({ kind }, 0)
  }

  observeReconcile (kind: string, result: ReconcileResult, seconds: number): void {
    this.reconcileTotal.inc({ kind, result })
    if (result === 'error') this.reconcileErrors.inc({ kind })
    this.reconcileDuration.observe({ kind }, seconds)
  }

  setQueueDepth (kind: string, depth: number): void {
    this.queueDepth.set({ kind }, depth)
  }

  setLeader (leading: boolean): void {
    this.isLeader.set(leading ? 1 : 0)
  }

  /** Exposes an informer's sync state and counters (read at scrape time). */
  trackInformer<T extends KubernetesObject> (informer: Informer<T>): void {
    this.informers.add(informer as unknown as Informer<KubernetesObject>)
  }

  async text (): Promise<string> {
    return await this.registry.metrics()
  }
}

// ---------------------------------------------------------------------------------------

/** A probe: ok (true / undefined) or failing (false, or a string saying why). May be async. */
export type HealthCheck = () => boolean | string | undefined | Promise<boolean | string | undefined>

export interface MetricsServerInit {
  metrics: OperatorMetrics
  /** Default 8080; 0 picks a free port (see `port` after start). */
  port?: number
  /** Default 0.0.0.0 (probes and scrapes come from outside the pod). */
  host?: string
  logger?: Logger
}

/** `/metrics`, `/healthz` (liveness), `/readyz` (readiness); `?verbose` lists every check. */
export class MetricsServer {
  private readonly metrics: OperatorMetrics
  private readonly wantPort: number
  private readonly host: string
  private readonly log: Logger
  private readonly liveness = new Map<string, HealthCheck>()
  private readonly readiness = new Map<string, HealthCheck>()
  private server: Server | undefined
  private shuttingDown = false

  constructor (init: MetricsServerInit) {
    this.metrics = init.metrics
    this.wantPort = init.port ?? 8080
    this.host = init.host ?? '0.0.0.0'
    this.log = (init.logger ?? silentLogger).child({ component: 'metrics-server' })
  }

  addLivenessCheck (name: string, check: HealthCheck): void {
    this.liveness.set(name, check)
  }

  addReadinessCheck (name: string, check: HealthCheck): void {
    this.readiness.set(name, check)
  }

  /** The bound port (after start). */
  get port (): number {
    const a = this.server?.address()
    return a !== null && a !== undefined && typeof a !== 'string' ? (a).port : this.wantPort
  }

  async start (): Promise<void> {
    if (this.server !== undefined) return
    this.shuttingDown = false
    const server = createServer((req, res) => { void this.handle(req, res) })
    // Probes and scrapes are short; do not let a stuck client pin a socket.
    server.requestTimeout = 10_000
    server.headersTimeout = 10_000
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.wantPort, this.host, () => { server.off('error', reject); resolve() })
    })
    this.server = server
    this.log.info('serving /metrics, /healthz, /readyz', { port: (server.address() as AddressInfo).port })
  }

  /** Marks the process not ready (so traffic drains) and closes the server. */
  async stop (): Promise<void> {
    const s = this.server
    if (s === undefined) return
    this.shuttingDown = true
    this.server = undefined
    await new Promise<void>(resolve => { s.close(() => { resolve() }); s.closeAllConnections() })
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end()
        return
      }
      switch (url.pathname) {
        case '/metrics': {
          const body = await this.metrics.text()
          res.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(body)
          return
        }
        case '/healthz':
        case '/livez':
          await this.probe(this.liveness, url, res, false)
          return
        case '/readyz':
          await this.probe(this.readiness, url, res, this.shuttingDown)
          return
        default:
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
      }
    } catch (e) {
      this.log.error('request failed', { path: url.pathname, err: e })
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end('internal error\n')
    }
  }

  private async probe (checks: Map<string, HealthCheck>, url: URL, res: ServerResponse, shuttingDown: boolean): Promise<void> {
    const lines: string[] = []
    let ok = true
    if (shuttingDown) { ok = false; lines.push('[-]shutting-down failed: stopping') }
    for (const [name, check] of checks) {
      let r: boolean | string | undefined
      try { r = await check() } catch (e) { r = e instanceof Error ? e.message : String(e) }
      if (r === true || r === undefined) {
        lines.push(`[+]${name} ok`)
      } else {
        ok = false
        lines.push(`[-]${name} failed: ${r === false ? 'not ok' : r}`)
      }
    }
    const verbose = url.searchParams.has('verbose')
    const body = ok
      ? (verbose ? `${lines.join('\n')}\nok\n` : 'ok\n')
      : `${lines.join('\n')}\n${url.pathname.slice(1)} check failed\n`
    res.writeHead(ok ? 200 : 500, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(body)
  }
}
