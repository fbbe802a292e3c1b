import { describe, expect, it } from 'vitest'
import { compareHlc, HybridClock, MAX_COUNTER } from '../../../src/rooms/hlc.ts'

describe('HybridClock', () => {
  it('follows the wall clock and never goes backwards when it stalls or steps back', () => {
    let now = 1000
    const clock = new HybridClock({ now: () => now })
    expect(clock.tick()).toEqual({ ms: 1000, c: 0 })
    expect(clock.tick()).toEqual({ ms: 1000, c: 1 })
    now = 900
    expect(clock.tick()).toEqual({ ms: 1000, c: 2 })
    now = 2000
    expect(clock.tick()).toEqual({ ms: 2000, c: 0 })
  })

  it('issues stamps after every stamp it observed and after the persisted high-water mark', () => {
    const clock = new HybridClock({ now: () => 10, after: { ms: 50, c: 3 } })
    expect(clock.tick()).toEqual({ ms: 50, c: 4 })
    clock.observe({ ms: 70, c: 9 })
    clock.observe({ ms: 60, c: 0 })
    expect(clock.tick()).toEqual({ ms: 70, c: 10 })
    expect(clock.highWater).toEqual({ ms: 70, c: 10 })
  })

  it('borrows the next millisecond when the counter is full, keeping stamps strictly increasing', () => {
    const clock = new HybridClock({ now: () => 5, after: { ms: 5, c: MAX_COUNTER - 1 } })
    const a = clock.tick()
    const b = clock.tick()
    expect(a).toEqual({ ms: 5, c: MAX_COUNTER })
    expect(b).toEqual({ ms: 6, c: 0 })
    expect(compareHlc(a, b)).toBeLessThan(0)
  })
})
