// The operator's question to a node about one agent, with a fake fetch answering as nodes
// would, and as broken, old, slow or hostile ones would.
import { describe, expect, it } from 'vitest'
import { AgentProbe } from '../../../src/runtime/agent-probe.ts'
import type { ProbeTarget } from '../../../src/runtime/mesh-probe.ts'

const REPLY = {
  agentId: 'files',
  name: 'files',
  kind: 'remote',
  description: '',
  replicas: ['peerA', 'peerB'],
  tools: [{ name: 'fetch', ownName: 'read', replicas: ['peerA', 'peerB'] }],
  differences: [],
  conflicts: [],
  naming: 'logical',
  discoveredTools: [{ name: 'fetch', description: 'Reads a file.' }],
  collisions: { tools: [], prompts: [] }
}

const targets: ProbeTarget[] = ['a-0', 'a-1', 'b-0', 'b-1'].map(name => ({ name, baseUrl: `http://${name}.svc:8080` }))

type Answer = Response | 'refused' | 'hang'

/** A fetch that answers per host, and records what was asked. */
function fakeFetch (answers: Record<string, () => Answer>): { fetch: typeof fetch, asked: string[] } {
  const asked: string[] = []
  const fetchFn: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input)
    const host = url.hostname.replace(/\.svc$/, '')
    asked.push(`${host}${url.pathname}`)
    const answer = answers[host]?.() ?? new Response('{"statusCode":404,"error":"Not Found","message":"no route"}', { status: 404 })
    if (answer === 'refused') throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') })
    if (answer === 'hang') {
      return await new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => { reject(init.signal?.reason as Error) }, { once: true })
      })
    }
    return answer
  }
  return { fetch: fetchFn, asked }
}

const json = (body: unknown, status = 200): Response => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

describe('AgentProbe', () => {
  it('asks the nodes in order until one answers, and returns its reply', async () => {
    const { fetch, asked } = fakeFetch({ 'a-0': () => 'refused', 'a-1': () => json(REPLY) })
    const report = await new AgentProbe({ fetch }).observe('files', targets, AbortSignal.timeout(5000))
    expect(report).toEqual({ ok: true, from: 'a-1', agent: REPLY })
    expect(asked).toEqual(['a-0/api/v1/agents/files', 'a-1/api/v1/agents/files'])
  })

  it('takes the node\'s "no such agent" as an answer, but not a 404 without it (a node without the route)', async () => {
    const notHosted = json({ statusCode: 404, error: 'AgentNotFound', message: 'no node in the mesh registry hosts agent files' }, 404)
    const { fetch, asked } = fakeFetch({ 'a-1': () => notHosted })
    expect(await new AgentProbe({ fetch }).observe('files', targets, AbortSignal.timeout(5000))).toEqual({ ok: true, from: 'a-1', agent: undefined })
    expect(asked).toHaveLength(2)
  })

  it('reports every bad reply without throwing, and asks at most maxTries nodes', async () => {
    const { fetch, asked } = fakeFetch({
      'a-0': () => new Response('<html>', { status: 200 }),
      'a-1': () => json({ ...REPLY, replicas: 'peerA' }),
      'b-0': () => json({ ...REPLY, agentId: 'other' }),
      'b-1': () => json(REPLY)
    })
    const report = await new AgentProbe({ fetch }).observe('files', targets, AbortSignal.timeout(5000))
    expect(report).toEqual({
      ok: false,
      errors: [
        'a-0: GET /api/v1/agents/files: HTTP 200, the reply is not JSON',
        'a-1: GET /api/v1/agents/files: the reply does not match the agent schema',
        'b-0: GET /api/v1/agents/files: the reply is about another agent'
      ]
    })
    expect(asked).toHaveLength(3)
  })

  it('stops reading an oversized reply at the cap, and a silent node at the timeout', async () => {
    const { fetch } = fakeFetch({ 'a-0': () => json({ ...REPLY, description: 'x'.repeat(10_000) }), 'a-1': () => 'hang' })
    const report = await new AgentProbe({ fetch, maxReplyBytes: 4096, timeoutMs: 200, maxTries: 2 }).observe('files', targets, AbortSignal.timeout(5000))
    expect(report).toEqual({ ok: false, errors: ['a-0: GET /api/v1/agents/files: the reply is larger than 4096 bytes', 'a-1: no answer within 200 ms'] })
  })

  it('rejects when its own signal aborts', async () => {
    const { fetch } = fakeFetch({ 'a-0': () => 'hang' })
    const stop = new AbortController()
    const report = new AgentProbe({ fetch, timeoutMs: 60_000 }).observe('files', targets, stop.signal)
    stop.abort(new Error('shutting down'))
    await expect(report).rejects.toThrow('shutting down')
  })
})
