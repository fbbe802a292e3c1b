import { describe, expect, it } from 'vitest'
import { ReplayMemory } from '../../../src/p2p/replay-memory.ts'

describe('ReplayMemory', () => {
  it('refuses an id seen within the window and forgets it once its timestamp leaves', () => {
    const m = new ReplayMemory(1000, 10)
    m.remember('a', 5000, 5000)
    expect(m.check('a', 5000)).toBe('replay')
    m.sweep(6000)
    expect(m.check('a', 5000)).toBe('replay')
    m.sweep(6001)
    expect(m.check('a', 5000)).toBeUndefined()
    expect(m.size).toBe(0)
  })

  it('expires by timestamp, not by arrival: a late old id goes first', () => {
    const m = new ReplayMemory(1000, 10)
    m.remember('new', 5000, 5000)
    m.remember('old', 4200, 5000)
    m.sweep(5300)
    expect(m.check('old', 4200)).toBeUndefined()
    expect(m.check('new', 5000)).toBe('replay')
  })

  it('stays within its bound, and what it had to forget early is refused as stale from then on', () => {
    const m = new ReplayMemory(60_000, 3)
    for (const [i, ts] of [1000, 1001, 1002, 1003, 1004].entries()) m.remember(`k${i}`, ts, 2000)
    expect(m.size).toBe(3)
    // k0 and k1 were evicted inside their window: anything that old cannot be proven fresh.
    expect(m.check('k0', 1000)).toBe('stale')
    expect(m.check('other', 1001)).toBe('stale')
    expect(m.check('k4', 1004)).toBe('replay')
    expect(m.check('fresh', 1005)).toBeUndefined()
  })

  it('keeps tens of thousands of ids in step as they arrive and expire', () => {
    const m = new ReplayMemory(1000, 100_000)
    for (let t = 0; t < 50_000; t++) {
      m.sweep(t)
      expect(m.check(`k${t}`, t)).toBeUndefined()
      m.remember(`k${t}`, t, t)
    }
    expect(m.size).toBe(1001)
    expect(m.check('k48999', 48_999)).toBe('replay')
    expect(m.check('k49999', 49_999)).toBe('replay')
    expect(m.check('k48998', 48_998)).toBeUndefined()
  })

  it('refuses a window or bound that is not positive', () => {
    expect(() => new ReplayMemory(0, 10)).toThrow(RangeError)
    expect(() => new ReplayMemory(1000, 0)).toThrow(RangeError)
  })
})
