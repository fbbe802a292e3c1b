// A remote agent that records every execution of its tools, so a test can prove which calls
// ran and where: one server per replica, each with its own record. Two tools that do the same
// (record the key, hold it a while, answer), one marked idempotent and one not, so failover
// may retry the first and must not retry the second. Written with the official v2 server SDK
// (createMcpHandler behind node:http on loopback), like modern-agent.ts.
import { createMcpHandler, Server, type Tool } from '@modelcontextprotocol/server'
import { serveMcpHandler } from './serve-mcp-handler.ts'

/** Appends a line: running it twice appends twice, so failover must never retry it once sent. */
export const APPEND = 'append'
/** Sets a key: running it twice leaves the same state, so failover may retry it. */
export const PUT = 'put'

export interface Execution {
  tool: string
  key: string
}

export interface RecorderAgent {
  url: string
  /** Every execution, in the order the tool started running (before it answered). */
  executions: Execution[]
  /** Executions that started and have not answered yet. */
  running: Map<string, Execution>
  close: () => Promise<void>
}

const keySchema = { type: 'object' as const, properties: { key: { type: 'string' } }, required: ['key'] }
const TOOLS: Tool[] = [
  { name: APPEND, description: 'appends the key to a log (not idempotent)', inputSchema: keySchema, annotations: { idempotentHint: false, readOnlyHint: false, destructiveHint: false } },
  { name: PUT, description: 'sets the key (idempotent)', inputSchema: keySchema, annotations: { idempotentHint: true, readOnlyHint: false, destructiveHint: false } }
]

// A hand-written low-level server, as Dawn's own are (agents/define-server.ts).
// eslint-disable-next-line @typescript-eslint/no-deprecated -- see above
function mcpServer (agent: Pick<RecorderAgent, 'executions' | 'running'>, holdMs: number): Server {
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- see above
  const server = new Server({ name: 'recorder-agent', version: '1.0.0' }, { capabilities: { tools: {} } })
  server.setRequestHandler('tools/list', () => ({ tools: TOOLS }))
  server.setRequestHandler('tools/call', async (request) => {
    const tool = request.params.name
    const key = request.params.arguments?.key
    if (!TOOLS.some((t) => t.name === tool) || typeof key !== 'string') {
      return { content: [{ type: 'text', text: `no tool ${tool}, or no key` }], isError: true }
    }
    const execution = { tool, key }
    const token = `${tool}:${key}:${agent.executions.length}`
    // Recorded as it starts: a call that reached the agent counts as executed, answered or not.
    agent.executions.push(execution)
    agent.running.set(token, execution)
    try {
      // Held so that calls are inside the agent when a test kills the node in front of it.
      await new Promise((resolve) => setTimeout(resolve, holdMs))
    } finally {
      agent.running.delete(token)
    }
    return { content: [{ type: 'text', text: `${tool} ${key}` }] }
  })
  return server
}

/** Serves the agent on 127.0.0.1 at a free port, path /mcp; each tool call holds `holdMs` before it answers. */
export async function startRecorderAgent (opts: { holdMs: number }): Promise<RecorderAgent> {
  const record: Pick<RecorderAgent, 'executions' | 'running'> = { executions: [], running: new Map() }
  const handler = createMcpHandler(() => mcpServer(record, opts.holdMs))
  const served = await serveMcpHandler(handler)
  return {
    url: served.url,
    ...record,
    close: async () => {
      await served.close()
      await handler.close()
    }
  }
}
