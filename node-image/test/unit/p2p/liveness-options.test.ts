import { describe, expect, it } from 'vitest'
import { connectionMonitor } from '../../../src/p2p/host.ts'

describe('connectionMonitor', () => {
  it("keeps libp2p's ping timeout at the default interval", () => {
    expect(connectionMonitor(10_000)).toEqual({ pingInterval: 10_000 })
  })

  it('lets a ping take up to its interval when pings are spaced out, at most a minute', () => {
    expect(connectionMonitor(20_000)).toEqual({ pingInterval: 20_000, pingTimeout: { minTimeout: 20_000 } })
    expect(connectionMonitor(100_000)).toEqual({ pingInterval: 100_000, pingTimeout: { minTimeout: 60_000 } })
  })
})
