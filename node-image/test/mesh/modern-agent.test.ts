// A 2026-07-28 agent (the official v2 server SDK, node-image/test/support/modern-agent.ts) as a
// remote agent on node B, used through node A by a 2026-07-28 client and a 2025-11-25 one. Each
// feature is probed three times with the same client code (support/modern-agent-probes.ts):
// directly against the agent on 2026-07-28, then through the mesh on 2026-07-28 and on
// 2025-11-25. Both mesh outcomes must equal the direct one, at the client and at the agent: node B
// speaks 2026-07-28 to the agent, and each call reaches it with exactly the capabilities (and log
// level) of the caller driving it. The agent speaks only 2026-07-28, so there is no direct
// 2025-11-25 run: the 2025-11-25 column is the node bridging the two revisions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startMesh, type Mesh } from './harness.ts'
import { REVIEW_REFUSAL, startModernAgent, type ModernAgent, type SeenRequest } from '../support/modern-agent.ts'
import {
  directTarget, FEATURES, FORM, LEGACY_DIFFERENCES, MESH_DIFFERENCES, MODERN, probe, type Era, type Feature, type Target
} from '../support/modern-agent-probes.ts'

/** What the direct run must give, so that equal outcomes cannot be equally empty. */
const DIRECT: Record<Feature, unknown> = {
  'tools/list': expect.arrayContaining([expect.objectContaining({ name: 'ask' }), expect.objectContaining({ name: 'wait' })]),
  'prompts/list': [expect.objectContaining({ name: 'review' })],
  elicitation: {
    asked: [expect.objectContaining({ message: 'Your name, for compilers?' })],
    rounds: [{ progress: 1, message: 'Fulfilling input required by \'tools/call\' (round 1)' }],
    result: { content: [{ type: 'text', text: 'hello Ada (accept)' }] }
  },
  progress: { progress: [1, 2, 3].map((progress) => ({ progress, total: 3 })), result: { content: [{ type: 'text', text: 'counted' }] } },
  logging: { heard: [{ level: 'info', data: { said: 'hello from the modern agent' } }], result: { content: [{ type: 'text', text: 'chatted' }] } },
  cancellation: { rejected: true, cancelledAtAgent: 1, stillWaiting: false },
  completion: { completion: { values: ['typescript'], hasMore: false } },
  'prompts/get': { messages: [{ role: 'user', content: { type: 'text', text: 'review some rust' } }] },
  'error code': { code: REVIEW_REFUSAL.code, message: expect.stringContaining(REVIEW_REFUSAL.message) }
}

/** The requests a caller's feature causes at the agent (not the node's own listing and health checks). */
const CALLER_METHODS = new Set(['tools/call', 'prompts/get', 'completion/complete'])

describe('a 2026-07-28 agent behind the mesh, compared with the same client directly', () => {
  let mesh: Mesh
  let agent: ModernAgent
  let viaMesh: Target
  let connectedAt = 0
  /** The agent's requests from the node (not from the direct client). */
  const fromNode = (): SeenRequest[] => agent.seen.filter((s) => s.direct !== true)

  beforeAll(async () => {
    agent = await startModernAgent()
    mesh = await startMesh({
      nodes: 2,
      agents: (i) => i === 1 ? [{ id: 'modern', kind: 'remote', url: agent.url, description: 'a 2026-07-28 server' }] : []
    })
    await eventually(async () => {
      const reg = await mesh.get<{ entries: Array<{ agentId: string, tools: unknown[] }> }>(0, '/api/v1/registry')
      return reg.entries.some((e) => e.agentId === 'modern' && e.tools.length === 4) ? true : undefined
    }, { what: 'the modern agent in node A\'s registry', timeoutMs: 30_000 })
    viaMesh = { url: new URL('/mcp', mesh.net.nodes[0]!.httpUrl), direct: false, name: (name) => `modern.${name}` }
    connectedAt = Date.now()
  }, 120_000)

  afterAll(async () => {
    await mesh.stop()
    await agent.close()
  })

  it('is spoken to in 2026-07-28 only: discovered, listed and listened to without initialize', () => {
    const seen = fromNode()
    expect(seen.length).toBeGreaterThan(0)
    expect(seen[0]!.method).toBe('server/discover')
    expect(seen.map((s) => s.method)).not.toContain('initialize')
    expect(seen.every((s) => s.protocolVersion === MODERN)).toBe(true)
    expect(seen.map((s) => s.method)).toContain('tools/list')
  })

  /** One run of a feature's probe, and the caller's requests that reached the agent meanwhile. */
  const run = async (feature: Feature, target: Target, era: Era): Promise<{ outcome: unknown, atAgent: unknown[] }> => {
    const from = agent.seen.length
    const outcome = await probe(feature, target, era, agent, `${feature} ${target.direct ? 'direct' : 'mesh'} ${era}`)
    const atAgent = agent.seen.slice(from).filter((s) => (s.direct === true) === target.direct && CALLER_METHODS.has(s.method))
      .map(({ direct: _, ...s }) => s)
    return { outcome, atAgent }
  }

  for (const feature of FEATURES) {
    it(`${feature}: the same through the mesh, for a 2026-07-28 and a 2025-11-25 client, as directly`, async () => {
      const direct = await run(feature, directTarget(agent), 'modern')
      const baseline = direct.outcome
      expect(baseline).toEqual(DIRECT[feature])
      // The differences the mesh and the older revision make on purpose, and only those.
      const expected = MESH_DIFFERENCES[feature]?.(baseline) ?? baseline
      const modern = await run(feature, viaMesh, 'modern')
      expect(modern.outcome).toEqual(expected)
      const legacy = await run(feature, viaMesh, 'legacy')
      expect(legacy.outcome).toEqual(LEGACY_DIFFERENCES[feature]?.(expected) ?? expected)
      // At the agent: the same requests as from the direct client, 2026-07-28 and exactly the
      // caller's capabilities. toEqual, not toMatchObject: a superset of them must fail.
      expect(modern.atAgent).toEqual(direct.atAgent)
      expect(legacy.atAgent).toEqual(direct.atAgent)
    })
  }

  it('the direct client declared what each caller declared, so the agent-side comparison means something', () => {
    const calls = agent.seen.filter((s) => s.direct === true && s.method === 'tools/call').map((s) => [s.name, s.protocolVersion, s.capabilities, s.logLevel])
    expect(calls).toEqual([
      // The first round and the retry with the answer.
      ['ask', MODERN, FORM, undefined], ['ask', MODERN, FORM, undefined],
      ['count', MODERN, {}, undefined],
      ['chat', MODERN, {}, 'info'],
      ['wait', MODERN, {}, undefined]
    ])
  })

  it('opens the per-caller sessions from the first discovery, with no round trip of their own', () => {
    // The calls above ran on several agent sessions (one per capability set and log level); only
    // the main session discovered, besides its health checks (server/discover every 30 s).
    const discoveries = fromNode().filter((s) => s.method === 'server/discover').length
    expect(discoveries).toBeLessThanOrEqual(1 + Math.ceil((Date.now() - connectedAt) / 30_000))
  })
})
