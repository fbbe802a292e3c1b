import { afterEach, describe, expect, it, vi } from 'vitest'
import { StoreAvailability } from '../../../src/storage/store-availability.ts'
import { backoffDelay, sleep } from '../../../src/timing/backoff.ts'
import type { LogFn } from '../../../src/logging/json-logger.ts'

const NAME = 'the Kubo sidecar at http://127.0.0.1:5001'
const poll = { timeout: 10_000 }

/**
 * A store the test answers by hand: each connect() waits until the test settles
 * it, or gives up when its signal aborts, as a well-behaved client does.
 */
function scriptedStore (): { connect: (signal: AbortSignal) => Promise<void>, attempts: Array<{ resolve: () => void, reject: (err: Error) => void, signal: AbortSignal }> } {
  const attempts: Array<{ resolve: () => void, reject: (err: Error) => void, signal: AbortSignal }> = []
  const connect = async (signal: AbortSignal): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      attempts.push({ resolve, reject, signal })
      signal.addEventListener('abort', () => { reject(new Error('aborted')) }, { once: true })
    })
  }
  return { connect, attempts }
}

const stores: StoreAvailability[] = []
afterEach(async () => { await Promise.all(stores.splice(0).map(async s => { await s.stop() })) })

function availability (connect: (signal: AbortSignal) => Promise<void>, init: { minBackoffMs?: number, maxBackoffMs?: number } = {}): { store: StoreAvailability, log: ReturnType<typeof vi.fn<LogFn>> } {
  const log = vi.fn<LogFn>()
  const store = new StoreAvailability({ connect, log }, { name: NAME, minBackoffMs: 1, maxBackoffMs: 4, ...init })
  stores.push(store)
  return { store, log }
}

describe('StoreAvailability', () => {
  it('retries until the store answers, then reports it available', async () => {
    const { connect, attempts } = scriptedStore()
    const { store, log } = availability(connect)
    expect(store.available).toBe(false)
    expect(store.reason).toBe(`waiting for ${NAME}: not tried yet`)
    const ready = store.whenAvailable()

    store.start()
    for (let n = 1; n <= 3; n++) {
      await expect.poll(() => attempts.length, poll).toBe(n)
      attempts[n - 1]!.reject(new Error(`connect ECONNREFUSED 127.0.0.1:5001 (try ${n})`))
      await expect.poll(() => store.reason, poll).toBe(`waiting for ${NAME}: connect ECONNREFUSED 127.0.0.1:5001 (try ${n})`)
      expect(store.available).toBe(false)
    }
    await expect.poll(() => attempts.length, poll).toBe(4)
    attempts[3]!.resolve()

    await expect(ready).resolves.toBe(true)
    expect(store.available).toBe(true)
    expect(store.reason).toBe(`${NAME} is available`)
    expect(await store.whenAvailable()).toBe(true)
    // No further attempts once it answered.
    await sleep(50)
    expect(attempts).toHaveLength(4)
    // Loud once, then quiet.
    expect(log.mock.calls.map(([level, msg]) => `${level} ${msg}`)).toEqual([
      'warn content store not available yet; retrying',
      'debug content store not available yet; retrying',
      'debug content store not available yet; retrying',
      'info content store available'
    ])
    expect(log).toHaveBeenLastCalledWith('info', 'content store available', { store: NAME, attempts: 4 })
  })

  it('stop() during the backoff returns at once, and whenAvailable resolves false', async () => {
    const connect = vi.fn(async () => { await Promise.reject(new Error('connection refused')) })
    // A backoff of a minute: stop() must not wait for it.
    const { store } = availability(connect, { minBackoffMs: 60_000, maxBackoffMs: 60_000 })
    store.start()
    const ready = store.whenAvailable()
    await expect.poll(() => store.reason, poll).toBe(`waiting for ${NAME}: connection refused`)

    const giveUp = new AbortController()
    const outcome = await Promise.race([store.stop().then(() => 'stopped'), sleep(10_000, giveUp.signal).then(() => 'still waiting for the backoff')])
    giveUp.abort()
    expect(outcome).toBe('stopped')
    await expect(ready).resolves.toBe(false)
    expect(connect).toHaveBeenCalledTimes(1)
    expect(store.available).toBe(false)
  })

  it('stop() during a hanging connect aborts it through its signal', async () => {
    const { connect, attempts } = scriptedStore()
    const { store } = availability(connect)
    store.start()
    await expect.poll(() => attempts.length, poll).toBe(1)
    const attempt = attempts[0]!
    const ready = store.whenAvailable()

    await store.stop()
    expect(attempt.signal.aborted).toBe(true)
    await expect(ready).resolves.toBe(false)
    expect(attempts).toHaveLength(1)
  })

  it('whenAvailable gives up when its own signal aborts', async () => {
    const { connect } = scriptedStore()
    const { store } = availability(connect)
    store.start()
    const abort = new AbortController()
    const ready = store.whenAvailable(abort.signal)
    abort.abort()
    await expect(ready).resolves.toBe(false)
  })
})

describe('backoffDelay', () => {
  it('doubles from min to max, with jitter inside its band', () => {
    const init = { minMs: 250, maxMs: 5_000 }
    expect([1, 2, 3, 4, 5, 6, 10].map(f => backoffDelay(f, init))).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000])
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, { ...init, jitter: 0.2 })
      expect(d).toBeGreaterThanOrEqual(800)
      expect(d).toBeLessThanOrEqual(1200)
    }
  })
})
