import { lengthPrefixed } from '../p2p/length-prefix.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2p } from 'libp2p'
import type { Messenger } from '../p2p/messenger.ts'
import type { OpenedEnvelope } from '../p2p/envelope.ts'
import { parseReply, type FloodBody, type FloodMissReason } from './flood-wire.ts'

export type FanOutLibp2p = Pick<Libp2p, 'getConnections'>

/** Why one neighbour gave no usable reply: its own answer, or what went wrong asking it. */
export type MissTally = FloodMissReason | 'bad-reply' | 'stream'

export interface FanOutInit {
  protocol: string
  /** Largest reply frame read from a neighbour. */
  maxReplyBytes: number
}

export interface FanOutRequest<T> {
  peers: string[]
  frame: Uint8Array
  signal: AbortSignal
  /** Checks a found reply's envelope; undefined refuses it and the fan-out waits for the others. */
  accept: (envelope: Uint8Array) => T | undefined
  /** Called with each frame just before it is sent. */
  onSend?: (peer: string, frame: Uint8Array) => void
}

export type FanOutResult<T> =
  | { found: T, from: string, hops: number, reply: Uint8Array }
  | { found: undefined, misses: Partial<Record<MissTally, number>> }

/**
 * Sends one flood frame to each neighbour on its own stream and takes the first
 * reply that passes `accept`; the other streams are then reset, which tells the
 * hops behind them to stop. Open streams are the way back: no route state is kept.
 */
export async function fanOut<T> (libp2p: FanOutLibp2p, init: FanOutInit, req: FanOutRequest<T>): Promise<FanOutResult<T>> {
  const stop = new AbortController()
  const signal = AbortSignal.any([req.signal, stop.signal])
  const misses: Partial<Record<MissTally, number>> = {}
  const tally = (reason: MissTally): void => { misses[reason] = (misses[reason] ?? 0) + 1 }
  try {
    return await new Promise<FanOutResult<T>>(resolve => {
      let pending = req.peers.length
      let done = false
      const settle = (): void => {
        pending--
        if (pending === 0 && !done) resolve({ found: undefined, misses })
      }
      if (pending === 0) resolve({ found: undefined, misses })
      for (const peer of req.peers) {
        ask(libp2p, init, peer, req, signal).then(reply => {
          if (done) return
          let parsed
          try {
            parsed = parseReply(reply)
          } catch {
            tally('bad-reply')
            settle()
            return
          }
          if (!parsed.found) {
            tally(parsed.reason)
          } else {
            const accepted = req.accept(parsed.envelope)
            if (accepted !== undefined) {
              done = true
              resolve({ found: accepted, from: peer, hops: parsed.hops, reply })
              return
            }
            tally('bad-reply')
          }
          settle()
        }).catch(() => {
          if (done) return
          tally(signal.aborted ? 'deadline' : 'stream')
          settle()
        })
      }
    })
  } finally {
    stop.abort(new Error('the flood was answered'))
  }
}

async function ask<T> (libp2p: FanOutLibp2p, init: FanOutInit, peer: string, req: FanOutRequest<T>, signal: AbortSignal): Promise<Uint8Array> {
  const connection = libp2p.getConnections(peerIdFromString(peer)).find(c => c.status === 'open')
  if (connection === undefined) throw new Error(`not connected to ${peer}`)
  const stream = await connection.newStream(init.protocol, { signal, runOnLimitedConnection: true, negotiateFully: false })
  try {
    const lp = lengthPrefixed(stream, init.maxReplyBytes)
    req.onSend?.(peer, req.frame)
    await lp.write(req.frame, { signal })
    const reply = await lp.read({ signal })
    void stream.close({ signal }).catch((err: unknown) => { stream.abort(err as Error) })
    return reply.subarray()
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/**
 * Opens a found reply: the target's signed `toolcall.response` to a call, or its
 * signed `flood.pong` repeating a probe's tag. Undefined when it is neither.
 */
export function openFloodReply (messenger: Messenger, body: Pick<FloodBody, 'kind' | 'target' | 'payload'>, envelope: Uint8Array, source: string): OpenedEnvelope | undefined {
  const type = body.kind === 'call' ? 'toolcall.response' : 'flood.pong'
  const opened = messenger.open(envelope, { type, from: body.target }, source)
  if (opened === undefined) return undefined
  if (body.kind === 'probe' && Buffer.compare(opened.body, body.payload) !== 0) return undefined
  return opened
}
