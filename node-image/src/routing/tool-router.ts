import { randomBytes } from 'node:crypto'
import { lengthPrefixed } from '../p2p/length-prefix.ts'
import type { Connection } from '@libp2p/interface'
import type { Messenger } from '../p2p/messenger.ts'
import { LruMap } from '../p2p/lru-map.ts'
import type { NodeMetrics } from '../metrics/node-metrics.ts'
import type { LogFn } from '../logging/json-logger.ts'
import { inSpan } from '../tracing/spans.ts'
import type { E2ECipher } from './e2e-cipher.ts'
import { callErrorFromCode, DeadlineExceededError, NodeUnreachableError, OutcomeUnknownError, ToolCallError, UnknownAgentError } from './errors.ts'
import { PeerConnector, type ConnectorLibp2p, type Reached } from './peer-connector.ts'
import type { FloodDelivery } from './flood-router.ts'
import { CallChannels } from './call-channel.ts'
import { encodeRequestPayload, traceText } from './call-channel-crypto.ts'
import { currentTraceCarrier } from '../tracing/trace-context.ts'
import { callAad, encodeJson, FRAME_EVENT, MalformedCallError, MODE_E2E, MODE_PLAIN, parseEvent, parseResponse, splitKind, splitMode, withMode, type WireRequest } from './tool-call-wire.ts'
import { formatTarget, type AgentTarget, type CallContext, type CallEvent, type CallOptions, type CallResult, type MeshCaller, type Route, type WireOp } from './types.ts'

/** What a local agent call may bring besides its params. */
export interface LocalCallOptions {
  context?: CallContext
  onEvent?: (event: CallEvent) => void
  /** The caller's session with the agent (SESSION_OPS), and the peer that named it. */
  session?: string
  caller?: string
}

/** What the router needs from the node's own agent runtime. */
export interface LocalAgents {
  call: (agentId: string, op: WireOp, params: Record<string, unknown>, signal: AbortSignal, opts?: LocalCallOptions) => Promise<Record<string, unknown>>
}

export type EncryptionPolicy = 'required' | 'preferred' | 'off'

export interface ToolRouterComponents {
  libp2p: ConnectorLibp2p
  messenger: Messenger
  cipher: E2ECipher
  registry: { has: (nodeId: string, agentId: string) => boolean }
  local: LocalAgents
  /** Waits until the node has admitted us: the membership handshake is done both ways. */
  membership: { whenVerified: (peer: string, signal: AbortSignal) => Promise<void> }
  metrics: NodeMetrics
  log: LogFn
  /** The flood route, tried when no direct or relayed path reaches a node; absent when it is off. */
  flood?: FloodCaller
}

export interface FloodCaller {
  readonly maxHops: number
  /** `onSent` runs before the first copy goes out: from then on the target may have run the call. */
  call: (target: string, envelope: Uint8Array, signal: AbortSignal, deadline: number, onSent?: () => void) => Promise<FloodDelivery>
  probe: (target: string, signal: AbortSignal, deadline: number) => Promise<{ hops: number }>
}

/** How the `mesh` agent's route tool explains a path. */
export interface Reach {
  route: Route
  remoteAddr?: string
  hops?: number
}

/** With a flood route to fall back on, dials and relays get this share of the time left. */
const CONNECT_SHARE = 0.5
/** How long a node reached only by flood is flooded at once, without dialling first. */
const FLOOD_MEMORY_MS = 60_000
const FLOOD_MEMORY_NODES = 1024

export interface ToolRouterInit {
  selfId: string
  network: string
  protocol: string
  encryption: EncryptionPolicy
  /** Longest any call may take; callers may only shorten it. */
  timeoutMs: number
  /** Largest request JSON sent. */
  maxBytes: number
  /** Concurrent calls to one node over one connection. */
  maxStreams: number
  /** The warm call channel's protocol (call-channel.ts); without it every call opens its own stream. */
  channelProtocol?: string
}

/**
 * Caller side of mesh routing: resolves `<nodeId>:<agentId>`, reaches the node
 * (direct, DHT, relay), and runs one encrypted request/response per stream; or,
 * when nothing reaches it, hands the same sealed request to the flood route.
 * A failure before the request is written (or the flood's first copy sent) is
 * node-unreachable: the call did not run. After that, a lost answer is outcome-unknown.
 */
export class ToolRouter implements MeshCaller {
  private readonly components: ToolRouterComponents
  private readonly init: ToolRouterInit
  private readonly connector: PeerConnector
  private readonly aad: Uint8Array
  /** Nodes the connector last failed to reach -> until when to flood them at once. */
  private readonly floodFirst = new LruMap<string, number>(FLOOD_MEMORY_NODES)
  private readonly channels?: CallChannels

  constructor (components: ToolRouterComponents, init: ToolRouterInit) {
    this.components = components
    this.init = init
    this.connector = new PeerConnector({ libp2p: components.libp2p })
    this.aad = callAad(init.network)
    if (init.channelProtocol !== undefined) {
      this.channels = new CallChannels(components, { selfId: init.selfId, network: init.network, protocol: init.channelProtocol, maxCalls: init.maxStreams })
    }
  }

  /** How a call to `nodeId` would travel now (the `mesh` agent's route tool). */
  async reach (nodeId: string, signal: AbortSignal): Promise<Reach> {
    if (nodeId === this.init.selfId) return { route: 'local' }
    const deadline = Date.now() + this.init.timeoutMs
    const path = await this.path(nodeId, signal, deadline, false)
    if ('connection' in path) return { route: path.route, remoteAddr: path.connection.remoteAddr.toString() }
    try {
      const { hops } = await this.floodRoute().probe(nodeId, signal, deadline)
      return { route: 'flood', hops }
    } catch (err) {
      throw this.floodFailed(nodeId, path.why, err)
    }
  }

  async call (target: AgentTarget, op: WireOp, params: Record<string, unknown>, opts: CallOptions = {}): Promise<CallResult> {
    const started = performance.now()
    const deadline = Math.floor(Math.min(opts.deadline ?? Number.POSITIVE_INFINITY, Date.now() + this.init.timeoutMs))
    // A session stream ends with its caller's session (its signal), not at a deadline; reaching the node still has one.
    const lasting = op === 'session/open'
    const signal = AbortSignal.any([...(opts.signal === undefined ? [] : [opts.signal]), ...(lasting ? [] : [AbortSignal.timeout(Math.max(0, deadline - Date.now()))])])
    let route: Route = target.nodeId === this.init.selfId ? 'local' : 'direct'
    let hops: number | undefined
    const record = (result: string): void => {
      const labels = { result, route }
      const seconds = (performance.now() - started) / 1000
      this.components.metrics.toolCalls.inc(labels)
      this.components.metrics.toolCallSeconds.observe(labels, seconds)
      // Audit: who called what and how it ended; never the arguments or the result.
      this.components.log('info', 'tool call', { audit: true, caller: opts.caller ?? 'local', target: formatTarget(target), op, subject: subjectOf(op, params), outcome: result, route, hops, durationMs: Math.round(seconds * 1000) })
    }
    try {
      const result = await inSpan(`dawn ${op}`, 'client', { 'dawn.target': formatTarget(target), 'dawn.op': op }, async span => {
        if (route === 'local') return await this.components.local.call(target.agentId, op, params, signal, { ...localOptions(opts), caller: this.init.selfId })
        const out = await this.remote(target, op, params, deadline, signal, opts, (r, h) => { route = r; hops = h })
        span.setAttribute('dawn.route', route)
        if (hops !== undefined) span.setAttribute('dawn.hops', hops)
        return out
      })
      // A tool that ran and reported failure is a success of the mesh, but the audit should say so.
      record(op === 'tools/call' && result.isError === true ? 'tool-error' : 'ok')
      return { result, route, ...(hops === undefined ? {} : { hops }) }
    } catch (err) {
      const failure = asCallError(err, signal, target)
      record(failure.code)
      throw failure
    }
  }

  private async remote (target: AgentTarget, op: WireOp, params: Record<string, unknown>, deadline: number, signal: AbortSignal, opts: CallOptions, onRoute: (r: Route, hops?: number) => void): Promise<Record<string, unknown>> {
    const { nodeId, agentId } = target
    if (!this.components.registry.has(nodeId, agentId)) throw new UnknownAgentError(`no agent ${formatTarget(target)} in the mesh registry`)
    const id = randomBytes(16).toString('hex')
    const request: WireRequest = {
      id, to: nodeId, agentId, op, params, deadline,
      ...(opts.context === undefined ? {} : { context: opts.context }),
      ...(opts.session === undefined ? {} : { session: opts.session })
    }
    const json = encodeJson(request)
    if (json.byteLength > this.init.maxBytes) throw new ToolCallError('too-large', `request is ${json.byteLength} bytes, limit ${this.init.maxBytes}`)
    // Only a direct or relayed stream carries events, so the request asks for them only there;
    // the flood route carries calls without a session (a session lives on its stream).
    const seal = (events: boolean, flood = false): { body: Uint8Array, openResponse?: (frame: Uint8Array) => Uint8Array, openEvent?: (frame: Uint8Array) => Uint8Array } => {
      const { session: _session, ...sessionless } = request
      const plain = events ? encodeJson({ ...request, events: true }) : flood && request.session !== undefined ? encodeJson(sessionless) : json
      if (this.init.encryption === 'off') return { body: withMode(MODE_PLAIN, plain) }
      const sealed = this.components.cipher.sealRequest(nodeId, plain, this.aad)
      return { body: withMode(MODE_E2E, sealed.frame), openResponse: sealed.openResponse, openEvent: sealed.openEvent }
    }
    const { messenger } = this.components

    const path = await this.path(nodeId, signal, deadline, opts.noFlood === true)
    let body: Uint8Array
    let openResponse: ((frame: Uint8Array) => Uint8Array) | undefined
    if ('connection' in path) {
      onRoute(path.route)
      const sealed = seal(opts.onEvent !== undefined)
      openResponse = sealed.openResponse
      // A new connection carries our call only once the node has admitted us; it would reset the stream unread before that.
      await this.components.membership.whenVerified(nodeId, signal)
      const events = opts.onEvent === undefined ? undefined : this.eventReader(id, nodeId, sealed.openEvent, opts.onEvent)
      // A direct connection carries calls on a warm channel; a relayed one, and a session stream, on a signed stream of their own.
      const channel = path.route === 'direct' && op !== 'session/open' ? await this.channels?.get(nodeId, path.connection, signal) : undefined
      if (channel !== undefined) {
        body = await channel.call(Buffer.from(id, 'hex'), encodeRequestPayload(Date.now(), traceText(currentTraceCarrier()), sealed.body), signal, events)
      } else {
        const eventEnvelopes = events === undefined ? undefined : (envelope: Uint8Array): void => { events(this.openEvent(envelope, nodeId)) }
        const reply = await this.exchange(path.connection, messenger.seal('toolcall.request', sealed.body), signal, nodeId, eventEnvelopes)
        const result = messenger.tryOpen(reply, { type: 'toolcall.response', from: nodeId }, nodeId)
        if ('reason' in result) throw new ToolCallError('rejected', `response from ${nodeId} refused: ${result.reason}`)
        body = result.envelope.body
      }
    } else {
      onRoute('flood')
      if (op === 'session/open') throw new NodeUnreachableError(`node ${nodeId} is reached by the flood route only, which carries no session stream`)
      const sealed = seal(false, true)
      openResponse = sealed.openResponse
      let sent = false
      try {
        const delivered = await this.floodRoute().call(nodeId, messenger.seal('toolcall.request', sealed.body), signal, deadline, () => { sent = true })
        onRoute('flood', delivered.hops)
        body = delivered.reply.body
      } catch (err) {
        throw this.floodFailed(nodeId, path.why, err, sent)
      }
    }
    const { mode, payload } = splitMode(body)
    // A plaintext answer to an encrypted request can only be a refusal (the node
    // could not decrypt); it carries no result, so accept it as an error only.
    const response = parseResponse(mode === MODE_E2E && openResponse !== undefined ? openResponse(payload) : payload)
    if (response.id !== id && !(mode === MODE_PLAIN && !response.ok)) throw new ToolCallError('rejected', `response from ${nodeId} answers another request`)
    if (!response.ok) throw callErrorFromCode(response.code, response.message, response.rpcCode)
    if (mode === MODE_PLAIN && openResponse !== undefined) throw new ToolCallError('rejected', `result from ${nodeId} arrived unencrypted`)
    return response.result
  }

  /**
   * A connection to the node (direct, DHT, relay), or the flood route when none
   * can be had. With the flood route on, the connector gets only a share of the
   * time, and a node it failed to reach is flooded at once for a while.
   */
  private async path (nodeId: string, signal: AbortSignal, deadline: number, noFlood: boolean): Promise<Reached | { route: 'flood', why: string }> {
    const open = this.connector.openDirect(nodeId)
    if (open !== undefined) {
      // remembersFlood() would forget the node now anyway: a connection beats the flood.
      this.floodFirst.delete(nodeId)
      return open
    }
    if (this.components.flood === undefined) return await this.connector.connect(nodeId, signal, deadline)
    const floodOr = (why: string): { route: 'flood', why: string } => {
      if (noFlood) throw new NodeUnreachableError(`no direct or relayed path to ${nodeId} (${why}); not flooding while another replica is left`)
      return { route: 'flood', why }
    }
    if (this.remembersFlood(nodeId)) return floodOr('no direct or relayed path on the last try')
    const shareMs = Math.max(50, Math.floor((deadline - Date.now()) * CONNECT_SHARE))
    const share = AbortSignal.any([signal, AbortSignal.timeout(shareMs)])
    try {
      return await this.connector.connect(nodeId, share, Date.now() + shareMs)
    } catch (err) {
      signal.throwIfAborted()
      if (!(err instanceof NodeUnreachableError) && !share.aborted) throw err
      this.floodFirst.set(nodeId, Date.now() + FLOOD_MEMORY_MS)
      return floodOr(share.aborted ? `no direct or relayed path within ${shareMs} ms` : (err as Error).message)
    }
  }

  private remembersFlood (nodeId: string): boolean {
    const until = this.floodFirst.get(nodeId)
    if (until === undefined) return false
    // A connection that opened since (the node dialled us, a partition healed) beats the flood.
    const open = this.components.libp2p.getConnections().some(c => c.status === 'open' && c.remotePeer.toString() === nodeId)
    if (until > Date.now() && !open) return true
    this.floodFirst.delete(nodeId)
    return false
  }

  /** path() returns a flood path only when the flood route is on. */
  private floodRoute (): FloodCaller {
    const flood = this.components.flood
    if (flood === undefined) throw new Error('the flood route is off')
    return flood
  }

  /** `sent`: a copy of the call went out, so a member may have carried it to the target. */
  private floodFailed (nodeId: string, why: string, err: unknown, sent = false): unknown {
    this.floodFirst.delete(nodeId)
    if (!(err instanceof NodeUnreachableError)) return err
    if (sent) return new OutcomeUnknownError(`the flood to ${nodeId} carried no reply back; the call may have run there (${why}; flood route: ${err.message})`, { cause: err, nodeId })
    return new NodeUnreachableError(`node ${nodeId} is unreachable: ${why}; flood route: ${err.message}`, { cause: err })
  }

  /**
   * Opens, checks and delivers the event frames of one call. A bad event ends the call:
   * the host is a member that misbehaved, and its response can no longer be trusted.
   */
  private eventReader (id: string, nodeId: string, openEvent: ((frame: Uint8Array) => Uint8Array) | undefined, onEvent: (event: CallEvent) => void): (body: Uint8Array) => void {
    let seq = 0
    return (body) => {
      const { mode, payload } = splitMode(body)
      if ((mode === MODE_E2E) !== (openEvent !== undefined)) throw new ToolCallError('rejected', `event from ${nodeId} is not sealed like the call`)
      const event = parseEvent(openEvent === undefined ? payload : openEvent(payload))
      if (event.id !== id || event.seq !== seq + 1) throw new ToolCallError('rejected', `event from ${nodeId} is out of order or for another call`)
      seq = event.seq
      const { id: _call, seq: _seq, ...delivered } = event
      onEvent(delivered)
    }
  }

  /** The body of a signed event envelope from `nodeId` (a per-call stream's). */
  private openEvent (envelope: Uint8Array, nodeId: string): Uint8Array {
    const opened = this.components.messenger.tryOpen(envelope, { type: 'toolcall.event', from: nodeId }, nodeId)
    if ('reason' in opened) throw new ToolCallError('rejected', `event from ${nodeId} refused: ${opened.reason}`)
    return opened.envelope.body
  }

  private async exchange (connection: Connection, envelope: Uint8Array, signal: AbortSignal, nodeId: string, onEvent?: (envelope: Uint8Array) => void): Promise<Uint8Array> {
    const stream = await connection.newStream(this.init.protocol, { signal, runOnLimitedConnection: true, maxOutboundStreams: this.init.maxStreams, negotiateFully: false })
      .catch((err: unknown) => { throw signal.aborted ? err : new NodeUnreachableError(`cannot open a call stream to ${nodeId}: ${(err as Error).message}`, { cause: err }) })
    // Set before the write: a write that fails may still have delivered the request.
    let sent = false
    try {
      const lp = lengthPrefixed(stream, this.components.messenger.maxBytesFor('toolcall.response') + 1)
      sent = true
      await lp.write(envelope, { signal })
      for (;;) {
        const { kind, envelope: reply } = splitKind((await lp.read({ signal })).subarray())
        if (kind === FRAME_EVENT) {
          if (onEvent === undefined) throw new MalformedCallError('event frame on a call that asked for none')
          onEvent(reply)
          continue
        }
        await stream.close({ signal }).catch(() => {})
        return reply
      }
    } catch (err) {
      stream.abort(err as Error)
      if (signal.aborted || err instanceof ToolCallError) throw err
      if (err instanceof MalformedCallError) throw new ToolCallError('rejected', `call stream from ${nodeId}: ${err.message}`)
      if (sent) throw new OutcomeUnknownError(`call stream to ${nodeId} ended without a response after the request was sent; the call may have run there: ${(err as Error).message}`, { cause: err, nodeId })
      throw new NodeUnreachableError(`call stream to ${nodeId} failed: ${(err as Error).message}`, { cause: err })
    }
  }
}

function localOptions (opts: CallOptions): LocalCallOptions {
  return {
    ...(opts.context === undefined ? {} : { context: opts.context }),
    ...(opts.onEvent === undefined ? {} : { onEvent: opts.onEvent }),
    ...(opts.session === undefined ? {} : { session: opts.session })
  }
}

export function subjectOf (op: WireOp, params: Record<string, unknown>): string {
  // A completion names what it completes: the prompt, or the resource (template).
  const ref = op === 'completion/complete' && typeof params.ref === 'object' && params.ref !== null ? params.ref as Record<string, unknown> : undefined
  const value = ref !== undefined ? ref.name ?? ref.uri : params[op === 'resources/read' ? 'uri' : 'name']
  return typeof value === 'string' ? value.slice(0, 256) : ''
}

/** Every failure leaves the router as a ToolCallError naming its cause. */
function asCallError (err: unknown, signal: AbortSignal, target: AgentTarget): ToolCallError {
  if (err instanceof ToolCallError) return err
  if (signal.aborted) return new DeadlineExceededError(`call to ${formatTarget(target)} ran past its deadline`)
  return new ToolCallError('rejected', `call to ${formatTarget(target)} failed: ${(err as Error).message}`)
}
