import { describe, expect, it } from 'vitest'
import { meshPeriodMs } from '../../../src/timing/mesh-period.ts'

describe('meshPeriodMs', () => {
  it('keeps the small-mesh period until the mesh outgrows it, then grows with each member, within +-25 %', () => {
    const init = { minMs: 30_000, perNodeMs: 1000 }
    for (let i = 0; i < 200; i++) {
      const small = meshPeriodMs(5, init)
      expect(small).toBeGreaterThanOrEqual(22_500)
      expect(small).toBeLessThanOrEqual(37_500)
      const large = meshPeriodMs(100, init)
      expect(large).toBeGreaterThanOrEqual(75_000)
      expect(large).toBeLessThanOrEqual(125_000)
    }
  })

  it('spreads senders apart: periods differ', () => {
    const periods = new Set(Array.from({ length: 20 }, () => meshPeriodMs(10, { minMs: 15_000, perNodeMs: 1000 })))
    expect(periods.size).toBeGreaterThan(1)
  })
})

