import { afterEach, describe, expect, it } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { AgentRegistry } from '../../../src/registry/agent-registry.ts'
import type { AgentRecord } from '../../../src/registry/agent-record.ts'
import { RegistrySync } from '../../../src/registry/registry-sync.ts'
import { FAILED_ROUNDS_BEFORE_NOT_READY } from '../../../src/registry/sync-health.ts'
import type { MembershipGuard } from '../../../src/p2p/membership-guard.ts'
import { request, serve } from '../../../src/p2p/lp-rpc.ts'
import { connect, metricValue, newCa, protocols, startGuard, admissionFor, startMember, stopMembers, type Member } from '../p2p/members.ts'

// Anti-entropy over real libp2p hosts on loopback, each with the real membership
// guard and admission in front of the sync protocol. No gossip here: a merge that
// needed an own correction would call `channel`, which throws.

const ca = newCa()
const poll = { timeout: 15_000 }

interface Node { member: Member, guard: MembershipGuard, registry: AgentRegistry, sync: RegistrySync }
const stops: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop()
  await stopMembers()
})

function agent (nodeId: string, agentId: string, description = `${agentId} agent`): AgentRecord {
  return { nodeId, agentId, name: agentId, kind: 'builtin', description, tools: [{ name: 'run' }], updatedAt: 1 }
}

async function startNode (agents: string[] | ((peerId: string) => AgentRecord[]), init: { maxMessageBytes?: number } = {}): Promise<Node> {
  const member = await startMember({ issuer: ca })
  const guard = await startGuard(member)
  const admission = admissionFor(member, guard)
  const registry = new AgentRegistry({ peerId: member.peerId })
  await registry.start()
  registry.setLocalAgents(typeof agents === 'function' ? agents(member.peerId) : agents.map(id => agent(member.peerId, id)))
  const sync = new RegistrySync({
    ...member,
    libp2p: member.host,
    guard,
    admission,
    registry,
    channel: () => { throw new Error('no gossip expected in this test') }
  }, { protocol: protocols.registrySync, minGapMs: 50, ...init })
  await sync.start()
  stops.push(async () => { await sync.stop(); await registry.stop() })
  return { member, guard, registry, sync }
}

const keys = (registry: AgentRegistry): string[] => registry.entries().map(r => `${r.nodeId}:${r.agentId}`)

describe('RegistrySync', () => {
  it('converges two registries as soon as the peers verify each other', async () => {
    const a = await startNode(['alpha'])
    const b = await startNode(['beta', 'gamma'])
    expect(a.registry.digest()).not.toBe(b.registry.digest())

    await connect(b.member, a.member)
    await expect.poll(() => a.registry.digest() === b.registry.digest() && a.registry.size === 3, poll).toBe(true)
    const expected = [`${a.member.peerId}:alpha`, `${b.member.peerId}:beta`, `${b.member.peerId}:gamma`].sort()
    expect(keys(a.registry)).toEqual(expected)
    expect(keys(b.registry)).toEqual(expected)
    expect(a.registry.get(b.member.peerId, 'beta')).toEqual(agent(b.member.peerId, 'beta'))
    const merged = await metricValue(a.member.metrics.antiEntropyRuns, { result: 'merged' }) + await metricValue(b.member.metrics.antiEntropyRuns, { result: 'merged' })
    expect(merged).toBeGreaterThanOrEqual(1)
    expect(await metricValue(a.member.metrics.antiEntropyRuns, { result: 'failed' })).toBe(0)
    expect(a.sync.status()).toMatchObject({ consecutiveFailures: 0, failingPeers: 0 })
    expect(a.sync.status().lastSuccessAt).toBeDefined()
  })

  it('later rounds carry adds and removals both ways without resurrecting anything; equal roots end a round in one request', async () => {
    const a = await startNode(['alpha', 'old'])
    const b = await startNode([])
    await connect(b.member, a.member)
    await expect.poll(() => b.registry.size, poll).toBe(2)
    await b.sync.syncWith(a.member.peerId)

    // As if gossip of this change was lost: only anti-entropy can carry it.
    a.registry.setLocalAgents([agent(a.member.peerId, 'alpha'), agent(a.member.peerId, 'new')])
    await b.sync.syncWith(a.member.peerId)
    expect(keys(b.registry)).toEqual([`${a.member.peerId}:alpha`, `${a.member.peerId}:new`])
    expect(b.registry.digest()).toBe(a.registry.digest())
    // The other way: B pulls, A sees B's root differ and pulls from B in turn.
    b.registry.setLocalAgents([agent(b.member.peerId, 'late')])
    await b.sync.syncWith(a.member.peerId)
    await expect.poll(() => a.registry.get(b.member.peerId, 'late'), poll).toEqual(agent(b.member.peerId, 'late'))
    expect(a.registry.digest()).toBe(b.registry.digest())
    // Let any session still queued by those rounds run (with equal roots, none queues another).
    await a.sync.syncWith(b.member.peerId)
    await b.sync.syncWith(a.member.peerId)

    const inSync = await metricValue(b.member.metrics.antiEntropyRuns, { result: 'in-sync' })
    const messages = await metricValue(b.member.metrics.messagesOut, { type: 'registry.sync' })
    await b.sync.syncWith(a.member.peerId)
    expect(await metricValue(b.member.metrics.antiEntropyRuns, { result: 'in-sync' })).toBe(inSync + 1)
    expect(await metricValue(b.member.metrics.messagesOut, { type: 'registry.sync' })).toBe(messages + 1)
  })

  it('pages a registry many times the message limit and never sends a larger message', async () => {
    const limit = 16 * 1024
    const many = (peerId: string): AgentRecord[] => Array.from({ length: 200 }, (_, i) => agent(peerId, `agent-${i}`, 'd'.repeat(1500)))
    const a = await startNode(many, { maxMessageBytes: limit })
    const b = await startNode(['beta'], { maxMessageBytes: limit })
    await connect(b.member, a.member)
    await expect.poll(() => a.registry.digest() === b.registry.digest() && b.registry.size === 201, poll).toBe(true)
    for (const node of [a, b]) {
      expect(await metricValue(node.member.metrics.registrySyncLargestMessage)).toBeLessThanOrEqual(limit)
      expect(await metricValue(node.member.metrics.antiEntropyRuns, { result: 'failed' })).toBe(0)
    }
    // ~330 KB crossed in messages of at most 16 KiB.
    expect(await metricValue(b.member.metrics.registrySyncBytes, { direction: 'in' })).toBeGreaterThan(300_000)
    expect(await metricValue(b.member.metrics.registrySyncValues)).toBe(200)
  })

  it('counts a peer that answers garbage, shows it in the status, and turns unhealthy only after several rounds', async () => {
    const a = await startNode(['alpha'])
    // A verified member whose sync server replies with a signed envelope holding nonsense.
    const liar = await startMember({ issuer: ca })
    const liarGuard = await startGuard(liar)
    await serve(liar.host, protocols.registrySync, admissionFor(liar, liarGuard), async () => liar.messenger.seal('registry.sync', new TextEncoder().encode('{"op":"replicas","root":"nope"}')), {
      maxBytes: 256 * 1024, timeoutMs: 5000, service: 'registry-sync'
    })
    await connect(liar, a.member)
    await expect.poll(() => a.guard.isVerified(liar.peerId), poll).toBe(true)
    await a.sync.syncWith(liar.peerId) // the round on verification may still be running; this one follows it
    expect(await metricValue(a.member.metrics.registrySyncFailures, { reason: 'malformed' })).toBeGreaterThanOrEqual(1)
    expect(a.sync.status().lastError).toMatchObject({ peer: liar.peerId, reason: 'malformed' })
    expect(keys(a.registry)).toEqual([`${a.member.peerId}:alpha`])

    while (a.sync.status().consecutiveFailures < FAILED_ROUNDS_BEFORE_NOT_READY - 1) await a.sync.syncWith(liar.peerId)
    expect(a.sync.healthy()).toBe(true)
    await a.sync.syncWith(liar.peerId)
    expect(a.sync.healthy()).toBe(false)
    expect(await metricValue(a.member.metrics.registrySyncConsecutiveFailures)).toBeGreaterThanOrEqual(FAILED_ROUNDS_BEFORE_NOT_READY)
    expect(await metricValue(a.member.metrics.antiEntropyRuns, { result: 'failed' })).toBeGreaterThanOrEqual(FAILED_ROUNDS_BEFORE_NOT_READY)
  })

  it('refuses the sync stream of a peer that has not proved membership', async () => {
    const a = await startNode(['alpha'])
    // Valid certificate, same CA, but no guard: it never runs the handshake.
    const stranger = await startMember({ issuer: ca })
    await connect(stranger, a.member)

    const body = new TextEncoder().encode(JSON.stringify({ op: 'replicas', root: '0'.repeat(64) }))
    const sent = request(stranger.host, peerIdFromString(a.member.peerId), protocols.registrySync, stranger.messenger.seal('registry.sync', body), {
      maxBytes: 1024 * 1024, signal: AbortSignal.timeout(10_000)
    })
    await expect(sent).rejects.toThrow()
    await expect.poll(async () => await metricValue(a.member.metrics.streamsRefused, { reason: 'unverified', service: 'registry-sync' }), poll).toBe(1)
    expect(keys(a.registry)).toEqual([`${a.member.peerId}:alpha`])
    expect(await metricValue(a.member.metrics.messagesIn, { type: 'registry.sync' })).toBe(0)
    expect(await metricValue(a.member.metrics.messagesRejected)).toBe(0)
  })
})
