import { describe, it, expect } from 'vitest'
import { onShutdownSignals } from '../../../src/runtime/shutdown.ts'

const tick = async (ms = 0): Promise<void> => { await new Promise(r => setTimeout(r, ms)) }
const raise = (): void => { process.emit('SIGUSR2', 'SIGUSR2') }

describe('onShutdownSignals', () => {
  it('stops once and exits 0', async () => {
    const exits: number[] = []
    let stops = 0
    const detach = onShutdownSignals(async () => { stops++; await tick(20) }, { signals: ['SIGUSR2'], exit: c => exits.push(c) })
    raise()
    await tick(50)
    expect(stops).toBe(1)
    expect(exits).toEqual([0])
    detach()
  })
  it('exits 1 when stop hangs past the timeout, and at once on a second signal', async () => {
    const exits: number[] = []
    const detach = onShutdownSignals(async () => { await new Promise(() => {}) }, { signals: ['SIGUSR2'], timeoutMs: 30, exit: c => exits.push(c) })
    raise()
    raise()
    expect(exits).toEqual([1])
    await tick(60)
    expect(exits).toEqual([1, 1])
    detach()
  })
})
