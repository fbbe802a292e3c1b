import { afterEach, describe, expect, it } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { AgentRegistry } from '../../../src/registry/agent-registry.ts'
import type { AgentRecord } from '../../../src/registry/agent-record.ts'
import { RegistrySync } from '../../../src/registry/registry-sync.ts'
import type { MembershipGuard } from '../../../src/p2p/membership-guard.ts'
import { request } from '../../../src/p2p/lp-rpc.ts'
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

function agent (nodeId: string, agentId: string): AgentRecord {
  return { nodeId, agentId, name: agentId, kind: 'builtin', description: `${agentId} agent`, tools: [{ name: 'run' }], updatedAt: 1 }
}

async function startNode (agents: string[]): Promise<Node> {
  const member = await startMember({ issuer: ca })
  const guard = await startGuard(member)
  const admission = admissionFor(member, guard)
  const registry = new AgentRegistry({ peerId: member.peerId })
  await registry.start()
  registry.setLocalAgents(agents.map(id => agent(member.peerId, id)))
  const sync = new RegistrySync({
    ...member,
    libp2p: member.host,
    guard,
    admission,
    registry,
    channel: () => { throw new Error('no gossip expected in this test') }
  }, { protocol: protocols.registrySync })
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
  })

  it('later rounds carry adds and removals both ways without resurrecting anything; an equal digest sends no state', async () => {
    const a = await startNode(['alpha', 'old'])
    const b = await startNode([])
    await connect(b.member, a.member)
    await expect.poll(() => b.registry.size, poll).toBe(2)
    // Both rounds started by the verification are over before the change below.
    await expect.poll(async () => await metricValue(a.member.metrics.antiEntropyRuns) + await metricValue(b.member.metrics.antiEntropyRuns), poll).toBe(2)

    // As if gossip of this change was lost: only anti-entropy can carry it.
    a.registry.setLocalAgents([agent(a.member.peerId, 'alpha'), agent(a.member.peerId, 'new')])
    await b.sync.syncWith(a.member.peerId)
    expect(keys(b.registry)).toEqual([`${a.member.peerId}:alpha`, `${a.member.peerId}:new`])
    expect(b.registry.digest()).toBe(a.registry.digest())
    // The other way: B's own change rides in B's request and A merges it.
    b.registry.setLocalAgents([agent(b.member.peerId, 'late')])
    await b.sync.syncWith(a.member.peerId)
    expect(a.registry.get(b.member.peerId, 'late')).toEqual(agent(b.member.peerId, 'late'))
    expect(a.registry.digest()).toBe(b.registry.digest())

    const inSync = await metricValue(b.member.metrics.antiEntropyRuns, { result: 'in-sync' })
    await b.sync.syncWith(a.member.peerId)
    expect(await metricValue(b.member.metrics.antiEntropyRuns, { result: 'in-sync' })).toBe(inSync + 1)
  })

  it('refuses the sync stream of a peer that has not proved membership', async () => {
    const a = await startNode(['alpha'])
    // Valid certificate, same CA, but no guard: it never runs the handshake.
    const stranger = await startMember({ issuer: ca })
    const theirs = new AgentRegistry({ peerId: stranger.peerId })
    await theirs.start()
    stops.push(async () => { await theirs.stop() })
    theirs.setLocalAgents([agent(stranger.peerId, 'intruder')])
    await connect(stranger, a.member)

    const body = new TextEncoder().encode(JSON.stringify({ digest: theirs.digest(), state: theirs.state() }))
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
