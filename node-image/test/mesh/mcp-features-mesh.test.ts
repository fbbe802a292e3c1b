// The feature probes through the mesh: the MCP reference server (server-everything, unmodified)
// is a remote agent on node B of 3; the official TypeScript and Python SDK clients use it through
// node A, once on 2025-11-25 and once on 2026-07-28. Each feature must give what it gives directly
// (EXPECTED, proven in mcp-features-direct.test.ts). The cells that cannot match yet are listed
// with their reason in GAPS, and the test fails if one of them starts to match (update the README
// table) or if any other cell stops matching.
import { isDeepStrictEqual } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { eventually, startMesh, type Mesh } from './harness.ts'
import { startEverythingServer, type EverythingServer } from '../../../test/support/mcp-features/everything-server.ts'
import { EXPECTED, projectForExpectation } from '../../../test/support/mcp-features/expected.ts'
import { FEATURES, runPythonProbe, runTsProbe, type FeatureName, type FeatureOutcomes } from '../../../test/support/mcp-features/feature-probe.ts'
import { identityNames, namesFromListing, type NameMap } from '../../../test/support/mcp-features/names.ts'
import { runInspectorCli } from '../../../test/support/mcp-features/inspector.ts'
import { Client as ModernClient } from '@modelcontextprotocol/client'
import { probeClient } from '../../../test/support/mcp-features/ts-probe.ts'
import type { Era } from '../../../test/support/mcp-features/plan.ts'

type Client = 'TypeScript' | 'Python'

/**
 * Cells that differ from the direct baseline through the mesh, per client and era, and why.
 * The direct baseline is 2025-11-25 (the reference server speaks nothing newer); what differs
 * on 2026-07-28 is the revision itself or a session the revision no longer has.
 */
const STATELESS_SUBSCRIBE = 'the reference server sends updates only on the session that called toggle-subscriber-updates; a 2026-07-28 listen stream and a call reach different agent sessions'
const NO_ELICITATION_ID = '2026-07-28 removed elicitationId from URL-mode elicitation, and the TypeScript SDK leaves it out'
const SESSION_RESOURCES = 'the reference server adds a resource to the calling session and tells that session; 2026-07-28 has no session to tell'
const GAPS: Record<`${Client} ${Era}`, Partial<Record<FeatureName, string>>> = {
  'TypeScript 2025-11-25': {},
  'Python 2025-11-25': {},
  'TypeScript 2026-07-28': {
    progress: 'the first call on a new agent session answers the reference server\'s roots/list as an input round, and the TypeScript client reports each round as a progress event',
    'elicitation/url': NO_ELICITATION_ID,
    'resources/subscribe': STATELESS_SUBSCRIBE,
    'resources/list-changed': SESSION_RESOURCES
  },
  'Python 2026-07-28': {
    'resources/subscribe': STATELESS_SUBSCRIBE,
    'resources/list-changed': SESSION_RESOURCES
  }
}

/**
 * Through `/mcp/agents/everything`, with the server's own names: what differs, and why. Progress
 * matches on 2026-07-28 here: this test runs after the `/mcp` one, whose first call already
 * answered the server's roots/list on the agent session this capability set shares.
 */
const AGENT_ENDPOINT_GAPS: Partial<Record<`${Client} ${Era}`, Partial<Record<FeatureName, string>>>> = {
  'TypeScript 2025-11-25': {},
  'TypeScript 2026-07-28': {
    'elicitation/url': NO_ELICITATION_ID,
    'resources/subscribe': STATELESS_SUBSCRIBE,
    'resources/list-changed': SESSION_RESOURCES
  }
}

describe('MCP features through the mesh, against the reference server', () => {
  let mesh: Mesh
  let everything: EverythingServer
  let url: URL
  const names: Partial<Record<Era, NameMap>> = {}

  beforeAll(async () => {
    everything = await startEverythingServer()
    mesh = await startMesh({
      nodes: 3,
      agents: (i) => i === 1 ? [{ id: 'everything', kind: 'remote', url: everything.url.href, description: 'the MCP reference server' }] : []
    })
    url = new URL('/mcp', mesh.net.nodes[0]!.httpUrl)
    // Every node: the round-robin test sends to all three.
    for (const i of [0, 1, 2]) {
      await eventually(async () => {
        const reg = await mesh.get<{ entries: Array<{ agentId: string, tools: unknown[] }> }>(i, '/api/v1/registry')
        return reg.entries.some((e) => e.agentId === 'everything' && e.tools.length > 0) ? true : undefined
      }, { what: `the reference server in node ${i}'s registry`, timeoutMs: 30_000 })
    }
    for (const era of ['2025-11-25', '2026-07-28'] as const) {
      const client = probeClient(era)
      await client.connect(new StreamableHTTPClientTransport(url))
      try { names[era] = await namesFromListing(client) } finally { await client.close() }
    }
  }, 120_000)

  afterAll(async () => {
    await mesh.stop()
    await everything.stop()
  })

  /** Every cell outside the gaps equals the direct value; every cell in them still differs. */
  const check = (client: Client, era: Era, outcomes: FeatureOutcomes, gaps: Partial<Record<FeatureName, string>> = GAPS[`${client} ${era}`]): void => {
    const got = projectForExpectation(outcomes)
    const differing = FEATURES.filter((f) => !isDeepStrictEqual(got[f], EXPECTED[f]))
    const shown = Object.fromEntries(differing.map((f) => [f, { mesh: got[f], direct: EXPECTED[f] }]))
    expect(differing, JSON.stringify(shown, null, 1).slice(0, 8000)).toEqual(FEATURES.filter((f) => gaps[f] !== undefined))
  }

  it('answers a 2026-07-28 client\'s 300 requests spread round-robin over the three nodes, with no stickiness', async () => {
    const echo = names['2026-07-28']!.tool('echo')
    const first = new ModernClient({ name: 'dawn-spread', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } })
    await first.connect(new StreamableHTTPClientTransport(url))
    const discover = first.getDiscoverResult()!
    const clients = [first]
    for (const node of mesh.net.nodes.slice(1)) {
      const client = new ModernClient({ name: 'dawn-spread', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } })
      await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', node.httpUrl)), { prior: { kind: 'modern', discover } })
      clients.push(client)
    }
    try {
      const answers: string[] = []
      // Ten at a time; request n goes to node n mod 3.
      for (let batch = 0; batch < 30; batch++) {
        answers.push(...await Promise.all(Array.from({ length: 10 }, async (_, k) => {
          const n = batch * 10 + k
          const result = await clients[n % 3]!.callTool({ name: echo, arguments: { message: `m${n}` } })
          return JSON.stringify(result.content)
        })))
      }
      expect(answers).toHaveLength(300)
      const wrong = answers.map((a, n) => ({ n, a })).filter(({ n, a }) => !a.includes(`"Echo: m${n}"`))
      expect(wrong).toEqual([])
    } finally {
      for (const c of clients) await c.close()
    }
  }, 120_000)

  it('serves the MCP Inspector CLI: it lists the mesh\'s tools and calls one through node A', async () => {
    const echo = names['2025-11-25']!.tool('echo')
    const listed = await runInspectorCli(url, ['--method', 'tools/list']) as { tools?: Array<{ name: string }> }
    expect(listed.tools?.map((t) => t.name)).toContain(echo)
    const called = await runInspectorCli(url, ['--method', 'tools/call', '--tool-name', echo, '--tool-arg', 'message=through-dawn'])
    expect(JSON.stringify(called)).toContain('Echo: through-dawn')
  }, 120_000)

  for (const era of ['2025-11-25', '2026-07-28'] as const) {
    it(`TypeScript SDK v2 on ${era}`, async () => {
      const outcomes = await runTsProbe({ url, era, names: names[era]! })
      expect(outcomes.protocolVersion).toBe(era)
      check('TypeScript', era, outcomes)
    }, 240_000)

    it(`Python SDK 2.3.0 on ${era}`, async () => {
      const outcomes = await runPythonProbe({ url, era, names: names[era]! })
      expect(outcomes.protocolVersion).toBe(era)
      check('Python', era, outcomes)
    }, 240_000)

    it(`TypeScript SDK v2 on ${era} through /mcp/agents/everything, with the server's own names`, async () => {
      const outcomes = await runTsProbe({ url: new URL('/mcp/agents/everything', url), era, names: identityNames })
      expect(outcomes.protocolVersion).toBe(era)
      check('TypeScript', era, outcomes, AGENT_ENDPOINT_GAPS[`TypeScript ${era}`])
    }, 240_000)
  }
})
