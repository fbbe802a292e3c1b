// Kubernetes Events (events.k8s.io/v1) about the objects the operator manages, so that
// `kubectl describe dawnnode x` tells the story (CamelCase reasons: `Created`, `ScaledUp`,
// `InvalidSpec`). Best effort by design: a failed event never fails a reconcile.
// Repeats of the same event (same object, type, reason, note) within `seriesWindowMs` update one
// Event's `series` instead of creating a new object each time, as client-go's recorder does.
import { randomBytes } from 'node:crypto'
import type { KubernetesObject } from '@kubernetes/client-node'
import { errorMessage } from './errors.ts'
import { microTime } from './leader-election.ts'
import { resourcePath, type KubeClient, type ResourceRef } from './kube-client.ts'
import { silentLogger, type Logger } from './logger.ts'

const EVENTS: ResourceRef = { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', namespaced: true }

export interface EventInit {
  type?: 'Normal' | 'Warning'
  /** CamelCase, machine-readable: why (e.g. `ReconcileFailed`). */
  reason: string
  /** What the operator did or tried (e.g. `Apply`, `Delete`); default `Reconcile`. */
  action?: string
  /** Human-readable detail (truncated to 1 kB). */
  note?: string
}

export interface EventRecorderInit {
  client: KubeClient
  /** reportingController, e.g. `mesh.dawn.dev/dawn-operator`. */
  controller?: string
  /** reportingInstance: this replica (e.g. the pod name). */
  instance?: string
  /** Repeats within this window become a series on one Event; default 10 min. */
  seriesWindowMs?: number
  logger?: Logger
  now?: () => number
}

interface Series { name: string, namespace: string, count: number, first: number, last: number }

export class EventRecorder {
  private readonly client: KubeClient
  private readonly controller: string
  private readonly instance: string
  private readonly windowMs: number
  private readonly log: Logger
  private readonly now: () => number
  private readonly series = new Map<string, Series>()

  constructor (init: EventRecorderInit) {
    this.client = init.client
    this.controller = init.controller ?? 'mesh.dawn.dev/dawn-operator'
    this.instance = init.instance ?? 'dawn-operator'
    this.windowMs = init.seriesWindowMs ?? 10 * 60_000
    this.log = (init.logger ?? silentLogger).child({ component: 'events' })
    this.now = init.now ?? Date.now
  }

  /** Records an event about `regarding`. Never throws; resolves when written (or given up). */
  async record (regarding: KubernetesObject, ev: EventInit, signal?: AbortSignal): Promise<void> {
    const meta = regarding.metadata
    const name = meta?.name
    if (name === undefined) return
    const namespace = meta?.namespace ?? 'default'
    const type = ev.type ?? 'Normal'
    const note = (ev.note ?? '').slice(0, 1024)
    const key = `${meta?.uid ?? `${namespace}/${name}`}|${type}|${ev.reason}|${note}`
    const t = this.now()
    this.prune(t)
    const s = this.series.get(key)
    const sig = signal !== undefined ? { signal } : {}
    try {
      if (s !== undefined && t - s.first < this.windowMs) {
        s.count++
        s.last = t
        await this.client.request({
          method: 'PATCH',
          path: resourcePath(EVENTS, { namespace: s.namespace, name: s.name }),
          contentType: 'application/merge-patch+json',
          body: { series: { count: s.count, lastObservedTime: microTime(t) } },
          ...sig
        })
        return
      }
      const eventName = `${name}.${randomBytes(8).toString('hex')}`
      await this.client.request({
        method: 'POST',
        path: resourcePath(EVENTS, { namespace }),
        body: {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          metadata: { name: eventName, namespace },
          eventTime: microTime(t),
          reportingController: this.controller,
          reportingInstance: this.instance,
          action: ev.action ?? 'Reconcile',
          reason: ev.reason,
          type,
          note,
          regarding: {
            apiVersion: regarding.apiVersion, kind: regarding.kind, name, namespace: meta?.namespace, uid: meta?.uid, resourceVersion: meta?.resourceVersion
          }
        },
        ...sig
      })
      this.series.set(key, { name: eventName, namespace, count: 1, first: t, last: t })
    } catch (e) {
      // A series whose Event expired (events have a TTL) starts over next time.
      if (s !== undefined) this.series.delete(key)
      this.log.debug('could not record event', { reason: ev.reason, object: `${namespace}/${name}`, err: errorMessage(e) })
    }
  }

  private prune (t: number): void {
    if (this.series.size < 1000) return
    for (const [k, s] of this.series) if (t - s.first >= this.windowMs) this.series.delete(k)
  }
}
