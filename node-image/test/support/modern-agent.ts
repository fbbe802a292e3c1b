// A real 2026-07-28 MCP server, written with the official v2 server SDK (createMcpHandler behind a
// node:http listener on loopback): a remote agent for the mesh tests. It asks its caller in MRTR
// rounds, reports progress, logs, and completes a prompt argument. It records what reached it over
// HTTP (protocol version header, method, the envelope's capabilities and log level), so a test
// can check what the node said to it rather than what the node meant to say.
import type { IncomingMessage } from 'node:http'
import { createMcpHandler, inputRequired, inputResponse, ProtocolError, Server, type Tool } from '@modelcontextprotocol/server'
import { serveMcpHandler } from './serve-mcp-handler.ts'

/** How the agent refuses `prompts/get review` without its argument: an application-defined JSON-RPC code (outside the range MCP reserves). */
export const REVIEW_REFUSAL = { code: 1042, message: 'review needs a language' }

/** A header a test's own client sets when it talks to the agent directly, so its requests can be told from the node's. */
export const DIRECT_HEADER = 'x-test-direct'

export interface SeenRequest {
  method: string
  /** The `MCP-Protocol-Version` header; absent on a 2025-11-25 initialize. */
  protocolVersion?: string
  /** `params.name` of a tools/call or prompts/get. */
  name?: string
  /** The envelope's `io.modelcontextprotocol/clientCapabilities` (2026-07-28 only). */
  capabilities?: unknown
  logLevel?: unknown
  /** Sent by a test's client connected directly (DIRECT_HEADER), not by a node. */
  direct?: true
}

export interface ModernAgent {
  url: string
  /** Every JSON-RPC request that reached the server, in order (a direct client's included, marked). */
  seen: SeenRequest[]
  /** `tag` of each `wait` call that is running, and of each one whose request was cancelled. */
  waiting: Set<string>
  cancelled: string[]
  close: () => Promise<void>
}

const LANGUAGES = ['typescript', 'python', 'rust']
const TOOLS: Tool[] = [
  { name: 'ask', description: 'asks the caller for a name (MRTR)', inputSchema: { type: 'object', properties: { topic: { type: 'string' } } } },
  { name: 'count', description: 'reports progress 1..3 of 3', inputSchema: { type: 'object' } },
  { name: 'chat', description: 'logs two lines, info and debug', inputSchema: { type: 'object' } },
  { name: 'wait', description: 'waits until cancelled', inputSchema: { type: 'object', properties: { tag: { type: 'string' } } } }
]

function record (value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {}
}

interface Calls { waiting: Set<string>, cancelled: string[] }

// A hand-written low-level server, as Dawn's own are (agents/define-server.ts).
// eslint-disable-next-line @typescript-eslint/no-deprecated -- see above
function mcpServer (calls: Calls): Server {
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- see above
  const server = new Server({ name: 'modern-agent', version: '1.0.0' }, {
    capabilities: { tools: {}, prompts: {}, completions: {}, logging: {} }
  })
  server.setRequestHandler('tools/list', () => ({ tools: TOOLS }))
  server.setRequestHandler('tools/call', async (request, ctx) => {
    const args = record(request.params.arguments)
    switch (request.params.name) {
      case 'ask': {
        const answer = inputResponse(ctx.mcpReq.inputResponses, 'name')
        if (answer.kind !== 'elicit') {
          return inputRequired({
            inputRequests: {
              name: inputRequired.elicit({
                message: `Your name, for ${String(args.topic)}?`,
                requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }
              })
            }
          })
        }
        return { content: [{ type: 'text', text: `hello ${String(record(answer.content).name)} (${answer.action})` }] }
      }
      case 'count': {
        const token = ctx.mcpReq._meta?.progressToken
        for (let progress = 1; progress <= 3; progress++) {
          if (token !== undefined) await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress, total: 3 } })
        }
        return { content: [{ type: 'text', text: 'counted' }] }
      }
      case 'chat': {
        // eslint-disable-next-line @typescript-eslint/no-deprecated -- MCP logging is what the mesh relays
        await ctx.mcpReq.log('info', { said: 'hello from the modern agent' })
        // eslint-disable-next-line @typescript-eslint/no-deprecated -- as above
        await ctx.mcpReq.log('debug', { said: 'a debug line' })
        return { content: [{ type: 'text', text: 'chatted' }] }
      }
      case 'wait': {
        const tag = String(args.tag)
        const signal = ctx.mcpReq.signal
        calls.waiting.add(tag)
        await new Promise<void>((resolve) => {
          if (signal.aborted) resolve()
          signal.addEventListener('abort', () => { resolve() }, { once: true })
        })
        calls.waiting.delete(tag)
        calls.cancelled.push(tag)
        return { content: [{ type: 'text', text: 'cancelled' }] }
      }
      default:
        return { content: [{ type: 'text', text: `no tool ${request.params.name}` }], isError: true }
    }
  })
  server.setRequestHandler('prompts/list', () => ({
    prompts: [{ name: 'review', description: 'reviews code', arguments: [{ name: 'language', required: true }] }]
  }))
  server.setRequestHandler('prompts/get', (request) => {
    const language = request.params.arguments?.language
    // A refusal with the agent's own code, which must reach the caller as it is.
    if (language === undefined) throw new ProtocolError(REVIEW_REFUSAL.code, REVIEW_REFUSAL.message)
    return { messages: [{ role: 'user', content: { type: 'text', text: `review some ${language}` } }] }
  })
  server.setRequestHandler('completion/complete', (request) => {
    const value = request.params.argument.value
    return { completion: { values: LANGUAGES.filter((l) => l.startsWith(value)), hasMore: false } }
  })
  return server
}

/** What one HTTP request carried, read from the raw body (never throws). */
function seenOf (req: IncomingMessage, body: string): SeenRequest[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    return []
  }
  const header = req.headers['mcp-protocol-version']
  const direct = req.headers[DIRECT_HEADER] !== undefined
  return (Array.isArray(parsed) ? parsed : [parsed]).map(record).filter((m) => typeof m.method === 'string' && m.id !== undefined).map((m) => {
    const params = record(m.params)
    const meta = record(params._meta)
    return {
      method: m.method as string,
      ...(typeof header === 'string' ? { protocolVersion: header } : {}),
      ...(typeof params.name === 'string' ? { name: params.name } : {}),
      ...('io.modelcontextprotocol/clientCapabilities' in meta ? { capabilities: meta['io.modelcontextprotocol/clientCapabilities'] } : {}),
      ...('io.modelcontextprotocol/logLevel' in meta ? { logLevel: meta['io.modelcontextprotocol/logLevel'] } : {}),
      ...(direct ? { direct: true as const } : {})
    }
  })
}

/** Serves the agent on 127.0.0.1 at a free port, path /mcp. */
export async function startModernAgent (): Promise<ModernAgent> {
  const seen: SeenRequest[] = []
  const calls: Calls = { waiting: new Set(), cancelled: [] }
  const handler = createMcpHandler(() => mcpServer(calls))
  const served = await serveMcpHandler(handler, (req, body) => { seen.push(...seenOf(req, body)) })
  return {
    url: served.url,
    seen,
    ...calls,
    close: async () => {
      await served.close()
      await handler.close()
    }
  }
}
