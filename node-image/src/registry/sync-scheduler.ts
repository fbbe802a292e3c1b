/**
 * Decides when a sync session with a peer runs: at most one per peer at a
 * time (a request during one queues exactly one more, which the caller can
 * await), sessions a peer triggers start no sooner than `minGapMs` after the
 * last one with it ended, and at most `maxConcurrent` run at once.
 */
import { LruMap } from '../p2p/lru-map.ts'

export type SessionRunner = (peer: string, signal: AbortSignal) => Promise<void>

export interface SyncSchedulerInit {
  minGapMs: number
  maxConcurrent: number
  /** Peers with state kept; the map is keyed by peer ids, so it is bounded. */
  maxPeers?: number
}

interface Deferred { promise: Promise<void>, resolve: () => void }

interface PeerState {
  running?: Promise<void>
  /** one more session after the running one (or the timer), shared by everyone who asked */
  again?: Deferred
  timer?: NodeJS.Timeout
  lastEnd: number
}

function deferred (): Deferred {
  let resolve = (): void => {}
  const promise = new Promise<void>(r => { resolve = r })
  return { promise, resolve }
}

export class SyncScheduler {
  private readonly runner: SessionRunner
  private readonly init: SyncSchedulerInit
  private readonly peers: LruMap<string, PeerState>
  private readonly controller = new AbortController()
  private active = 0
  private readonly waiting: Array<() => void> = []

  constructor (runner: SessionRunner, init: SyncSchedulerInit) {
    this.runner = runner
    this.init = init
    this.peers = new LruMap(init.maxPeers ?? 1024)
  }

  /** Runs a session with `peer` now, or right after the one already running; resolves when it has run. */
  async now (peer: string): Promise<void> {
    const st = this.state(peer)
    if (st.timer !== undefined) {
      // A delayed session was waiting: run it now instead.
      clearTimeout(st.timer)
      st.timer = undefined
      const again = st.again
      st.again = undefined
      await this.start(peer, st)
      again?.resolve()
      return
    }
    if (st.running !== undefined) return await this.queueAgain(st)
    await this.start(peer, st)
  }

  /** Like now(), but no sooner than minGapMs after the last session with `peer` ended. */
  soon (peer: string): void {
    const st = this.state(peer)
    if (st.running !== undefined) {
      void this.queueAgain(st)
      return
    }
    if (st.timer !== undefined) return
    const wait = st.lastEnd + this.init.minGapMs - Date.now()
    if (wait <= 0) {
      void this.start(peer, st)
      return
    }
    const again = deferred()
    st.again = again
    st.timer = setTimeout(() => {
      st.timer = undefined
      st.again = undefined
      void this.start(peer, st).then(again.resolve)
    }, wait)
    st.timer.unref()
  }

  stop (): void {
    this.controller.abort(new Error('registry sync stopped'))
    for (const [, st] of this.peers.entries()) {
      clearTimeout(st.timer)
      st.again?.resolve()
    }
    for (const wake of this.waiting.splice(0)) wake()
  }

  private state (peer: string): PeerState {
    let st = this.peers.get(peer)
    if (st === undefined) {
      st = { lastEnd: 0 }
      this.peers.set(peer, st)
    }
    return st
  }

  private async queueAgain (st: PeerState): Promise<void> {
    st.again ??= deferred()
    await st.again.promise
  }

  private async start (peer: string, st: PeerState): Promise<void> {
    const run = (async () => {
      await this.slot()
      try {
        if (!this.controller.signal.aborted) await this.runner(peer, this.controller.signal)
      } catch {
        // The runner reports its own failures; a throw must not wedge this peer's queue.
      } finally {
        this.active--
        this.waiting.shift()?.()
        st.lastEnd = Date.now()
        st.running = undefined
      }
    })()
    st.running = run
    await run
    const again = st.again
    if (again !== undefined && st.timer === undefined && !this.controller.signal.aborted) {
      st.again = undefined
      void this.start(peer, st).then(again.resolve)
    }
  }

  private async slot (): Promise<void> {
    while (this.active >= this.init.maxConcurrent && !this.controller.signal.aborted) {
      await new Promise<void>(resolve => { this.waiting.push(resolve) })
    }
    this.active++
  }
}

/** What pull triggers need from the membership guard. */
export interface VerifiedPeerSource {
  verifiedPeers: () => string[]
  addEventListener: (type: 'peer:verified', listener: (evt: CustomEvent<string>) => void) => void
  removeEventListener: (type: 'peer:verified', listener: (evt: CustomEvent<string>) => void) => void
}

/**
 * When anti-entropy pulls: from every peer as it proves membership (a reconnection
 * after a partition included), and every `intervalMs` from one random verified peer.
 * The registry and the rooms share it.
 */
export class PullTriggers {
  private readonly guard: VerifiedPeerSource
  private readonly intervalMs: number
  private readonly pull: (peer: string) => void
  private timer?: NodeJS.Timeout

  constructor (guard: VerifiedPeerSource, intervalMs: number, pull: (peer: string) => void) {
    this.guard = guard
    this.intervalMs = intervalMs
    this.pull = pull
  }

  start (): void {
    this.guard.addEventListener('peer:verified', this.onVerified)
    this.timer = setInterval(() => {
      const peers = this.guard.verifiedPeers()
      const peer = peers[Math.floor(Math.random() * peers.length)]
      if (peer !== undefined) this.pull(peer)
    }, this.intervalMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    this.guard.removeEventListener('peer:verified', this.onVerified)
  }

  private readonly onVerified = (evt: CustomEvent<string>): void => {
    this.pull(evt.detail)
  }
}
