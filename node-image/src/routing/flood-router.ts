import { randomBytes } from 'node:crypto'
import type { Messenger } from '../p2p/messenger.ts'
import type { OpenedEnvelope } from '../p2p/envelope.ts'
import { NodeUnreachableError, ToolCallError } from './errors.ts'
import { fanOut, openFloodReply, type FanOutLibp2p, type MissTally } from './flood-fan-out.ts'
import { encodeFloodBody, encodeRequestFrame, PROBE_TAG_BYTES, type FloodBody } from './flood-wire.ts'

export interface FloodRouterComponents {
  libp2p: FanOutLibp2p
  messenger: Messenger
  /** Members that proved membership both ways: the first hops. */
  peers: () => string[]
}

export interface FloodRouterInit {
  protocol: string
  /** Signed into every flood this node sends: the most hops it may travel. */
  maxHops: number
  maxFrameBytes: number
}

export interface FloodDelivery {
  /** The target's `toolcall.response` envelope, opened and verified. */
  reply: OpenedEnvelope
  /** Hops the request travelled, as the target counted them. */
  hops: number
}

/**
 * Caller side of the flood route: signs the call's `toolcall.request` envelope,
 * unchanged, into a flood frame, sends it to every verified member and takes the
 * first reply the target signed.
 */
export class FloodRouter {
  private readonly components: FloodRouterComponents
  private readonly init: FloodRouterInit

  constructor (components: FloodRouterComponents, init: FloodRouterInit) {
    this.components = components
    this.init = init
  }

  get maxHops (): number {
    return this.init.maxHops
  }

  /**
   * Carries a sealed `toolcall.request` envelope to `target`; throws NodeUnreachableError when no
   * member brings a reply back. `onSent` runs before the first copy is written to a neighbour:
   * only a failure before it proves the call never left this node.
   */
  async call (target: string, envelope: Uint8Array, signal: AbortSignal, deadline: number, onSent?: () => void): Promise<FloodDelivery> {
    return await this.send({ kind: 'call', target, payload: envelope }, signal, deadline, onSent)
  }

  /** Whether a flood reaches `target` now, and in how many hops (the `mesh` agent's route tool). */
  async probe (target: string, signal: AbortSignal, deadline: number): Promise<{ hops: number }> {
    const { hops } = await this.send({ kind: 'probe', target, payload: randomBytes(PROBE_TAG_BYTES) }, signal, deadline)
    return { hops }
  }

  private async send (what: Pick<FloodBody, 'kind' | 'target' | 'payload'>, signal: AbortSignal, deadline: number, onSent?: () => void): Promise<FloodDelivery> {
    const { messenger } = this.components
    const body: FloodBody = { ...what, maxHops: this.init.maxHops, deadline }
    const frame = encodeRequestFrame(1, messenger.seal('flood.request', encodeFloodBody(body)))
    if (frame.byteLength > this.init.maxFrameBytes) {
      throw new ToolCallError('too-large', `request is ${frame.byteLength} bytes as a flood frame, limit ${this.init.maxFrameBytes}`)
    }
    const peers = this.components.peers()
    const first = peers.includes(what.target) ? [what.target] : peers
    if (first.length === 0) throw new NodeUnreachableError(`no verified member to carry a flood to ${what.target}`)
    const result = await fanOut(this.components.libp2p, { protocol: this.init.protocol, maxReplyBytes: this.init.maxFrameBytes }, {
      peers: first,
      frame,
      signal,
      accept: reply => openFloodReply(messenger, body, reply, what.target),
      ...(onSent === undefined ? {} : { onSend: onSent })
    })
    signal.throwIfAborted()
    if (result.found !== undefined) return { reply: result.found, hops: result.hops }
    throw new NodeUnreachableError(`no member carried the flood to ${what.target} within ${this.init.maxHops} hops (${describe(result.misses)})`)
  }
}

function describe (misses: Partial<Record<MissTally, number>>): string {
  const parts = Object.entries(misses).map(([reason, n]) => `${n} ${reason}`)
  return parts.length === 0 ? 'no answer' : parts.join(', ')
}
