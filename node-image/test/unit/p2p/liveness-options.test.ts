import { describe, expect, it } from 'vitest'
import { livenessOptions } from '../../../src/p2p/host.ts'

describe('livenessOptions', () => {
  it("keeps libp2p's ping timeout at the default interval", () => {
    expect(livenessOptions(10_000)).toEqual({ intervalMs: 10_000 })
  })

  it('lets a ping take up to its interval when pings are spaced out, at most a minute', () => {
    expect(livenessOptions(20_000)).toEqual({ intervalMs: 20_000, timeout: { minTimeout: 20_000 } })
    expect(livenessOptions(100_000)).toEqual({ intervalMs: 100_000, timeout: { minTimeout: 60_000 } })
  })
})
