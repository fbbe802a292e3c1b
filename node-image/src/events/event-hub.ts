/**
 * The node's live events, fanned out to the page's event streams (http/event-routes.ts).
 * Bounded everywhere: a ring of recent events (by count and bytes) for resumption, a cap on
 * subscribers, and a per-subscriber write high-water mark. Each subscriber reads the ring
 * through its own cursor: past the mark it is paused until its socket drains, and once the
 * ring has moved past its cursor (it would miss events) it is dropped. So a resuming client
 * can replay a backlog larger than the mark, and no subscriber holds more than the mark.
 *
 * Ids are `<bootId>-<n>`, n counting from 1 per process. A subscriber resuming from an id
 * this hub cannot continue from (another boot, too old, unknown) first gets a `reset` event,
 * whose id is the latest one, so the page knows to reload its state.
 */
import { randomBytes } from 'node:crypto'

/** Where a subscriber's frames go (an HTTP response, in the route). */
export interface EventSink {
  /** Writes SSE text; the hub stops writing past the high-water mark until `drained()`. */
  write: (text: string) => void
  /** Bytes written but not yet flushed to the peer (a response's `writableLength`). */
  buffered: () => number
  /** Ends the stream; called once, when the hub drops or closes the subscriber. */
  close: (reason: DropReason) => void
}

export type DropReason = 'slow' | 'stopped' | 'closed'

export interface Subscription {
  /** Call when the sink has flushed (a response's `drain`): writing resumes. */
  drained: () => void
  /** Unsubscribes without calling the sink's close (the client went away). */
  unsubscribe: () => void
}

export interface SubscribeOptions {
  /** The `Last-Event-ID` the client sent, if any. */
  lastEventId?: string
  /** Written first, without an id, so it does not move the client's resume point. */
  greeting?: { type: string, data: unknown }
}

export interface EventHubInit {
  /** Random per process unless given (tests). */
  bootId?: string
  /** Events kept for resumption (default 2,000). */
  ringSize?: number
  /** Bytes of serialized events kept for resumption (default 16 MiB); the oldest go first. */
  ringMaxBytes?: number
  /** Largest serialized event (default 64 KiB). */
  maxEventBytes?: number
  /** Subscribers at once (default 64). */
  maxSubscribers?: number
  /** Unflushed bytes past which a subscriber is paused (default 1 MiB). */
  highWaterBytes?: number
  /** How often every subscriber gets a `: ping` comment (default 15 s). */
  pingIntervalMs?: number
  /** Told when a subscriber is dropped as slow. */
  onDrop?: (reason: DropReason) => void
}

export const DEFAULT_RING_SIZE = 2_000
export const DEFAULT_RING_MAX_BYTES = 16 * 1024 * 1024
export const DEFAULT_MAX_EVENT_BYTES = 64 * 1024
export const DEFAULT_MAX_SUBSCRIBERS = 64
export const DEFAULT_HIGH_WATER_BYTES = 1024 * 1024
export const DEFAULT_PING_INTERVAL_MS = 15_000

/** Event types are a line of their own in the stream: no spaces, no line breaks. */
const EVENT_TYPE = /^[a-z][a-z0-9._-]{0,63}$/
const PING = ': ping\n\n'

export class TooManySubscribersError extends Error {
  constructor (max: number) {
    super(`the node serves at most ${max} event streams at once`)
    this.name = 'TooManySubscribersError'
  }
}

export class EventHubStoppedError extends Error {
  constructor () {
    super('the event hub is not running')
    this.name = 'EventHubStoppedError'
  }
}

export class InvalidEventError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'InvalidEventError'
  }
}

interface RingEvent { seq: number, frame: string }

interface Subscriber {
  sink: EventSink
  /** The last event written to it. */
  cursor: number
}

export class EventHub {
  readonly bootId: string
  private readonly ringSize: number
  private readonly ringMaxBytes: number
  private readonly maxEventBytes: number
  readonly maxSubscribers: number
  private readonly highWaterBytes: number
  private readonly pingIntervalMs: number
  private readonly onDrop: (reason: DropReason) => void
  private readonly ring: RingEvent[] = []
  private ringBytes = 0
  private seq = 0
  private readonly subscribers = new Set<Subscriber>()
  private pinger?: NodeJS.Timeout
  private running = false

  constructor (init: EventHubInit = {}) {
    this.bootId = init.bootId ?? randomBytes(6).toString('hex')
    if (!/^[A-Za-z0-9]{1,32}$/.test(this.bootId)) throw new InvalidEventError('a boot id is 1-32 letters and digits')
    this.ringSize = init.ringSize ?? DEFAULT_RING_SIZE
    this.ringMaxBytes = init.ringMaxBytes ?? DEFAULT_RING_MAX_BYTES
    this.maxEventBytes = init.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES
    this.maxSubscribers = init.maxSubscribers ?? DEFAULT_MAX_SUBSCRIBERS
    this.highWaterBytes = init.highWaterBytes ?? DEFAULT_HIGH_WATER_BYTES
    this.pingIntervalMs = init.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS
    this.onDrop = init.onDrop ?? (() => {})
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.pinger = setInterval(() => { this.ping() }, this.pingIntervalMs)
    this.pinger.unref()
  }

  /** Ends every stream; events published while stopped are dropped. */
  stop (): void {
    this.running = false
    clearInterval(this.pinger)
    this.pinger = undefined
    for (const sub of [...this.subscribers]) this.drop(sub, 'stopped')
  }

  /** The id of the latest event (`<bootId>-0` before the first). */
  get lastEventId (): string {
    return `${this.bootId}-${this.seq}`
  }

  get subscriberCount (): number {
    return this.subscribers.size
  }

  /**
   * Sends an event to every subscriber and keeps it for resumption. Throws
   * InvalidEventError for a malformed type or an event over the size limit.
   */
  publish (type: string, data: unknown): void {
    if (!EVENT_TYPE.test(type)) throw new InvalidEventError(`invalid event type ${JSON.stringify(type.slice(0, 80))}`)
    if (!this.running) return
    // JSON text has no raw line breaks, so one data line carries it.
    const json = JSON.stringify(data ?? null)
    const seq = this.seq + 1
    const frame = `id: ${this.bootId}-${seq}\nevent: ${type}\ndata: ${json}\n\n`
    if (frame.length > this.maxEventBytes) throw new InvalidEventError(`event ${type} is ${frame.length} bytes; the limit is ${this.maxEventBytes}`)
    this.seq = seq
    this.ring.push({ seq, frame })
    this.ringBytes += frame.length
    while (this.ring.length > this.ringSize || this.ringBytes > this.ringMaxBytes) {
      const old = this.ring.shift()
      if (old !== undefined) this.ringBytes -= old.frame.length
    }
    for (const sub of [...this.subscribers]) this.pump(sub)
  }

  /**
   * Adds a subscriber: writes the greeting, then the events after `lastEventId` (or a
   * `reset` when they cannot be replayed), then live events. Throws
   * TooManySubscribersError or EventHubStoppedError, having written nothing.
   */
  subscribe (sink: EventSink, opts: SubscribeOptions = {}): Subscription {
    if (!this.running) throw new EventHubStoppedError()
    if (this.subscribers.size >= this.maxSubscribers) throw new TooManySubscribersError(this.maxSubscribers)
    if (opts.greeting !== undefined && !EVENT_TYPE.test(opts.greeting.type)) throw new InvalidEventError('invalid greeting type')
    const sub: Subscriber = { sink, cursor: this.seq }
    this.subscribers.add(sub)
    if (opts.greeting !== undefined) sink.write(`event: ${opts.greeting.type}\ndata: ${JSON.stringify(opts.greeting.data ?? null)}\n\n`)
    if (opts.lastEventId !== undefined) {
      const from = this.resumePoint(opts.lastEventId)
      if (typeof from === 'string') {
        sink.write(`id: ${this.lastEventId}\nevent: reset\ndata: ${JSON.stringify({ reason: from, bootId: this.bootId, lastEventId: this.lastEventId })}\n\n`)
      } else {
        sub.cursor = from
        this.pump(sub)
      }
    }
    return {
      drained: () => { this.pump(sub) },
      unsubscribe: () => { this.subscribers.delete(sub) }
    }
  }

  /** The sequence number to replay after, or why none can be. */
  private resumePoint (lastEventId: string): number | 'other-boot' | 'too-old' | 'unknown' {
    const dash = lastEventId.lastIndexOf('-')
    const boot = lastEventId.slice(0, dash)
    const n = lastEventId.slice(dash + 1)
    if (dash < 1 || !/^\d{1,15}$/.test(n)) return 'unknown'
    if (boot !== this.bootId) return 'other-boot'
    const seq = Number(n)
    if (seq > this.seq) return 'unknown'
    // Every event after `seq` must still be in the ring.
    if (seq < this.oldestSeq() - 1) return 'too-old'
    return seq
  }

  private oldestSeq (): number {
    return this.ring[0]?.seq ?? this.seq + 1
  }

  /** Writes the subscriber's unread events until caught up or at the high-water mark. */
  private pump (sub: Subscriber): void {
    while (sub.cursor < this.seq && this.subscribers.has(sub)) {
      const oldest = this.oldestSeq()
      if (sub.cursor + 1 < oldest) {
        // The ring moved past it: it would silently miss events.
        this.drop(sub, 'slow')
        return
      }
      if (sub.sink.buffered() >= this.highWaterBytes) return
      const event = this.ring[sub.cursor + 1 - oldest]
      if (event === undefined) return
      sub.cursor = event.seq
      sub.sink.write(event.frame)
    }
  }

  private ping (): void {
    for (const sub of this.subscribers) {
      if (sub.sink.buffered() < this.highWaterBytes) sub.sink.write(PING)
    }
  }

  private drop (sub: Subscriber, reason: DropReason): void {
    if (!this.subscribers.delete(sub)) return
    if (reason === 'slow') this.onDrop(reason)
    sub.sink.close(reason)
  }
}
