// `/api/v1/agents`, `/api/v1/agents/<agentId>` and `/api/v1/calls` over a real socket, with a
// recording caller in place of the mesh: logical agents under the node's tool filters, calls
// by agent id through failover, and calls refused when the filters hide the tool.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createHttpServer } from '../../../src/http/server.ts'
import type { NodeView } from '../../../src/http/node-view.ts'
import type { ListingView } from '../../../src/mcp/mesh-listing.ts'
import type { AgentRecord } from '../../../src/registry/agent-record.ts'
import { NodeUnreachableError, OutcomeUnknownError } from '../../../src/routing/errors.ts'
import { ReplicaChooser } from '../../../src/routing/replica-choice.ts'
import { callCommand } from '../../../src/cli/call.ts'
import { Compile } from 'typebox/compile'
import { LogicalAgentReply } from '../../../src/http/schemas.ts'
import { newNodeId, record, RecordingCaller, TestCatalog } from '../mcp/fixtures.ts'

let A: string
let B: string
let SELF: string
beforeAll(async () => {
  [A, B, SELF] = (await Promise.all([newNodeId(), newNodeId(), newNodeId()])).sort()
})

const apps: FastifyInstance[] = []
afterEach(async () => { for (const app of apps.splice(0)) await app.close() })

const VIEW: NodeView = {
  info: () => ({ peerId: 'x', network: 'demo', version: 'test', addrs: [], relayServer: false, startedAt: new Date(0).toISOString(), ready: true, peers: 0, registry: { digest: 'd', entries: 0 } }),
  peers: () => [],
  registry: () => ({ digest: 'd', size: 0, entries: [] }),
  readiness: () => ({ ready: true, reason: 'test' }),
  metrics: async () => ({ contentType: 'text/plain', body: '' }),
  dial: async () => ({ peerId: 'x', verified: true })
}

const FILTERED: ListingView = { naming: 'logical', toolFilters: { files: { deny: ['secret'], rename: { read: 'fetch' }, descriptions: { write: 'Writes a file.' } } } }

/** `files` on A and B (B lists `write` differently and no `secret`), and the built-in `echo` on every node. */
function records (): AgentRecord[] {
  const read = { name: 'read', description: 'Reads a file.' }
  return [
    record(A, 'files', { kind: 'remote', tools: [read, { name: 'write', annotations: { idempotentHint: true } }, { name: 'secret' }] }),
    record(B, 'files', { kind: 'remote', tools: [read, { name: 'write', description: 'v2', annotations: { idempotentHint: true } }] }),
    ...[A, B, SELF].map((n) => record(n, 'echo', { tools: [{ name: 'echo' }] }))
  ]
}

interface Node { url: string, caller: RecordingCaller, attempts: unknown[][] }

async function startNode (view: ListingView = FILTERED, entries: AgentRecord[] = records()): Promise<Node> {
  const caller = new RecordingCaller()
  const attempts: unknown[][] = []
  const app = await createHttpServer(
    {
      view: VIEW,
      log: () => {},
      caller,
      catalog: new TestCatalog(entries),
      selfId: SELF,
      mesh: { chooser: new ReplicaChooser(), view: () => view, onAttempts: (a) => { attempts.push([...a]) } }
    },
    { host: '127.0.0.1', port: 0, mcp: { enabled: false, allowedOrigins: [], maxRequestBytes: 1024 * 1024, maxSessions: 4, sessionIdleSeconds: 60, timeoutMs: 5000 } }
  )
  apps.push(app)
  return { url: await app.listen({ host: '127.0.0.1', port: 0 }), caller, attempts }
}

async function call (node: Node, target: string, tool: string): Promise<{ status: number, body: Record<string, unknown> }> {
  const res = await fetch(`${node.url}/api/v1/calls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ target, tool, arguments: { text: 'hi' } }) })
  return { status: res.status, body: await res.json() as Record<string, unknown> }
}

describe('GET /api/v1/agents', () => {
  it('keeps every replica under agents and adds one logical agent per id, filtered', async () => {
    const node = await startNode()
    const body = await (await fetch(`${node.url}/api/v1/agents`)).json() as Record<string, unknown>
    expect((body.agents as Array<{ target: string }>).map((a) => a.target)).toEqual([`${A}:echo`, `${A}:files`, `${B}:echo`, `${B}:files`, `${SELF}:echo`].sort((a, b) => a.localeCompare(b)))
    expect(body.naming).toBe('logical')
    expect(body.logical).toEqual([
      { agentId: 'echo', name: 'echo', kind: 'builtin', description: '', replicas: [A, B, SELF], tools: [{ name: 'echo', ownName: 'echo', replicas: [A, B, SELF] }], differences: [], conflicts: [] },
      {
        agentId: 'files',
        name: 'files',
        kind: 'remote',
        description: '',
        replicas: [A, B],
        tools: [{ name: 'fetch', ownName: 'read', replicas: [A, B] }, { name: 'write', ownName: 'write', replicas: [A, B] }],
        // `secret` is missing on B too, but denied: nobody can call it, so it is no difference.
        differences: [{ kind: 'tool', name: 'write', missingOn: [], listedFrom: A, differentOn: [B] }],
        conflicts: []
      }
    ])
    expect(body.collisions).toEqual({ tools: [], prompts: [] })
  })

  it('shows the collisions of the naming mode', async () => {
    const node = await startNode({ naming: 'conditional', toolFilters: {} }, [record(A, 'one', { tools: [{ name: 'ping' }] }), record(A, 'two', { tools: [{ name: 'ping' }] })])
    const body = await (await fetch(`${node.url}/api/v1/agents`)).json() as { collisions: { tools: Array<{ name: string, claims: Array<{ agentId: string }> }> } }
    expect(body.collisions.tools.map((c) => [c.name, c.claims.map((claim) => claim.agentId)])).toEqual([['ping', ['one', 'two']]])
  })
})

describe('GET /api/v1/agents/<agentId>', () => {
  it('answers one logical agent with the tools it exposes under the filters', async () => {
    const node = await startNode()
    const res = await fetch(`${node.url}/api/v1/agents/files`)
    expect(res.status).toBe(200)
    const body = await res.json() as Record<string, unknown>
    expect(body).toMatchObject({ agentId: 'files', replicas: [A, B], naming: 'logical', collisions: { tools: [], prompts: [] } })
    expect(body.discoveredTools).toEqual([{ name: 'fetch', description: 'Reads a file.' }, { name: 'write', description: 'Writes a file.' }])
    // What the operator's AgentProbe checks the reply against (@dawn/node-image/http-schemas).
    expect(Compile(LogicalAgentReply).Check(body)).toBe(true)
  })

  it('404 for an agent no node hosts, 400 for a malformed id', async () => {
    const node = await startNode()
    const missing = await fetch(`${node.url}/api/v1/agents/nobody`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ error: 'AgentNotFound', message: 'no node in the mesh registry hosts agent nobody' })
    expect((await fetch(`${node.url}/api/v1/agents/Not_An_Id`)).status).toBe(400)
  })
})

describe('POST /api/v1/calls by agent id', () => {
  it('fails over: the first replica cannot be reached, the second answers', async () => {
    const node = await startNode()
    const base = node.caller.handler
    node.caller.handler = async (c) => {
      if (node.caller.calls.length === 1) throw new NodeUnreachableError(`no route to ${c.target.nodeId}`)
      return await base(c)
    }
    const { status, body } = await call(node, 'files', 'fetch')
    expect(status, JSON.stringify(body)).toBe(200)
    const [first, second] = node.caller.calls
    expect(node.caller.calls).toHaveLength(2)
    expect(new Set([first?.target.nodeId, second?.target.nodeId])).toEqual(new Set([A, B]))
    // The renamed tool goes to the agent by its own name.
    expect(node.caller.calls.map((c) => c.params.name)).toEqual(['read', 'read'])
    expect(body.replica).toBe(second?.target.nodeId)
    expect(body.attempts).toMatchObject([{ nodeId: first?.target.nodeId, outcome: 'node-unreachable', failover: 'next-replica' }, { nodeId: second?.target.nodeId, outcome: 'ok' }])
    expect(node.attempts).toHaveLength(1)
  })

  it('retries a call that may have run only when the tool is idempotent', async () => {
    const node = await startNode()
    node.caller.handler = async (c) => {
      if (node.caller.calls.length === 1) throw new OutcomeUnknownError('the stream broke', { nodeId: c.target.nodeId })
      return { content: [] }
    }
    expect((await call(node, 'files', 'write')).status).toBe(200)
    expect(node.caller.calls).toHaveLength(2)
    node.caller.calls.length = 0
    const { status, body } = await call(node, 'files', 'fetch')
    expect({ status, code: body.code }).toEqual({ status: 502, code: 'outcome-unknown' })
    expect(node.caller.calls).toHaveLength(1)
    expect(body.attempts).toMatchObject([{ outcome: 'outcome-unknown', failover: 'retry-if-idempotent' }])
  })

  it('sends a built-in agent\'s call to this node\'s own replica', async () => {
    const node = await startNode()
    const { status, body } = await call(node, 'echo', 'echo')
    expect(status).toBe(200)
    expect(node.caller.calls.map((c) => c.target)).toEqual([{ nodeId: SELF, agentId: 'echo' }])
    expect(body.replica).toBe(SELF)
  })

  it('refuses a denied tool and a renamed tool\'s old name as unknown, on both forms, and calls nothing', async () => {
    const node = await startNode()
    for (const [target, tool] of [['files', 'secret'], [`${A}:files`, 'secret'], ['files', 'read'], [`${B}:files`, 'read'], ['files', 'nothing'], ['nobody', 'echo']] as const) {
      const { status, body } = await call(node, target, tool)
      expect({ status, code: body.code }, `${target} ${tool}`).toEqual({ status: 404, code: 'unknown-agent' })
    }
    expect(node.caller.calls).toEqual([])
  })
})

describe('POST /api/v1/calls to <nodeId>:<agentId>', () => {
  it('calls that node only: a renamed tool by its new name, no failover, no replica in the reply', async () => {
    const node = await startNode()
    const ok = await call(node, `${B}:files`, 'fetch')
    expect(ok.status).toBe(200)
    expect(ok.body).not.toHaveProperty('replica')
    expect(node.caller.calls.map((c) => [c.target.nodeId, c.params.name])).toEqual([[B, 'read']])
    node.caller.handler = async (c) => { throw new NodeUnreachableError(`no route to ${c.target.nodeId}`) }
    const down = await call(node, `${A}:files`, 'fetch')
    expect({ status: down.status, code: down.body.code }).toEqual({ status: 502, code: 'node-unreachable' })
    expect(node.caller.calls.map((c) => c.target.nodeId)).toEqual([B, A])
  })

  it('without a filter for the agent, passes any tool and any agent on to the router as before', async () => {
    const node = await startNode()
    await call(node, `${A}:echo`, 'unlisted')
    await call(node, `${A}:nobody`, 'echo')
    expect(node.caller.calls.map((c) => [c.target.agentId, c.params.name])).toEqual([['echo', 'unlisted'], ['nobody', 'echo']])
  })
})

describe('dawn-node call', () => {
  it('takes a bare agent id', async () => {
    const node = await startNode()
    const out: string[] = []
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => { out.push(String(chunk)); return true })
    try {
      expect(await callCommand(['files', 'fetch', '--url', node.url, '--json'])).toBe(0)
    } finally {
      write.mockRestore()
    }
    expect(JSON.parse(out.join(''))).toMatchObject({ replica: expect.any(String), attempts: [{ outcome: 'ok' }] })
    await expect(callCommand(['Files!', 'fetch', '--url', node.url])).rejects.toThrow(/neither <agentId> nor <nodeId>:<agentId>/)
  })
})
