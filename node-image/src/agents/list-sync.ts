/**
 * An agent's tools, resources, prompts and resource templates as the registry holds them:
 * listed on each connect, re-listed on list_changed, and on 2026-07-28 followed on a
 * `subscriptions/listen` stream. The lists outlive reconnects, so a reconnecting agent
 * keeps its last known ones.
 */
import type { Client, McpSubscription, SubscriptionFilter } from '@modelcontextprotocol/client'
import type { LogFn } from '../logging/json-logger.ts'
import { errorMessage } from './error-message.ts'
import { clip, mapAgentList } from './list-mapper.ts'
import type { AgentLists, ListKind, Skip } from './list-mapper.ts'
import { fetchListPages, MAX_LIST_PAGES } from './list-pages.ts'

export interface ListSyncInit {
  agentId: string
  /** Limit for each list page and for opening the listen stream. */
  requestTimeoutMs: number
  /** Ends every list request (the connection stopped). */
  signal: AbortSignal
  /** A list now differs from what it was. */
  onChange: () => void
}

export interface ListSyncComponents {
  log: LogFn
}

export class ListSync {
  private readonly log: LogFn
  private readonly agentId: string
  private readonly requestTimeoutMs: number
  private readonly signal: AbortSignal
  private readonly onChange: () => void
  private current: AgentLists = { tools: [], resources: [], prompts: [], resourceTemplates: [] }
  /** Per list kind: a re-list is running; `true` once another was asked for meanwhile. */
  private readonly relisting = new Map<ListKind, boolean>()

  constructor (components: ListSyncComponents, init: ListSyncInit) {
    this.log = components.log
    this.agentId = init.agentId
    this.requestTimeoutMs = init.requestTimeoutMs
    this.signal = init.signal
    this.onChange = init.onChange
  }

  get lists (): AgentLists {
    return this.current
  }

  /**
   * Re-lists on the client's list_changed notifications. Set before connecting; a re-list
   * whose client is no longer `isCurrent` is dropped.
   */
  watch (client: Client, isCurrent: () => boolean): void {
    client.setNotificationHandler('notifications/tools/list_changed', () => { this.relist(client, isCurrent, 'tools') })
    // Templates have no list_changed of their own; servers announce them as resource changes.
    client.setNotificationHandler('notifications/resources/list_changed', () => { this.relist(client, isCurrent, 'resources'); this.relist(client, isCurrent, 'resourceTemplates') })
    client.setNotificationHandler('notifications/prompts/list_changed', () => { this.relist(client, isCurrent, 'prompts') })
  }

  /**
   * 2026-07-28 announces list changes only on a listen stream. An agent that refuses one is
   * still served, with the lists of this connection; `onEnded` hears when the agent ends it,
   * so the caller can reconnect (and so re-list), as for a dropped 2025-11-25 session. An
   * agent announcing no changes keeps no stream open (servers end an empty one at once), so
   * none is opened.
   */
  async listen (client: Client, onEnded: () => void): Promise<McpSubscription | undefined> {
    if (client.getProtocolEra() !== 'modern') return undefined
    const caps = client.getServerCapabilities() ?? {}
    const filter: SubscriptionFilter = {
      ...(caps.tools?.listChanged === true ? { toolsListChanged: true } : {}),
      ...(caps.prompts?.listChanged === true ? { promptsListChanged: true } : {}),
      ...(caps.resources?.listChanged === true ? { resourcesListChanged: true } : {})
    }
    if (Object.keys(filter).length === 0) return undefined
    let listen: McpSubscription
    try {
      listen = await client.listen(filter, { timeout: this.requestTimeoutMs })
    } catch (err) {
      this.log('warn', 'agent refused a listen stream; its list changes will not be followed', { agent: this.agentId, error: errorMessage(err) })
      return undefined
    }
    void listen.closed.then((cause) => {
      if (cause !== 'local') onEnded()
    })
    return listen
  }

  /** Fetches every list the agent's capabilities announce and replaces the current ones. */
  async load (client: Client): Promise<void> {
    const caps = client.getServerCapabilities() ?? {}
    const [tools, resources, prompts, resourceTemplates] = await Promise.all([
      caps.tools === undefined ? [] : this.fetch(client, 'tools'),
      caps.resources === undefined ? [] : this.fetch(client, 'resources'),
      caps.prompts === undefined ? [] : this.fetch(client, 'prompts'),
      caps.resources === undefined ? [] : this.fetch(client, 'resourceTemplates')
    ])
    this.set({
      tools: this.map('tools', tools),
      resources: this.map('resources', resources),
      prompts: this.map('prompts', prompts),
      resourceTemplates: this.map('resourceTemplates', resourceTemplates)
    })
  }

  /** Re-fetches one list; notifications arriving meanwhile cause one more round. */
  private relist (client: Client, isCurrent: () => boolean, kind: ListKind): void {
    if (this.relisting.has(kind)) {
      this.relisting.set(kind, true)
      return
    }
    this.relisting.set(kind, false)
    void (async () => {
      try {
        do {
          this.relisting.set(kind, false)
          const items = await this.fetch(client, kind)
          if (!isCurrent()) return
          this.set({ ...this.current, [kind]: this.map(kind, items) })
        } while (this.relisting.get(kind) === true)
      } catch (err) {
        this.log('warn', 'agent re-list failed', { agent: this.agentId, list: kind, error: errorMessage(err) })
      } finally {
        this.relisting.delete(kind)
      }
    })()
  }

  private async fetch (client: Client, kind: ListKind): Promise<unknown[]> {
    return await fetchListPages(client, kind, {
      signal: this.signal,
      timeoutMs: this.requestTimeoutMs,
      onTooManyPages: (method) => { this.log('warn', 'agent list has too many pages; using the first ones', { agent: this.agentId, method, pages: MAX_LIST_PAGES }) }
    })
  }

  private readonly skip: Skip = (what, name, reason) => {
    this.log('warn', `agent ${what} skipped or trimmed: it would not fit the registry`, { agent: this.agentId, [what]: clip(name, 256), reason })
  }

  private map<K extends ListKind> (kind: K, items: unknown[]): AgentLists[K] { return mapAgentList(kind, items, this.skip) }

  private set (next: AgentLists): void {
    const changed = JSON.stringify(next) !== JSON.stringify(this.current)
    this.current = next
    if (changed) this.onChange()
  }
}
