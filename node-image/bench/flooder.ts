/**
 * A pre-handshake connection flooder for a libp2p TCP port on loopback: "nonce-only"
 * connections (connect, send 24 random bytes, close), each from its own source address,
 * and "silent" ones that connect and send nothing. The flood that crashed nodes on
 * `@libp2p/pnet` 3.0.27. Used by `npm run bench -- flood` (flood.ts) and by
 * node-image/test/mesh/psk-flood.test.ts.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'

export interface FloodInit {
  /** The target's TCP port on 127.0.0.1. */
  port: number
  /** Nonce-only connections: connect, send 24 random bytes, close. */
  connections: number
  /** Connections that send nothing and stay open until the target drops them (or `silentHoldMs` passes). */
  silent?: number
  /**
   * The silent ones open all at once when this many nonce-only connections have started
   * (default 0: first). While the target holds them, its pending-handshake slots are full
   * and it refuses every new connection, so a burst at the start would turn most of the
   * flood into cheap refusals that never reach the PSK stage.
   */
  silentAfter?: number
  /** A silent socket closes itself after this long (default 15 s, past the node's 5 s handshake timeout). */
  silentHoldMs?: number
  /** Nonce-only sockets in flight at once; bounded so the flooder is not the bottleneck. */
  concurrency?: number
  /** Source addresses: nonce-only from 127.<net>.0.0/16, silent from 127.<net+1>.0.0/16 (default 1). */
  sourceNet?: number
  /** Stops the flood; open sockets are destroyed. */
  signal?: AbortSignal
}

export interface FloodResult {
  /** Nonce-only connections started. */
  attempted: number
  /** The target sent its own 24-byte nonce back: the connection reached the PSK stage. */
  answered: number
  /** TCP connected, then closed by the target without a byte (refused by a limit), or no answer in 10 s. */
  dropped: number
  /** Never connected: refused, reset, or the handshake lost in a full accept queue for 10 s. */
  failed: number
  /** Silent connections the target answered with its nonce, and how long each stayed open. */
  silent: { attempted: number, answered: number, heldMs: number[] }
  /** Until the last nonce-only connection closed. */
  nonceOnlyMs: number
  /** Until every socket closed (silent ones wait for the target's timeout). */
  elapsedMs: number
}

export interface Flood {
  /** Live counts while the flood runs. */
  progress: FloodResult
  /** Resolves once every socket has closed. */
  done: Promise<FloodResult>
}

type Outcome = 'answered' | 'dropped' | 'failed'

/** `127.<net>.<hi>.<lo>`: Linux accepts any 127/8 source on loopback without setup. */
const sourceAddress = (net: number, i: number): string => `127.${net}.${(i >> 8) & 255}.${i & 255}`

async function oneConnection (port: number, localAddress: string, payload: Uint8Array | undefined, holdMs: number, signal: AbortSignal | undefined): Promise<{ outcome: Outcome, ms: number }> {
  return await new Promise(resolve => {
    const started = Date.now()
    let got = 0
    let connected = false
    const socket = connect({ host: '127.0.0.1', port, localAddress })
    const destroy = (): void => { socket.destroy() }
    // The target closes a nonce-only socket at once and a silent one at its handshake
    // timeout. A socket whose handshake was lost in a full accept queue never hears back.
    const timer = setTimeout(destroy, holdMs)
    signal?.addEventListener('abort', destroy, { once: true })
    socket.on('connect', () => {
      connected = true
      // end(): FIN after the nonce, so the bytes arrive and this side keeps the TIME_WAIT.
      if (payload !== undefined) socket.end(payload)
    })
    socket.on('data', (chunk: Buffer) => { got += chunk.byteLength })
    socket.on('error', () => { /* the outcome is decided on 'close' */ })
    socket.on('close', () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', destroy)
      resolve({ outcome: got >= 24 ? 'answered' : connected ? 'dropped' : 'failed', ms: Date.now() - started })
    })
  })
}

/** Floods 127.0.0.1:`port`; the connections of each kind come from distinct source addresses. */
export function startFlood (init: FloodInit): Flood {
  const started = performance.now()
  const net = init.sourceNet ?? 1
  const progress: FloodResult = { attempted: 0, answered: 0, dropped: 0, failed: 0, silent: { attempted: 0, answered: 0, heldMs: [] }, nonceOnlyMs: 0, elapsedMs: 0 }
  const silentAfter = Math.min(init.silentAfter ?? 0, init.connections)
  let silent: Array<Promise<void>> | undefined
  const openSilent = (): void => {
    silent = Array.from({ length: init.silent ?? 0 }, async (_x, i) => {
      progress.silent.attempted++
      const { outcome, ms } = await oneConnection(init.port, sourceAddress(net + 1, i), undefined, init.silentHoldMs ?? 15_000, init.signal)
      if (outcome === 'answered') {
        progress.silent.answered++
        progress.silent.heldMs.push(ms)
      }
    })
  }
  if (silentAfter === 0) openSilent()
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < init.connections && init.signal?.aborted !== true) {
      const i = next++
      if (i === silentAfter && silent === undefined) openSilent()
      progress.attempted++
      const { outcome } = await oneConnection(init.port, sourceAddress(net, i), randomBytes(24), 10_000, init.signal)
      progress[outcome]++
    }
  }
  const done = Promise.all(Array.from({ length: init.concurrency ?? 256 }, worker)).then(async () => {
    progress.nonceOnlyMs = performance.now() - started
    if (silent === undefined && init.signal?.aborted !== true) openSilent()
    await Promise.all(silent ?? [])
    progress.elapsedMs = performance.now() - started
    return progress
  })
  return { progress, done }
}

/** A field of /proc/<pid>/status in bytes (VmRSS: resident now; VmHWM: peak resident). */
export function procStatusBytes (pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (m === null) throw new Error(`no ${field} in /proc/${pid}/status`)
  return Number(m[1]) * 1024
}
