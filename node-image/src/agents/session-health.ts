/**
 * HTTP has no connection to lose, so a remote agent's session is checked: periodically and
 * after transport errors, with ping on 2025-11-25 and server/discover on 2026-07-28 (which
 * has no ping).
 */
import type { Client } from '@modelcontextprotocol/client'

export interface SessionHealthInit {
  client: Client
  intervalMs: number
  /** Limit for one check. */
  timeoutMs: number
  /** Ends a running check (the connection stopped). */
  signal: AbortSignal
  /** A check failed: the session is presumed dead. */
  onFailed: (err: unknown) => void
}

export class SessionHealth {
  private readonly init: SessionHealthInit
  private timer: NodeJS.Timeout | undefined
  private checking = false
  private stopped = false

  constructor (init: SessionHealthInit) {
    this.init = init
  }

  start (): void {
    if (this.stopped || this.timer !== undefined) return
    this.timer = setInterval(() => { this.check() }, this.init.intervalMs)
    this.timer.unref()
  }

  /** Once the session is closing: no more checks. */
  stop (): void {
    this.stopped = true
    clearInterval(this.timer)
  }

  /** One check now, unless one is running. */
  check (): void {
    if (this.checking || this.stopped) return
    this.checking = true
    const { client, signal, timeoutMs, onFailed } = this.init
    const options = { signal, timeout: timeoutMs }
    const check = client.getProtocolEra() === 'modern' ? client.discover(options) : client.ping(options)
    check.then(() => {
      this.checking = false
    }, (err: unknown) => {
      this.checking = false
      onFailed(err)
    })
  }
}
