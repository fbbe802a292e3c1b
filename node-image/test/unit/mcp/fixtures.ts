// Shared by the MCP endpoint tests: a real fastify app on 127.0.0.1:0 with the endpoint,
// a catalog of real AgentRecords, a recording MeshCaller, and the official SDK v2 client
// (2025-11-25 sessions, its default).
import Fastify, { type FastifyInstance } from 'fastify'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { registerMcpEndpoint, type McpEndpointInit } from '../../../src/mcp/mesh-endpoint.ts'
import type { MeshCallComponents, MeshCatalog } from '../../../src/mcp/mesh-requests.ts'
import type { AgentRecord } from '../../../src/registry/agent-record.ts'
import { SESSION_OPS } from '../../../src/routing/types.ts'
import type { WireOp, AgentTarget, CallOptions, CallResult, MeshCaller } from '../../../src/routing/types.ts'
import type { LogLevel } from '../../../src/logging/json-logger.ts'

export async function newNodeId (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

export function record (nodeId: string, agentId: string, extra: Partial<AgentRecord> = {}): AgentRecord {
  return { nodeId, agentId, name: agentId, kind: 'builtin', description: '', tools: [], updatedAt: 1, ...extra }
}

export class TestCatalog implements MeshCatalog {
  #records: AgentRecord[]
  readonly #listeners = new Set<() => void>()

  constructor (records: AgentRecord[]) {
    this.#records = records
  }

  get listenerCount (): number {
    return this.#listeners.size
  }

  entries = (): AgentRecord[] => this.#records

  onChange = (listener: () => void): (() => void) => {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  /** Replaces the records (a new array, as a registry snapshot would be) and tells the listeners. */
  set (records: AgentRecord[]): void {
    this.#records = [...records]
    for (const listener of this.#listeners) listener()
  }
}

export interface RecordedCall {
  target: AgentTarget
  op: WireOp
  params: Record<string, unknown>
  opts: CallOptions | undefined
}

type Handler = (call: RecordedCall) => Promise<Record<string, unknown>>

/**
 * Records every call; answers with `handler` (by default an echo of the params as text).
 * Session requests (SESSION_OPS) are kept apart in `sessionCalls`; `session/open` lasts until
 * its signal aborts, as on a real node.
 */
export class RecordingCaller implements MeshCaller {
  readonly calls: RecordedCall[] = []
  readonly sessionCalls: RecordedCall[] = []
  handler: Handler = async ({ op, params }) => {
    if (op === 'resources/read') return { contents: [{ uri: params.uri, text: 'resource text' }] }
    if (op === 'prompts/get') return { messages: [{ role: 'user', content: { type: 'text', text: `prompt ${String(params.name)}` } }] }
    return { content: [{ type: 'text', text: JSON.stringify(params) }] }
  }

  call = async (target: AgentTarget, op: WireOp, params: Record<string, unknown>, opts?: CallOptions): Promise<CallResult> => {
    const call = { target, op, params, opts }
    if ((SESSION_OPS as readonly string[]).includes(op)) {
      this.sessionCalls.push(call)
      if (op === 'session/open') await new Promise((resolve) => { opts?.signal?.addEventListener('abort', resolve, { once: true }) })
      return { result: {}, route: 'direct' }
    }
    this.calls.push(call)
    return { result: await this.handler(call), route: 'direct' }
  }
}

export interface LogLine { level: LogLevel, msg: string, fields: Record<string, unknown> }

export interface Endpoint {
  app: FastifyInstance
  url: URL
  logs: LogLine[]
  close: () => Promise<void>
}

export async function startEndpoint (catalog: MeshCatalog, caller: MeshCaller, init: Partial<McpEndpointInit> = {}, mesh: MeshCallComponents = {}): Promise<Endpoint> {
  const app = Fastify({ logger: false })
  const logs: LogLine[] = []
  const log = (level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void => { logs.push({ level, msg, fields }) }
  await registerMcpEndpoint(app, { ...mesh, catalog, caller, log }, {
    allowedOrigins: [],
    maxRequestBytes: 1024 * 1024,
    maxSessions: 16,
    sessionIdleSeconds: 60,
    timeoutMs: 30_000,
    ...init
  })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, url: new URL('/mcp', address), logs, close: async () => { await app.close() } }
}

export interface Connected {
  client: Client
  transport: StreamableHTTPClientTransport
  /** Resolves once the client's GET stream (server-to-client notifications) is open. */
  streamOpen: Promise<void>
}

export async function connectClient (url: URL, headers: Record<string, string> = {}): Promise<Connected> {
  let opened: () => void = () => {}
  const streamOpen = new Promise<void>((resolve) => { opened = resolve })
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: { headers },
    reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1 },
    fetch: async (input, init) => {
      const response = await fetch(input, init)
      if (init?.method === 'GET' && response.ok) opened()
      return response
    }
  })
  const client = new Client({ name: 'dawn-test', version: '1.0.0' })
  await client.connect(transport)
  return { client, transport, streamOpen }
}

export const ACCEPT = 'application/json, text/event-stream'

export const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } }
}

/** A raw POST to the endpoint, as a browser or a broken client might send it. */
export async function post (url: URL, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return await fetch(url, { method: 'POST', headers: { accept: ACCEPT, 'content-type': 'application/json', ...headers }, body })
}

/** The JSON-RPC error body of a refused request. */
export async function rpcErrorOf (response: Response): Promise<{ jsonrpc: string, id: null, error: { code: number, message: string } }> {
  return await response.json() as { jsonrpc: string, id: null, error: { code: number, message: string } }
}
