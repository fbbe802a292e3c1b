import { afterEach, describe, expect, it } from 'vitest'
import { defaultLogger } from '@libp2p/logger'
import type { Connection } from '@libp2p/interface'
import { ConnectionLiveness, PING_PROTOCOL } from '../../../src/p2p/connection-liveness.ts'
import { generateSwarmKey } from '../../../src/identity/swarm-key.ts'
import type { Host } from '../../../src/p2p/host.ts'
import { loopbackHost } from '../../support/loopback-host.ts'

async function until (what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

describe('connection liveness', () => {
  const hosts: Host[] = []
  afterEach(async () => { await Promise.all(hosts.splice(0).map(async h => { await h.libp2p.stop() })) })

  const pair = async (): Promise<{ a: Host, b: Host, conn: Connection }> => {
    const key = generateSwarmKey()
    const a = await loopbackHost(key, 'liveness')
    const b = await loopbackHost(key, 'liveness')
    hosts.push(a, b)
    const addr = b.libp2p.getMultiaddrs()[0]
    if (addr === undefined) throw new Error('b listens nowhere')
    return { a, b, conn: await a.libp2p.dial(addr) }
  }

  it('pings with the muxer, not a ping stream: a peer without the ping protocol stays connected and its round trip is measured', async () => {
    const { a, b, conn } = await pair()
    // Were the ping a stream, this peer would refuse it and the connection would be aborted.
    await b.libp2p.unhandle(PING_PROTOCOL)
    expect(conn.rtt).toBeUndefined()
    a.libp2p.services.liveness.pingAll()
    await until('a measured round trip', () => typeof conn.rtt === 'number')
    expect(conn.status).toBe('open')
    expect(a.libp2p.getConnections(b.libp2p.peerId)).toEqual([conn])
  })

  it('falls back to the ping protocol on a connection whose muxer cannot ping: a stream each time, and a peer without the protocol is not dropped for it', async () => {
    const { a, b, conn } = await pair()
    Object.assign((conn as unknown as { muxer: object }).muxer, { ping: undefined })
    // Ping streams opened by pingAll itself (kad-dht's routing table pings contacts with the protocol too).
    let mine = 0
    let inPingAll = false
    const open = conn.newStream.bind(conn)
    Object.assign(conn, { newStream: async (...args: Parameters<Connection['newStream']>) => { if (inPingAll && args[0] === PING_PROTOCOL) mine++; return await open(...args) } })
    const pingAll = (): void => { inPingAll = true; try { a.libp2p.services.liveness.pingAll() } finally { inPingAll = false } }
    pingAll()
    await until('a measured round trip', () => typeof conn.rtt === 'number')
    expect(mine).toBe(1)
    await b.libp2p.unhandle(PING_PROTOCOL)
    conn.rtt = undefined
    pingAll()
    await until('the negotiation round trip', () => typeof conn.rtt === 'number')
    expect(mine).toBe(2)
    expect(conn.status).toBe('open')
  })

  it('aborts a connection whose peer stops answering pings, and only that one', async () => {
    const { a, b, conn } = await pair()
    const { conn: other } = await pair()
    // b's muxer goes quiet on pings (as a stalled process would), while the connection stays up at TCP.
    const bSide = b.libp2p.getConnections(a.libp2p.peerId)[0] as unknown as { muxer: { sendPing: () => void } }
    bSide.muxer.sendPing = () => {}
    const liveness = new ConnectionLiveness({ connectionManager: { getConnections: () => [conn, other] }, logger: defaultLogger() }, { intervalMs: 60_000, timeout: { minTimeout: 300, maxTimeout: 600 } })
    liveness.start()
    try {
      liveness.pingAll()
      await until('the quiet connection to close', () => conn.status !== 'open')
      await until('the other to be measured', () => typeof other.rtt === 'number')
      expect(other.status).toBe('open')
    } finally {
      liveness.stop()
    }
  })
})
