// GET /api/v1/registry over a real socket: an entry comes back with everything its agent listed.
// The route's response schema serializes, so a field missing from it would be dropped silently.
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createHttpServer } from '../../../src/http/server.ts'
import type { NodeView } from '../../../src/http/node-view.ts'
import type { AgentRecord } from '../../../src/registry/agent-record.ts'
import { MemoryContent, SELF } from '../content-double.ts'
import { newNodeId, RecordingCaller, TestCatalog } from '../mcp/fixtures.ts'

let nodeId: string
beforeAll(async () => { nodeId = await newNodeId() })

const apps: FastifyInstance[] = []
afterEach(async () => { for (const app of apps.splice(0)) await app.close() })

function fullRecord (id: string): AgentRecord {
  return {
    nodeId: id,
    agentId: 'weather',
    name: 'Weather',
    kind: 'remote',
    description: 'forecasts',
    tools: [{
      name: 'forecast',
      title: 'Forecast',
      description: 'the forecast for a city',
      inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      outputSchema: { type: 'object', properties: { celsius: { type: 'number' } } },
      annotations: { readOnlyHint: true, idempotentHint: true },
      icons: [{ src: 'data:image/png;base64,AA==', mimeType: 'image/png', sizes: ['16x16'], theme: 'dark' }],
      _meta: { 'vendor/x': 1 }
    }],
    resources: [{ uri: 'file:///cities.txt', name: 'cities', title: 'Cities', mimeType: 'text/plain', size: 12, annotations: { audience: ['user'], priority: 0.5 } }],
    resourceTemplates: [{ uriTemplate: 'weather://{city}', name: 'city-weather', description: 'by city' }],
    prompts: [{ name: 'plan', title: 'Plan a trip', arguments: [{ name: 'city', required: true }] }],
    updatedAt: 1_700_000_000_000
  }
}

async function start (records: AgentRecord[]): Promise<string> {
  const view: NodeView = {
    info: () => ({ peerId: nodeId, network: 'demo', version: 'test', addrs: [], relayServer: false, startedAt: new Date(0).toISOString(), ready: true, peers: 0, registry: { digest: 'd', entries: records.length } }),
    peers: () => [],
    registry: () => ({ digest: 'd', size: records.length, entries: records }),
    readiness: () => ({ ready: true, reason: 'test' }),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    dial: async () => ({ peerId: nodeId, verified: true })
  }
  const app = await createHttpServer(
    { view, log: () => {}, caller: new RecordingCaller(), catalog: new TestCatalog(records), selfId: SELF, content: new MemoryContent() },
    { host: '127.0.0.1', port: 0, mcp: { enabled: false, allowedOrigins: [], maxRequestBytes: 1024 * 1024, maxSessions: 4, sessionIdleSeconds: 60, timeoutMs: 1000 } }
  )
  apps.push(app)
  return await app.listen({ host: '127.0.0.1', port: 0 })
}

describe('GET /api/v1/registry', () => {
  it('returns each entry with every field the registry holds', async () => {
    const record = fullRecord(nodeId)
    const url = await start([record])
    const res = await fetch(`${url}/api/v1/registry`)
    expect(res.status).toBe(200)
    const body = await res.json() as { digest: string, size: number, entries: unknown[] }
    expect(body).toEqual({ digest: 'd', size: 1, entries: [record] })
  })
})
