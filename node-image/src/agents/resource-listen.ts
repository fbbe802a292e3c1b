/**
 * A caller session's resource subscriptions on a 2026-07-28 agent, which has no
 * resources/subscribe: one `subscriptions/listen` stream whose filter is the set of URIs
 * the caller subscribed to, reopened with the new set on each change. Updates arrive at the
 * Client's `notifications/resources/updated` handler, as they do on 2025-11-25.
 */
import type { Client, McpSubscription } from '@modelcontextprotocol/client'

/** The agent acknowledged a listen stream without the URI asked for. */
export class SubscriptionRefusedError extends Error {
  constructor (uri: string) {
    super(`the agent did not accept a subscription to ${uri.slice(0, 256)}`)
    this.name = 'SubscriptionRefusedError'
  }
}

/** Longest wait for the agent to acknowledge a listen stream. */
const ACK_TIMEOUT_MS = 10_000

export class ResourceListen {
  private readonly client: Client
  private readonly onLost: () => void
  private readonly uris = new Set<string>()
  private current: McpSubscription | undefined
  /** Changes apply one after another, so streams never overlap out of order. */
  private queue: Promise<void> = Promise.resolve()
  private closed = false

  /** `onLost`: the agent ended the stream, so the subscriptions are gone. */
  constructor (client: Client, onLost: () => void) {
    this.client = client
    this.onLost = onLost
  }

  async subscribe (uri: string, signal: AbortSignal): Promise<void> {
    await this.change(async () => {
      if (this.uris.has(uri)) return
      this.uris.add(uri)
      try {
        await this.reopen(signal)
      } catch (err) {
        this.uris.delete(uri)
        throw err
      }
      if (this.current?.honoredFilter.resourceSubscriptions?.includes(uri) !== true) {
        this.uris.delete(uri)
        await this.reopen(signal).catch(() => {})
        throw new SubscriptionRefusedError(uri)
      }
    })
  }

  async unsubscribe (uri: string, signal: AbortSignal): Promise<void> {
    await this.change(async () => {
      if (!this.uris.delete(uri)) return
      await this.reopen(signal)
    })
  }

  async close (): Promise<void> {
    this.closed = true
    this.uris.clear()
    await this.change(async () => {
      const last = this.current
      this.current = undefined
      await last?.close().catch(() => {})
    })
  }

  private async change (work: () => Promise<void>): Promise<void> {
    const run = this.queue.then(work)
    this.queue = run.catch(() => {})
    await run
  }

  /**
   * The new stream is acknowledged before the old one closes, so no update falls between. The
   * request's signal only gates the start: given to listen() it would end the stream with the request.
   */
  private async reopen (signal: AbortSignal): Promise<void> {
    if (this.closed) return
    signal.throwIfAborted()
    const next = this.uris.size === 0
      ? undefined
      : await this.client.listen({ resourceSubscriptions: [...this.uris] }, { timeout: ACK_TIMEOUT_MS })
    const previous = this.current
    this.current = next
    if (next !== undefined) {
      void next.closed.then((cause) => {
        if (cause === 'remote' && this.current === next && !this.closed) this.onLost()
      })
    }
    await previous?.close().catch(() => {})
  }
}
