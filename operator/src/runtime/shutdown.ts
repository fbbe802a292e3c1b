// Graceful shutdown on SIGTERM/SIGINT: the kubelet sends SIGTERM and waits
// terminationGracePeriodSeconds (30 s by default) before SIGKILL. Stopping in time matters for
// leader election: a released Lease lets the standby take over at once instead of after a full
// leaseDuration.
import { silentLogger, type Logger } from './logger.ts'

export interface ShutdownInit {
  /** Give up waiting for `stop` after this long and exit 1; default 25 s (inside the kubelet's 30 s). */
  timeoutMs?: number
  signals?: NodeJS.Signals[]
  logger?: Logger
  /** Default process.exit (tests substitute it). */
  exit?: (code: number) => void
}

/**
 * Calls `stop` on the first signal and exits 0 when it resolves (1 if it fails or times out);
 * a second signal exits 1 at once. Returns a function that removes the handlers.
 */
export function onShutdownSignals (stop: () => Promise<void>, init: ShutdownInit = {}): () => void {
  const log = (init.logger ?? silentLogger).child({ component: 'shutdown' })
  const exit = init.exit ?? ((code: number): void => { process.exit(code) })
  const timeoutMs = init.timeoutMs ?? 25_000
  const signals = init.signals ?? ['SIGTERM', 'SIGINT']
  let stopping = false
  const handler = (sig: NodeJS.Signals): void => {
    if (stopping) {
      log.warn('second signal; exiting now', { signal: sig })
      exit(1)
      return
    }
    stopping = true
    log.info('shutting down', { signal: sig, timeoutMs })
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timeout'>(resolve => { timer = setTimeout(() => { resolve('timeout') }, timeoutMs) })
    void Promise.race([stop().then(() => 'ok' as const), timedOut]).then(r => {
      clearTimeout(timer)
      if (r === 'ok') { log.info('stopped cleanly'); exit(0) } else { log.error('shutdown timed out', { timeoutMs }); exit(1) }
    }, (e: unknown) => {
      clearTimeout(timer)
      log.error('shutdown failed', { err: e })
      exit(1)
    })
  }
  for (const s of signals) process.on(s, handler)
  return () => { for (const s of signals) process.off(s, handler) }
}
