// The two calls an informer needs — a full (paginated) list and a watch from a resourceVersion —
// behind one small interface, so the informer's recovery logic can be driven by a fake source in
// unit tests and by the real apiserver everywhere else.
import type { KubernetesObject } from '@kubernetes/client-node'
import { KubeApiError, isGone, type KubeStatus } from './errors.ts'
import { apiVersionOf, resourcePath, type KubeClient, type ResourceRef } from './kube-client.ts'

export type WatchEvent<T> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T }
  /** Progress marker: no object changed, but everything up to `resourceVersion` was seen. */
  | { type: 'BOOKMARK', resourceVersion: string }
  /** The server ended the watch with a Status (410 Expired: resourceVersion too old). */
  | { type: 'ERROR', status: KubeStatus }

export interface ListResult<T> {
  items: T[]
  /** Collection resourceVersion: where a watch continues from. */
  resourceVersion: string
}

export interface WatchOptions {
  resourceVersion: string
  /** Server-side lifetime of the watch; the server closes the stream after it. */
  timeoutSeconds: number
  signal: AbortSignal
}

export interface ListWatch<T> {
  /** A consistent, complete list (all pages). Throws KubeApiError & co. */
  list: (opts: { signal: AbortSignal }) => Promise<ListResult<T>>
  /**
   * Opens a watch (resolves once the server accepted it; throws if it did not). Iterating the
   * result yields events until the server closes the stream (the iterator ends) or the
   * connection fails or `signal` aborts (the iterator throws).
   */
  watch: (opts: WatchOptions) => Promise<AsyncIterable<WatchEvent<T>>>
  /** For logs, e.g. `pods in ns-a`. */
  readonly description: string
}

export interface KubeListWatchInit {
  /** Restrict to one namespace; omit for all namespaces (or for cluster-scoped resources). */
  namespace?: string
  labelSelector?: string
  fieldSelector?: string
  /** Page size of the list; default 500 (client-go's). */
  pageSize?: number
}

interface RawList<T> {
  kind?: string
  apiVersion?: string
  metadata?: { resourceVersion?: string, continue?: string }
  items?: T[]
}

interface RawEvent { type?: string, object?: unknown }

/** A ListWatch over the real apiserver for any resource (core, apps, policy, CRDs). */
export function createKubeListWatch<T extends KubernetesObject> (client: KubeClient, resource: ResourceRef, init: KubeListWatchInit = {}): ListWatch<T> {
  const path = resourcePath(resource, init.namespace !== undefined ? { namespace: init.namespace } : {})
  const selectors = { labelSelector: init.labelSelector, fieldSelector: init.fieldSelector }
  const pageSize = init.pageSize ?? 500
  const apiVersion = apiVersionOf(resource)

  const listOnce = async (signal: AbortSignal): Promise<ListResult<T>> => {
    const items: T[] = []
    let cont: string | undefined
    let resourceVersion = ''
    let itemKind = resource.kind
    do {
      const page: RawList<T> = await client.request<RawList<T>>({
        method: 'GET', path, signal, query: { ...selectors, limit: pageSize, continue: cont }
      })
      if (itemKind === undefined && page.kind?.endsWith('List') === true) itemKind = page.kind.slice(0, -4)
      // Items of a list carry no kind/apiVersion; handlers (and owner-reference matching)
      // are simpler when every cached object does.
      for (const item of page.items ?? []) {
        if (item.kind === undefined && itemKind !== undefined) item.kind = itemKind
        if (item.apiVersion === undefined) item.apiVersion = apiVersion
        items.push(item)
      }
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion
      cont = page.metadata?.continue !== undefined && page.metadata.continue !== '' ? page.metadata.continue : undefined
    } while (cont !== undefined)
    return { items, resourceVersion }
  }

  return {
    description: `${resource.plural}${resource.group !== '' ? `.${resource.group}` : ''}${init.namespace !== undefined ? ` in ${init.namespace}` : ''}${init.labelSelector !== undefined ? ` (${init.labelSelector})` : ''}`,

    async list ({ signal }) {
      // A continue token expires (410) when paging takes longer than the etcd compaction
      // window; the answer is to start the list over, not to give up.
      for (let attempt = 1; ; attempt++) {
        try {
          return await listOnce(signal)
        } catch (e) {
          if (isGone(e) && attempt < 3) continue
          throw e
        }
      }
    },

    async watch ({ resourceVersion, timeoutSeconds, signal }) {
      const { lines } = await client.stream({
        method: 'GET',
        path,
        signal,
        query: {
          ...selectors,
          watch: true,
          resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds
        }
      })
      return parseEvents<T>(lines, path)
    }
  }
}

async function * parseEvents<T> (lines: AsyncIterable<string>, path: string): AsyncGenerator<WatchEvent<T>> {
  for await (const line of lines) {
    let raw: RawEvent
    try {
      raw = JSON.parse(line) as RawEvent
    } catch {
      // A torn line means a broken stream: fail the watch (the informer reconnects) rather
      // than silently skipping an event, which would leave the cache wrong until a relist.
      throw new KubeApiError({ status: 500, reason: 'InvalidWatchEvent', message: `unparseable watch line: ${line.slice(0, 200)}`, method: 'WATCH', path })
    }
    switch (raw.type) {
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED':
        yield { type: raw.type, object: raw.object as T }
        break
      case 'BOOKMARK': {
        const rv = (raw.object as KubernetesObject | undefined)?.metadata?.resourceVersion
        if (rv !== undefined) yield { type: 'BOOKMARK', resourceVersion: rv }
        break
      }
      case 'ERROR':
        yield { type: 'ERROR', status: raw.object ?? {} }
        break
      default:
        throw new KubeApiError({ status: 500, reason: 'InvalidWatchEvent', message: `unknown watch event type ${String(raw.type)}`, method: 'WATCH', path })
    }
  }
}
