import { afterEach, describe, expect, it, vi } from 'vitest'
import { EventHub, EventHubStoppedError, InvalidEventError, TooManySubscribersError, type DropReason, type EventSink } from '../../../src/events/event-hub.ts'

/** A sink that records frames; `backlog` stands in for unflushed socket bytes. */
class FakeSink implements EventSink {
  text = ''
  backlog = 0
  counting = false
  closed?: DropReason
  write (text: string): void {
    this.text += text
    if (this.counting) this.backlog += text.length
  }

  buffered (): number { return this.backlog }
  close (reason: DropReason): void { this.closed = reason }

  frames (): Array<{ id?: string, event: string, data: unknown }> {
    return this.text.split('\n\n').filter(b => b !== '' && !b.startsWith(':')).map(block => {
      const f = Object.fromEntries(block.split('\n').map(l => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]))
      return { ...(f.id === undefined ? {} : { id: f.id }), event: f.event ?? '', data: JSON.parse(f.data ?? 'null') }
    })
  }
}

const hubs: EventHub[] = []
function startHub (init: ConstructorParameters<typeof EventHub>[0] = {}): EventHub {
  const hub = new EventHub({ bootId: 'boot1', ...init })
  hub.start()
  hubs.push(hub)
  return hub
}
afterEach(() => {
  for (const h of hubs.splice(0)) h.stop()
  vi.useRealTimers()
})

describe('EventHub', () => {
  it('sends the greeting without an id, then live events with <bootId>-<n> ids', () => {
    const hub = startHub()
    hub.publish('node', { ready: false })
    const sink = new FakeSink()
    hub.subscribe(sink, { greeting: { type: 'hello', data: { bootId: 'boot1' } } })
    hub.publish('peer', { peerId: 'p', verified: true, route: 'direct' })
    hub.publish('node', { ready: true })
    expect(sink.frames()).toEqual([
      { event: 'hello', data: { bootId: 'boot1' } },
      { id: 'boot1-2', event: 'peer', data: { peerId: 'p', verified: true, route: 'direct' } },
      { id: 'boot1-3', event: 'node', data: { ready: true } }
    ])
    expect(hub.lastEventId).toBe('boot1-3')
  })

  it('replays what a resuming subscriber missed, in order, then continues live', () => {
    const hub = startHub()
    for (let i = 1; i <= 5; i++) hub.publish('n', { i })
    const sink = new FakeSink()
    hub.subscribe(sink, { lastEventId: 'boot1-2' })
    hub.publish('n', { i: 6 })
    expect(sink.frames().map(f => f.id)).toEqual(['boot1-3', 'boot1-4', 'boot1-5', 'boot1-6'])
  })

  it('sends reset (with the latest id) for another boot, an id from the future, garbage, or one the ring no longer reaches', () => {
    const hub = startHub({ ringSize: 3 })
    for (let i = 1; i <= 5; i++) hub.publish('n', { i })
    // The ring holds 3..5, so resuming after 2 is still complete; after 1 is not.
    const cases: Array<[string, string]> = [['other-2', 'other-boot'], ['boot1-9', 'unknown'], ['nonsense', 'unknown'], ['boot1-1', 'too-old']]
    for (const [lastEventId, reason] of cases) {
      const sink = new FakeSink()
      hub.subscribe(sink, { lastEventId })
      expect(sink.frames(), lastEventId).toEqual([{ id: 'boot1-5', event: 'reset', data: { reason, bootId: 'boot1', lastEventId: 'boot1-5' } }])
    }
    const complete = new FakeSink()
    hub.subscribe(complete, { lastEventId: 'boot1-2' })
    expect(complete.frames().map(f => f.id)).toEqual(['boot1-3', 'boot1-4', 'boot1-5'])
  })

  it('bounds the ring by bytes too', () => {
    const hub = startHub({ ringMaxBytes: 400 })
    for (let i = 1; i <= 10; i++) hub.publish('n', { pad: 'x'.repeat(100), i })
    const sink = new FakeSink()
    hub.subscribe(sink, { lastEventId: 'boot1-5' })
    expect(sink.frames()[0]?.event).toBe('reset')
  })

  it('refuses the subscriber past the limit, and takes one again after an unsubscribe', () => {
    const hub = startHub({ maxSubscribers: 2 })
    const a = hub.subscribe(new FakeSink())
    hub.subscribe(new FakeSink())
    const third = new FakeSink()
    expect(() => hub.subscribe(third, { greeting: { type: 'hello', data: {} } })).toThrow(TooManySubscribersError)
    expect(third.text).toBe('')
    a.unsubscribe()
    expect(() => hub.subscribe(third)).not.toThrow()
    expect(hub.subscriberCount).toBe(2)
  })

  it('pauses a subscriber at the high-water mark, resumes it on drain, and drops it once the ring passes it', () => {
    const drops: DropReason[] = []
    const hub = startHub({ ringSize: 4, highWaterBytes: 100, onDrop: r => drops.push(r) })
    const slow = new FakeSink()
    slow.counting = true
    const sub = hub.subscribe(slow)
    hub.publish('n', { pad: 'x'.repeat(80) }) // written: now past the mark
    hub.publish('n', { i: 2 }) // held back
    expect(slow.frames().map(f => f.id)).toEqual(['boot1-1'])
    slow.backlog = 0
    sub.drained()
    expect(slow.frames().map(f => f.id)).toEqual(['boot1-1', 'boot1-2'])
    // Stalled again, until the ring (4) moves past what it has read.
    slow.backlog = 1000
    for (let i = 3; i <= 6; i++) hub.publish('n', { i })
    expect(slow.closed).toBeUndefined()
    hub.publish('n', { i: 7 })
    expect(slow.closed).toBe('slow')
    expect(drops).toEqual(['slow'])
    expect(hub.subscriberCount).toBe(0)
  })

  it('replays a backlog larger than the high-water mark across drains', () => {
    const hub = startHub({ highWaterBytes: 200 })
    for (let i = 1; i <= 20; i++) hub.publish('n', { i })
    const sink = new FakeSink()
    sink.counting = true
    const sub = hub.subscribe(sink, { lastEventId: 'boot1-0' })
    expect(sink.frames().length).toBeLessThan(20)
    for (let n = 0; n < 20 && sink.frames().length < 20; n++) {
      sink.backlog = 0
      sub.drained()
    }
    expect(sink.frames().map(f => (f.data as { i: number }).i)).toEqual([...Array(20).keys()].map(i => i + 1))
    expect(sink.closed).toBeUndefined()
  })

  it('pings every subscriber on the interval', () => {
    vi.useFakeTimers()
    const hub = startHub({ pingIntervalMs: 15_000 })
    const sink = new FakeSink()
    hub.subscribe(sink)
    vi.advanceTimersByTime(14_999)
    expect(sink.text).toBe('')
    vi.advanceTimersByTime(1)
    expect(sink.text).toBe(': ping\n\n')
  })

  it('rejects malformed types and oversized events, keeping nothing', () => {
    const hub = startHub({ maxEventBytes: 200 })
    expect(() => { hub.publish('bad type\ndata: x', {}) }).toThrow(InvalidEventError)
    expect(() => { hub.publish('n', { pad: 'x'.repeat(300) }) }).toThrow(InvalidEventError)
    expect(hub.lastEventId).toBe('boot1-0')
  })

  it('ends every stream on stop and refuses new ones', () => {
    const hub = startHub()
    const sink = new FakeSink()
    hub.subscribe(sink)
    hub.stop()
    expect(sink.closed).toBe('stopped')
    expect(() => hub.subscribe(new FakeSink())).toThrow(EventHubStoppedError)
    hub.publish('n', {})
    expect(hub.lastEventId).toBe('boot1-0')
  })

  it('keeps a line-breaking string inside one data line', () => {
    const hub = startHub()
    const sink = new FakeSink()
    hub.subscribe(sink)
    hub.publish('room.message', { text: 'a\n\nevent: fake\ndata: 1' })
    expect(sink.frames()).toEqual([{ id: 'boot1-1', event: 'room.message', data: { text: 'a\n\nevent: fake\ndata: 1' } }])
  })
})
