import { describe, expect, it, vi } from 'vitest'
import { Lifecycle } from '../../../src/node/lifecycle.ts'
import type { LogFn } from '../../../src/logging/json-logger.ts'

/** A lifecycle whose parts record every start and stop, in order, in `events`. */
function harness (): { lifecycle: Lifecycle, events: string[], log: ReturnType<typeof vi.fn<LogFn>>, part: (name: string) => Promise<string> } {
  const events: string[] = []
  const log = vi.fn<LogFn>()
  const lifecycle = new Lifecycle(log)
  const part = async (name: string): Promise<string> => await lifecycle.run(name, async () => {
    events.push(`start ${name}`)
    return await Promise.resolve(`${name}-handle`)
  }, value => { events.push(`stop ${name} (${value})`) })
  return { lifecycle, events, log, part }
}

describe('Lifecycle', () => {
  it('starts parts in order, hands each start value to its stop, and stops in reverse', async () => {
    const { lifecycle, events, part } = harness()
    expect(await part('registry')).toBe('registry-handle')
    await part('libp2p')
    await part('http')
    expect(lifecycle.running).toEqual(['registry', 'libp2p', 'http'])
    expect(events).toEqual(['start registry', 'start libp2p', 'start http'])

    events.length = 0
    await lifecycle.stopAll()
    expect(events).toEqual(['stop http (http-handle)', 'stop libp2p (libp2p-handle)', 'stop registry (registry-handle)'])
    expect(lifecycle.running).toEqual([])
  })

  it('a part that fails to start is not on the list; stopAll rolls back exactly the parts started before it', async () => {
    const { lifecycle, events, part } = harness()
    const laterStart = vi.fn()
    const failingStop = vi.fn()
    // The DawnNode.start() shape: parts in order, stopAll() when one throws.
    const startParts = async (): Promise<void> => {
      await part('registry')
      await part('libp2p')
      await lifecycle.run('membership', () => { throw new Error('port in use') }, failingStop)
      laterStart()
      await part('http')
    }
    await expect(startParts()).rejects.toThrow('port in use')
    expect(lifecycle.running).toEqual(['registry', 'libp2p'])
    await lifecycle.stopAll()

    expect(events).toEqual(['start registry', 'start libp2p', 'stop libp2p (libp2p-handle)', 'stop registry (registry-handle)'])
    expect(failingStop).not.toHaveBeenCalled()
    expect(laterStart).not.toHaveBeenCalled()
  })

  it('an async start that rejects is treated like a throw', async () => {
    const { lifecycle, part } = harness()
    await part('first')
    await expect(lifecycle.run('second', async () => { await Promise.reject(new Error('no disk')) }, () => {})).rejects.toThrow('no disk')
    expect(lifecycle.running).toEqual(['first'])
  })

  it('a part that fails to stop is logged and the others still stop', async () => {
    const { lifecycle, events, log, part } = harness()
    await part('a')
    await lifecycle.run('b', () => 'b-handle', async () => { await Promise.reject(new Error('socket stuck')) })
    await lifecycle.run('c', () => 'c-handle', () => { throw new Error('sync failure') })
    await part('d')

    await expect(lifecycle.stopAll()).resolves.toBeUndefined()
    expect(events).toEqual(['start a', 'start d', 'stop d (d-handle)', 'stop a (a-handle)'])
    expect(log.mock.calls).toEqual([
      ['warn', 'part failed to stop', { part: 'c', error: 'sync failure' }],
      ['warn', 'part failed to stop', { part: 'b', error: 'socket stuck' }]
    ])
    expect(lifecycle.running).toEqual([])
  })

  it('stops each part once: a second stopAll does nothing', async () => {
    const { lifecycle, events, part } = harness()
    await part('only')
    await lifecycle.stopAll()
    await lifecycle.stopAll()
    expect(events.filter(e => e.startsWith('stop'))).toEqual(['stop only (only-handle)'])
  })
})
