import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { LruMap } from '../../../src/p2p/lru-map.ts'
import { DenyList } from '../../../src/p2p/deny-list.ts'

const newPeer = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))

describe('LruMap', () => {
  it('never holds more than max entries and forgets the least recently set first', () => {
    const map = new LruMap<string, number>(3)
    for (let i = 0; i < 10; i++) {
      map.set(`k${i}`, i)
      expect(map.size).toBeLessThanOrEqual(3)
    }
    expect(map.size).toBe(3)
    expect([map.get('k6'), map.get('k7'), map.get('k8'), map.get('k9')]).toEqual([undefined, 7, 8, 9])
  })

  it('setting a key again makes it the newest', () => {
    const map = new LruMap<string, string>(2)
    map.set('a', '1')
    map.set('b', '2')
    map.set('a', '3')
    map.set('c', '4')
    expect(map.get('a')).toBe('3')
    expect(map.get('b')).toBeUndefined()
    expect(map.delete('a')).toBe(true)
    expect(map.delete('a')).toBe(false)
    expect(map.size).toBe(1)
  })

  it.each([0, -1, 1.5, Number.NaN])('refuses max %s', (max) => {
    expect(() => new LruMap(max)).toThrow(RangeError)
  })
})

describe('DenyList', () => {
  beforeEach(() => { vi.useFakeTimers({ toFake: ['Date'], now: Date.UTC(2030, 0, 1) }) })
  afterEach(() => { vi.useRealTimers() })

  it('denies a peer for the default 60 s, then forgets it', () => {
    const list = new DenyList()
    list.deny('peer-a')
    expect(list.isDenied('peer-a')).toBe(true)
    expect(list.isDenied('peer-b')).toBe(false)
    vi.advanceTimersByTime(59_999)
    expect(list.isDenied('peer-a')).toBe(true)
    vi.advanceTimersByTime(1)
    expect(list.isDenied('peer-a')).toBe(false)
    // An expired entry is dropped when looked at.
    expect(list.size).toBe(0)
  })

  it('honours a configured default and a per-call duration', () => {
    const list = new DenyList({ denyMs: 1_000 })
    list.deny('short')
    list.deny('long', 15_000)
    vi.advanceTimersByTime(1_000)
    expect(list.isDenied('short')).toBe(false)
    expect(list.isDenied('long')).toBe(true)
    vi.advanceTimersByTime(14_000)
    expect(list.isDenied('long')).toBe(false)
  })

  it('a later denial replaces an earlier one', () => {
    const list = new DenyList()
    list.deny('p', 60_000)
    list.deny('p', 1_000)
    vi.advanceTimersByTime(1_000)
    expect(list.isDenied('p')).toBe(false)
  })

  it('is bounded: minted peer ids push out the oldest denial', () => {
    const list = new DenyList({ maxEntries: 100 })
    for (let i = 0; i < 1_000; i++) list.deny(`sybil-${i}`)
    expect(list.size).toBe(100)
    expect(list.isDenied('sybil-899')).toBe(false)
    expect(list.isDenied('sybil-900')).toBe(true)
    expect(list.isDenied('sybil-999')).toBe(true)
  })

  it('its gater refuses denied peers in both directions and no address', async () => {
    const list = new DenyList({ denyMs: 5_000 })
    const [bad, good] = [await newPeer(), await newPeer()]
    list.deny(bad.toString())
    const gater = list.gater()
    const [maConn] = multiaddrConnectionPair()
    const verdicts = async (peer: PeerId): Promise<Array<boolean | undefined>> => [
      await gater.denyDialPeer?.(peer),
      await gater.denyInboundEncryptedConnection?.(peer, maConn),
      await gater.denyOutboundEncryptedConnection?.(peer, maConn)
    ]
    expect(await verdicts(bad)).toEqual([true, true, true])
    expect(await verdicts(good)).toEqual([false, false, false])
    expect(await gater.denyDialMultiaddr?.(multiaddr('/ip4/10.0.0.7/tcp/4001'))).toBe(false)
    vi.advanceTimersByTime(5_000)
    expect(await verdicts(bad)).toEqual([false, false, false])
  })
})
