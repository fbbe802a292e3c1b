import { afterEach, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { connect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { xsalsa20 } from '@noble/ciphers/salsa.js'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { ping, type Ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { ConnectionProtector } from '@libp2p/interface'
import { byteStream, multiaddrConnectionPair } from '@libp2p/utils'
import { XSalsa20Stream } from '../../../src/p2p/xsalsa20-stream.ts'
import { PskProtector } from '../../../src/p2p/psk-protector.ts'
import { generateSwarmKey, parseSwarmKey, swarmKeyBytes } from '../../../src/identity/swarm-key.ts'

describe('XSalsa20Stream', () => {
  it('equals one-shot XSalsa20 however the bytes are split', () => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 24, maxLength: 24 }),
      fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 12 }),
      (key, nonce, sizes) => {
        const total = sizes.reduce((a, b) => a + b, 0)
        const data = new Uint8Array(randomBytes(total))
        const expected = xsalsa20(key, nonce, data)
        const stream = new XSalsa20Stream(key, nonce)
        const parts: Uint8Array[] = []
        let at = 0
        for (const n of sizes) { parts.push(stream.update(data.subarray(at, at + n))); at += n }
        expect(Buffer.concat(parts)).toEqual(Buffer.from(expected))
      }
    ), { numRuns: 200 })
  })

  it('refuses to run past 2^32 blocks and forgets its key when wiped', () => {
    const stream = new XSalsa20Stream(new Uint8Array(32), new Uint8Array(24))
    stream.wipe()
    expect(() => stream.update(new Uint8Array(1))).toThrow(/exhausted/)
  })
})

/** A libp2p host on loopback with ping only, behind the given protector. */
async function host (protector: () => ConnectionProtector): Promise<Libp2p<{ ping: Ping }>> {
  return await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: protector,
    services: { ping: ping() }
  })
}

function tcpPort (node: Libp2p): number {
  return Number(node.getMultiaddrs()[0]!.getComponents().find(c => c.name === 'tcp')!.value)
}

describe('PskProtector against @libp2p/pnet (wire compatibility)', () => {
  const started: Array<Libp2p<{ ping: Ping }>> = []
  afterEach(async () => { await Promise.all(started.splice(0).map(async n => { await n.stop() })) })

  const text = generateSwarmKey()
  const ours = (keyText: string) => () => new PskProtector({ psk: parseSwarmKey(keyText) })
  const theirs = (keyText: string) => preSharedKey({ psk: swarmKeyBytes(keyText) })

  it.each([
    ['ours dials pnet', ours(text), theirs(text)],
    ['pnet dials ours', theirs(text), ours(text)]
  ])('%s: Noise, yamux and a ping run over the private network', async (_name, a, b) => {
    const [dialer, listener] = [await host(a), await host(b)]
    started.push(dialer, listener)
    const rtt = await dialer.services.ping.ping(listener.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(10_000) })
    expect(rtt).toBeGreaterThanOrEqual(0)
    // Bulk bytes both ways in odd-sized writes: keystream blocks are split at every offset.
    await listener.handle('/echo/1.0.0', async (stream) => {
      const bytes = byteStream(stream)
      for (;;) {
        const chunk = await bytes.read().catch(() => null)
        if (chunk === null) break
        await bytes.write(chunk.subarray())
      }
      await stream.close()
    })
    const stream = await dialer.dialProtocol(listener.peerId, '/echo/1.0.0')
    const bytes = byteStream(stream)
    const data = new Uint8Array(randomBytes(1024 * 1024 + 7))
    const writing = (async () => {
      for (let at = 0; at < data.byteLength; at += 4099) await bytes.write(data.subarray(at, at + 4099))
    })()
    const echoed = await bytes.read({ bytes: data.byteLength, signal: AbortSignal.timeout(20_000) })
    await writing
    expect(Buffer.from(echoed.subarray()).equals(Buffer.from(data))).toBe(true)
  })

  it('a different key never completes the handshake', async () => {
    const [dialer, listener] = [await host(ours(generateSwarmKey())), await host(theirs(text))]
    started.push(dialer, listener)
    await expect(dialer.dial(listener.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(10_000) })).rejects.toThrow()
    expect(dialer.getConnections()).toHaveLength(0)
    expect(listener.getConnections()).toHaveLength(0)
  })
})

describe('PskProtector handshake', () => {
  it('drops a peer that never sends its nonce, and counts it', async () => {
    const protector = new PskProtector({ psk: new Uint8Array(32), handshakeTimeoutMs: 300 })
    const node = await host(() => protector)
    try {
      const socket: Socket = connect(tcpPort(node), '127.0.0.1')
      const closed = new Promise<void>(resolve => socket.once('close', () => { resolve() }))
      socket.on('error', () => {})
      socket.on('data', () => {}) // the listener's own nonce
      await closed
      expect(protector.stats).toMatchObject({ pending: 0, failed: 1, completed: 0 })
    } finally {
      await node.stop()
    }
  })

  it('a nonce-only client is counted as completed, then the Noise stage drops it', async () => {
    const protector = new PskProtector({ psk: new Uint8Array(32), handshakeTimeoutMs: 2_000 })
    const node = await host(() => protector)
    try {
      const socket = connect(tcpPort(node), '127.0.0.1', () => { socket.end(randomBytes(24)) })
      socket.on('error', () => {})
      socket.on('data', () => {})
      await new Promise<void>(resolve => socket.once('close', () => { resolve() }))
      await expect.poll(() => protector.stats.completed, { timeout: 10_000 }).toBe(1)
      expect(protector.stats.pending).toBe(0)
      expect(node.getConnections()).toHaveLength(0)
    } finally {
      await node.stop()
    }
  })

  it('evicts the oldest silent handshake when every slot is taken, so newcomers still get in', async () => {
    const protector = new PskProtector({ psk: new Uint8Array(32), handshakeTimeoutMs: 60_000, maxPending: 2 })
    const node = await host(() => protector)
    try {
      const silent = (): { socket: Socket, closed: Promise<void> } => {
        const socket = connect(tcpPort(node), '127.0.0.1')
        socket.on('error', () => {})
        socket.on('data', () => {})
        return { socket, closed: new Promise<void>(resolve => socket.once('close', () => { resolve() })) }
      }
      const first = silent()
      await expect.poll(() => protector.stats.pending, { timeout: 10_000 }).toBe(1)
      const second = silent()
      await expect.poll(() => protector.stats.pending, { timeout: 10_000 }).toBe(2)
      const third = silent()
      // Long before the 60 s timeout, the oldest is dropped to make room.
      await first.closed
      expect(protector.stats).toMatchObject({ evicted: 1, failed: 0, pending: 2 })
      for (const s of [second, third]) s.socket.destroy()
    } finally {
      await node.stop()
    }
  })

  it('pausing or resuming after the socket\'s read side ended is a no-op, not an uncaught error', async () => {
    const [outbound, inbound] = multiaddrConnectionPair()
    const psk = new Uint8Array(32)
    const [a] = await Promise.all([new PskProtector({ psk }).protect(outbound), new PskProtector({ psk }).protect(inbound)])
    a.pause()
    // The socket saw the remote's FIN and drained it; its close event has not reached the wrapper yet.
    ;(outbound as unknown as { readStatus: string }).readStatus = 'closed'
    expect(() => { a.resume() }).not.toThrow()
    expect(() => { a.pause() }).not.toThrow()
    expect(a.status).toBe('open')
  })

  it('rejects a key of the wrong size', () => {
    expect(() => new PskProtector({ psk: new Uint8Array(31) })).toThrow(RangeError)
  })
})
