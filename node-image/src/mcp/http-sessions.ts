/**
 * The 2025-11-25 session table of the MCP HTTP endpoint (the node's `/mcp` and
 * `dawn-node agent serve --http`). Each session holds a server and a transport,
 * so the table is bounded, and a session with no request for `idleMs` and none
 * still open is closed: clients that vanish without DELETE must not pile up.
 * A closed session's id is unknown from then on (404, as the spec says).
 */
import type { ServerResponse } from 'node:http'
import type { LogFn } from '../logging/json-logger.ts'

export interface McpSessionTableInit<S> {
  maxSessions: number
  /** A session with no request for this long, and none open, is closed. */
  idleMs: number
  log: LogFn
  /** Ends the session's server and transport; called once per session, whatever the reason. */
  close: (session: S, reason: string) => Promise<void>
}

interface Entry<S> {
  session: S
  /** Requests of this session still open (an open GET stream counts). */
  open: number
  lastSeen: number
}

export class McpSessionTable<S> {
  private readonly init: McpSessionTableInit<S>
  private readonly entries = new Map<string, Entry<S>>()
  private readonly sweeper: NodeJS.Timeout

  constructor (init: McpSessionTableInit<S>) {
    this.init = init
    // A quarter of the idle time keeps the overshoot small; never busier than 20 Hz.
    this.sweeper = setInterval(() => { this.sweep() }, Math.min(Math.max(init.idleMs / 4, 50), 30_000))
    this.sweeper.unref()
  }

  get size (): number {
    return this.entries.size
  }

  full (): boolean {
    return this.entries.size >= this.init.maxSessions
  }

  get (id: string): S | undefined {
    return this.entries.get(id)?.session
  }

  add (id: string, session: S): void {
    this.entries.set(id, { session, open: 0, lastSeen: Date.now() })
  }

  /** Counts `res` as open until it closes; a session is never idle while one is. */
  track (id: string, res: ServerResponse): void {
    const entry = this.entries.get(id)
    if (entry === undefined) return
    entry.open += 1
    entry.lastSeen = Date.now()
    res.once('close', () => {
      entry.open -= 1
      entry.lastSeen = Date.now()
    })
  }

  /** Forgets the session, then closes it; a second call for the same id does nothing. */
  async close (id: string, reason: string): Promise<void> {
    const entry = this.entries.get(id)
    if (entry === undefined) return
    this.entries.delete(id)
    try {
      await this.init.close(entry.session, reason)
    } catch (err) {
      this.init.log('debug', 'mcp session close failed', { reason, error: (err as Error).message })
    }
  }

  /** Stops the sweeper and closes every session. */
  async closeAll (reason: string): Promise<void> {
    clearInterval(this.sweeper)
    await Promise.all([...this.entries.keys()].map(async (id) => { await this.close(id, reason) }))
  }

  private sweep (): void {
    const now = Date.now()
    for (const [id, entry] of this.entries) {
      if (entry.open === 0 && now - entry.lastSeen > this.init.idleMs) void this.close(id, 'idle')
    }
  }
}
