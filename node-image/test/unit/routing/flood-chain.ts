// Test support for the flood route: real libp2p hosts on loopback, each a full
// routing node (ToolRouter, ToolCallService, FloodRouter, FloodRelay) around a
// double of its agents, linked only where a test says so.
import { vi } from 'vitest'
import { E2ECipher } from '../../../src/routing/e2e-cipher.ts'
import { ToolCallService } from '../../../src/routing/tool-call-service.ts'
import { ToolRouter, type EncryptionPolicy, type LocalAgents } from '../../../src/routing/tool-router.ts'
import { FloodRelay, type FloodRelayInit, type RelayedFrame } from '../../../src/routing/flood-relay.ts'
import { FloodRouter } from '../../../src/routing/flood-router.ts'
import type { MembershipGuard } from '../../../src/p2p/membership-guard.ts'
import { admissionFor, connect, newCa, protocols, NETWORK, startGuard, startMember, type Member } from '../p2p/members.ts'

export const ca = newCa()
/** members.ts Messengers take envelopes up to 256 KiB; a flood frame is one plus its hop bytes. */
export const MAX_FRAME_BYTES = 256 * 1024 + 2

export interface FloodNode {
  member: Member
  guard: MembershipGuard
  router: ToolRouter
  relay: FloodRelay
  /** The node's agents: by default every call answers `reply to <text>`. */
  local: ReturnType<typeof vi.fn<LocalAgents['call']>>
  /** Every frame this node relayed. */
  frames: RelayedFrame[]
}

export interface FloodNodeOptions {
  encryption?: EncryptionPolicy
  /** 0: no flood route on this node (neither sent nor relayed). */
  maxHops?: number
  relay?: Partial<FloodRelayInit>
  timeoutMs?: number
}

export const echoReply: LocalAgents['call'] = async (_agentId, _op, params) => {
  const text = (params.arguments as { text?: string } | undefined)?.text ?? ''
  return await Promise.resolve({ content: [{ type: 'text', text: `reply to ${text}` }] })
}

export async function startFloodNode (opts: FloodNodeOptions = {}): Promise<FloodNode> {
  const member = await startMember({ issuer: ca })
  const guard = await startGuard(member)
  const admission = admissionFor(member, guard)
  const local = vi.fn<LocalAgents['call']>(echoReply)
  const frames: RelayedFrame[] = []
  const cipher = new E2ECipher({ peerId: member.peerId, seed: member.seed })
  const encryption = opts.encryption ?? 'required'
  const callInit = { selfId: member.peerId, network: NETWORK, protocol: protocols.toolCall, encryption, maxBytes: 1024 * 1024 }
  const callComponents = { ...member, libp2p: member.host, admission, cipher, local: { call: local } }
  const maxHops = opts.maxHops ?? 4
  const flood = { protocol: protocols.flood, maxHops: Math.max(1, maxHops), maxFrameBytes: MAX_FRAME_BYTES }
  const peers = (): string[] => guard.verifiedPeers()
  const floodRouter = new FloodRouter({ libp2p: member.host, messenger: member.messenger, peers }, flood)
  const router = new ToolRouter({
    ...callComponents,
    registry: { has: () => true },
    membership: guard,
    ...(maxHops === 0 ? {} : { flood: floodRouter })
  }, { ...callInit, timeoutMs: opts.timeoutMs ?? 10_000, maxStreams: 16 })
  const service = new ToolCallService(callComponents, { ...callInit, maxConcurrent: 16 })
  await service.start()
  const relay = new FloodRelay({
    ...member,
    libp2p: member.host,
    admission,
    peers,
    deliver: async (envelope, origin, signal, max) => await service.answer(envelope, origin, signal, max),
    observe: frame => { frames.push(frame) }
  }, { ...flood, selfId: member.peerId, timeoutMs: opts.timeoutMs ?? 10_000, ...opts.relay })
  if (maxHops > 0) await relay.start()
  return { member, guard, router, relay, local, frames }
}

/** Connects two nodes and waits until each has admitted the other. */
export async function link (a: FloodNode, b: FloodNode): Promise<void> {
  await connect(a.member, b.member)
  await vi.waitFor(() => {
    if (!a.guard.verifiedPeers().includes(b.member.peerId) || !b.guard.verifiedPeers().includes(a.member.peerId)) throw new Error('membership handshake not done')
  }, { timeout: 15_000, interval: 50 })
}

/** A chain of nodes where each is linked to its neighbours only. */
export async function startChain (options: FloodNodeOptions[]): Promise<FloodNode[]> {
  const nodes = await Promise.all(options.map(async o => await startFloodNode(o)))
  for (let i = 1; i < nodes.length; i++) await link(nodes[i - 1]!, nodes[i]!)
  return nodes
}

export const echo = (text: string): Record<string, unknown> => ({ name: 'echo', arguments: { text } })
