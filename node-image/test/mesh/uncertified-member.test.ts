import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Stream } from '@libp2p/interface'
import { startMesh, eventually, type Mesh } from './harness.ts'
import { startRawMember, type RawMember } from './raw-member.ts'
import { networkProtocols } from '../../src/p2p/protocols.ts'

const STREAMS = 512
const BYTES_PER_STREAM = 20 * 1024 * 1024
const CHUNK = 64 * 1024
/** yamux's initial stream window times the streams: the most a reset stream can have in flight. */
const TRANSIENT_MIB = 256 / 1024 * STREAMS

async function rssMiB (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}

/** Writes up to `bytes` into the stream until the far side resets it; returns what was handed to the muxer. */
async function pour (stream: Stream, bytes: number): Promise<number> {
  const chunk = randomBytes(CHUNK)
  let sent = 0
  try {
    while (sent < bytes && stream.status === 'open') {
      if (!stream.send(chunk)) await new Promise(resolve => { stream.addEventListener('drain', resolve, { once: true }); stream.addEventListener('close', resolve, { once: true }) })
      sent += CHUNK
    }
  } catch {
    // Reset by the node: exactly what should happen.
  }
  return sent
}

/**
 * A peer with the swarm key but no certificate (it passes the PSK stage, then
 * never proves membership) tries to make the node buffer 512 × 20 MiB of
 * tool-call requests. Every stream is reset before a byte is read, and the
 * peer is dropped and denied when the membership handshake times out.
 */
describe('a member without a certificate', () => {
  let mesh: Mesh
  let attacker: RawMember | undefined
  const target = (): { p2pAddr: string, peerId: string, httpUrl: string } => mesh.net.nodes[0]!

  beforeAll(async () => {
    mesh = await startMesh({ nodes: 2, agents: () => [{ id: 'echo', kind: 'builtin', builtin: 'echo', description: '' }] })
  })
  afterAll(async () => {
    await attacker?.stop()
    await mesh.stop()
  })

  it('gets every tool-call stream reset before it is read, buffers nothing, and is denied', async () => {
    const pid = mesh.procs[0]!.pid!
    const protocol = networkProtocols(mesh.net.network).toolCall
    const peer = peerIdFromString(target().peerId)
    const attack = async (from: RawMember): Promise<Array<PromiseSettledResult<number>>> => await Promise.allSettled(Array.from({ length: STREAMS }, async () => {
      // Optimistic select: the bytes leave with the protocol id, before the node can answer.
      const stream = await from.host.dialProtocol(peer, protocol, { signal: AbortSignal.timeout(20_000), negotiateFully: false })
      return await pour(stream, BYTES_PER_STREAM)
    }))
    // Warm-up by another such peer: the first burst of 512 streams grows V8's heap to a
    // high-water mark it keeps; the measured attack starts from past that mark.
    const warmUp = await startRawMember(mesh.net, target(), { certified: false })
    await attack(warmUp)
    await warmUp.stop()
    await new Promise(resolve => setTimeout(resolve, 2_000))

    // Connected only now: it has until its membership handshake times out (10 s).
    const from = await startRawMember(mesh.net, target(), { certified: false })
    attacker = from
    const rssBefore = await rssMiB(pid)
    const refusedBefore = await mesh.metric(0, 'dawn_streams_refused_total', { service: 'toolcall', reason: 'unverified' })
    const readFailuresBefore = await mesh.metric(0, 'dawn_tool_calls_rejected_total', { reason: 'stream' })
    let peakRss = rssBefore
    const sampler = setInterval(() => { void rssMiB(pid).then(v => { peakRss = Math.max(peakRss, v) }).catch(() => {}) }, 100)
    const results = await attack(from)
    clearInterval(sampler)
    const opened = results.filter(r => r.status === 'fulfilled').length
    const handedOver = results.reduce((n, r) => n + (r.status === 'fulfilled' ? r.value : 0), 0)

    // The attempt was made: the node itself counted the streams it refused.
    const refused = await mesh.metric(0, 'dawn_streams_refused_total', { service: 'toolcall', reason: 'unverified' }) - refusedBefore
    expect(opened).toBeGreaterThan(0)
    expect(handedOver, 'the attacker got bytes onto the wire').toBeGreaterThan(0)
    expect(refused).toBeGreaterThanOrEqual(opened)
    // Nothing read: a stream that was read and then failed would count here.
    expect(await mesh.metric(0, 'dawn_tool_calls_rejected_total', { reason: 'stream' })).toBe(readFailuresBefore)
    // Nothing held: of 512 × 20 MiB offered, what stays in memory is at most the
    // yamux window each stream may fill before its reset lands (256 KiB × 512 =
    // 128 MiB), never a frame; measured +20–68 MiB against 10 GiB offered.
    expect(peakRss - rssBefore).toBeLessThan(TRANSIENT_MIB)
    expect(handedOver).toBeLessThan(STREAMS * BYTES_PER_STREAM)
    console.log(`uncertified member: ${opened} streams opened, ${refused} refused, ${(handedOver / 2 ** 20).toFixed(1)} MiB handed to the muxer, node RSS ${rssBefore.toFixed(0)} → peak ${peakRss.toFixed(0)} MiB`)

    // The membership handshake times out: disconnected and denied.
    await eventually(async () => await mesh.metric(0, 'dawn_membership_rejected_total', { reason: 'handshake-timeout' }) >= 1, { what: 'the handshake-timeout rejection', timeoutMs: 30_000 })
    await eventually(async () => Promise.resolve(from.host.getConnections(peer).length === 0), { what: 'the attacker to be disconnected', timeoutMs: 10_000 })
    // Denied, not just dropped: a fresh dial is refused by the node's gater.
    await from.host.dial(multiaddr(target().p2pAddr), { signal: AbortSignal.timeout(10_000) }).catch(() => {})
    await eventually(async () => await mesh.metric(0, 'dawn_denied_connections_total') >= 1, { what: 'the deny list to refuse the redial' })
    await eventually(async () => Promise.resolve(from.host.getConnections(peer).length === 0), { what: 'the redial to be closed', timeoutMs: 10_000 })

    // The node still serves its members.
    expect((await fetch(`${target().httpUrl}/healthz`)).status).toBe(200)
    const call = await fetch(`${mesh.net.nodes[1]!.httpUrl}/api/v1/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ target: `${target().peerId}:echo`, tool: 'echo', arguments: { text: 'still here' } })
    })
    expect(call.status).toBe(200)
  })
})
