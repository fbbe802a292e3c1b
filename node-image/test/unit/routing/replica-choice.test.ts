import { describe, expect, it } from 'vitest'
import { ReplicaChooser, type Replica, type ReplicaChooserInit } from '../../../src/routing/replica-choice.ts'

const replica = (nodeId: string, ...tools: string[]): Replica => ({ nodeId, tools: (tools.length === 0 ? ['echo'] : tools).map(name => ({ name })) })

function chooser (init: ReplicaChooserInit = {}): { chooser: ReplicaChooser, advance: (ms: number) => void } {
  let t = 1_000
  return { chooser: new ReplicaChooser({ now: () => t, ...init }), advance: (ms) => { t += ms } }
}

const ids = (c: ReplicaChooser, replicas: Replica[], tool = 'echo'): string[] => c.order(replicas, tool).map(p => p.nodeId)

describe('ReplicaChooser order', () => {
  it('puts the least loaded first, then the lowest RTT among them', () => {
    const { chooser: c } = chooser({ loadTolerance: 0 })
    const replicas = [replica('a'), replica('b'), replica('c')]
    c.observeRtt('a', 30)
    c.observeRtt('b', 10)
    c.observeRtt('c', 20)
    expect(ids(c, replicas)).toEqual(['b', 'c', 'a'])
    c.begin('b')
    // b now runs one more call than the others: with no tolerance it drops out of the band.
    expect(c.order(replicas, 'echo')).toEqual([
      { nodeId: 'c', inFlight: 0, rttMs: 20, reason: 'lowest-rtt' },
      { nodeId: 'a', inFlight: 0, rttMs: 30, reason: 'least-loaded' },
      { nodeId: 'b', inFlight: 1, rttMs: 10, reason: 'more-loaded' }
    ])
  })

  it('ranks an unmeasured replica after every measured one, and breaks ties by nodeId', () => {
    const { chooser: c } = chooser()
    c.observeRtt('z', 50)
    expect(c.order([replica('b'), replica('a'), replica('z')], 'echo')).toEqual([
      { nodeId: 'z', inFlight: 0, rttMs: 50, reason: 'lowest-rtt' },
      { nodeId: 'a', inFlight: 0, reason: 'tie-break' },
      { nodeId: 'b', inFlight: 0, reason: 'least-loaded' }
    ])
    // The input order never matters.
    expect(ids(c, [replica('z'), replica('a'), replica('b')])).toEqual(['z', 'a', 'b'])
  })

  it('among unmeasured replicas puts a direct one before one reached only through a relay, and a measured one before both', () => {
    const { chooser: c } = chooser()
    c.observeRoute('a', true)
    c.observeRoute('b', false)
    // c has no connection yet: it is not known to be relayed, so it ranks with the direct ones.
    expect(c.order([replica('a'), replica('b'), replica('c')], 'echo')).toEqual([
      { nodeId: 'b', inFlight: 0, reason: 'tie-break' },
      { nodeId: 'c', inFlight: 0, reason: 'direct-route' },
      { nodeId: 'a', inFlight: 0, reason: 'least-loaded' }
    ])
    // Once measured, the RTT decides (a relayed connection's RTT already counts the hop).
    c.observeRtt('a', 2)
    expect(ids(c, [replica('a'), replica('b')])).toEqual(['a', 'b'])
    c.observeRtt('b', 1)
    c.observeRoute('a', false)
    expect(ids(c, [replica('a'), replica('b')])).toEqual(['b', 'a'])
  })

  it('smooths RTT: one slow sample does not overturn a history of fast ones', () => {
    const { chooser: c } = chooser({ rttWeight: 0.25 })
    for (let i = 0; i < 5; i++) c.observeRtt('a', 10)
    c.observeRtt('b', 20)
    c.observeRtt('a', 40) // 10 + 0.25 * 30 = 17.5
    expect(c.order([replica('a'), replica('b')], 'echo')[0]).toEqual({ nodeId: 'a', inFlight: 0, rttMs: 17.5, reason: 'lowest-rtt' })
    c.observeRtt('a', 40) // 17.5 + 0.25 * 22.5 = 23.125
    expect(ids(c, [replica('a'), replica('b')])).toEqual(['b', 'a'])
    expect(() => { c.observeRtt('a', Number.NaN) }).toThrow(RangeError)
    expect(() => { c.observeRtt('a', -1) }).toThrow(RangeError)
  })

  it('keeps the nearest replica within the load tolerance, and leaves it beyond', () => {
    const { chooser: c } = chooser() // tolerance 1
    const replicas = [replica('near'), replica('far')]
    c.observeRtt('near', 2)
    c.observeRtt('far', 40)
    const first = c.begin('near')
    // One more call on the nearest does not flip the choice ...
    expect(c.order(replicas, 'echo')[0]).toMatchObject({ nodeId: 'near', inFlight: 1, reason: 'lowest-rtt' })
    const second = c.begin('near')
    // ... two more do.
    expect(c.order(replicas, 'echo')[0]).toMatchObject({ nodeId: 'far', inFlight: 0, reason: 'least-loaded' })
    first()
    first() // ending twice is harmless
    expect(c.order(replicas, 'echo')[0]).toMatchObject({ nodeId: 'near', inFlight: 1 })
    second()
    expect(c.order(replicas, 'echo')[0]).toMatchObject({ nodeId: 'near', inFlight: 0 })
  })

  it('lists only replicas that have the tool, once each', () => {
    const { chooser: c } = chooser()
    const replicas = [replica('old', 'echo'), replica('new', 'echo', 'shout'), replica('new', 'echo', 'shout'), replica('other', 'sum')]
    expect(ids(c, replicas, 'shout')).toEqual(['new'])
    expect(c.order(replicas, 'shout')[0]?.reason).toBe('only-replica')
    expect(ids(c, replicas, 'echo')).toEqual(['new', 'old'])
    expect(ids(c, replicas, 'missing')).toEqual([])
  })

  it('puts a replica that just failed last for the cool-down, then takes it back', () => {
    const { chooser: c, advance } = chooser({ coolDownMs: 5_000 })
    const replicas = [replica('a'), replica('b'), replica('c')]
    c.observeRtt('a', 1)
    c.observeRtt('b', 2)
    c.observeRtt('c', 3)
    c.failed('a')
    expect(c.order(replicas, 'echo').map(p => [p.nodeId, p.reason])).toEqual([['b', 'lowest-rtt'], ['c', 'least-loaded'], ['a', 'cooling-down']])
    advance(2_000)
    c.failed('b')
    // Both cool; the one whose cool-down ends first comes first among them.
    expect(ids(c, replicas)).toEqual(['c', 'a', 'b'])
    advance(3_000)
    expect(ids(c, replicas)).toEqual(['a', 'c', 'b'])
    c.succeeded('b')
    expect(ids(c, replicas)).toEqual(['a', 'b', 'c'])
  })

  it('does not let a cooling replica set the least load of the band', () => {
    const { chooser: c } = chooser({ loadTolerance: 0 })
    c.observeRtt('a', 1)
    c.observeRtt('b', 2)
    c.begin('a')
    c.failed('c') // c has nothing in flight, but it is cooling
    expect(c.order([replica('a'), replica('b'), replica('c')], 'echo').map(p => p.reason)).toEqual(['least-loaded', 'more-loaded', 'cooling-down'])
  })

  it('forgets nodes that left the registry, and never holds more than maxTracked', () => {
    const { chooser: c } = chooser({ maxTracked: 3 })
    c.observeRtt('a', 1)
    c.observeRtt('b', 2)
    c.failed('c')
    expect(c.tracked).toBe(3)
    c.retain(['b', 'x'])
    expect(c.tracked).toBe(1)
    expect(c.order([replica('a'), replica('b'), replica('c')], 'echo')).toEqual([
      { nodeId: 'b', inFlight: 0, rttMs: 2, reason: 'lowest-rtt' },
      { nodeId: 'a', inFlight: 0, reason: 'tie-break' },
      { nodeId: 'c', inFlight: 0, reason: 'least-loaded' }
    ])
    for (let i = 0; i < 100; i++) c.observeRtt(`n${i}`, i)
    expect(c.tracked).toBe(3)
    // A call that ends after its node was forgotten changes nothing live.
    const end = c.begin('gone')
    c.retain([])
    end()
    expect(c.order([replica('gone')], 'echo')).toEqual([{ nodeId: 'gone', inFlight: 0, reason: 'only-replica' }])
  })

  it('refuses nonsense settings', () => {
    expect(() => new ReplicaChooser({ loadTolerance: -1 })).toThrow(RangeError)
    expect(() => new ReplicaChooser({ rttWeight: 0 })).toThrow(RangeError)
    expect(() => new ReplicaChooser({ coolDownMs: Number.NaN })).toThrow(RangeError)
  })
})
