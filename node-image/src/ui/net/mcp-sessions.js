// The page is an MCP client of its own node: one official-SDK session per agent, on the
// node's per-agent endpoint /mcp/agents/<agentId>, which lists the agent under its own
// tool, prompt and resource names. Progress, cancellation, elicitation, sampling and
// prompts are then the protocol's own.
import { authHeaders, reportAuthRequired } from './api.js'

/**
 * Browsers open at most 6 HTTP/1.1 connections per host. Each open session holds one for
 * its standalone GET stream (the node asks an agent's questions there: they reach it on the
 * agent's session, not on the call), and the event stream holds one; the rest serve calls.
 */
const MAX_OPEN = 2
const CALL_TIMEOUT_MS = 10 * 60_000

let sdkPromise
/** The SDK bundle (700 KB) loads on the first agent the person opens, not with the page. */
export function loadSdk () {
  sdkPromise ??= import('/ui/vendor/mcp.js')
  return sdkPromise
}

/** Adds the token to every request the SDK makes, and asks for it on a 401. */
async function pageFetch (input, init = {}) {
  const headers = new Headers(init.headers)
  for (const [k, v] of Object.entries(authHeaders())) headers.set(k, v)
  const res = await fetch(input, { ...init, headers })
  if (res.status === 401) reportAuthRequired()
  return res
}

const open = new Map() // agentId → Promise<AgentSession>, in use order

/**
 * One agent's session. `ask` is how the server's questions reach the person:
 * ask({kind: 'elicitation'|'sampling', agentId, params}) → Promise<result>.
 */
export async function sessionFor (agentId, ask) {
  const existing = open.get(agentId)
  if (existing !== undefined) {
    open.delete(agentId)
    open.set(agentId, existing)
    return await existing
  }
  const session = connect(agentId, ask)
  open.set(agentId, session)
  session.catch(() => { if (open.get(agentId) === session) open.delete(agentId) })
  while (open.size > MAX_OPEN) {
    const [oldest, promise] = open.entries().next().value
    open.delete(oldest)
    promise.then(s => s.close(), () => {})
  }
  return await session
}

/** Forgets a session the node no longer knows (a restart), so the next use opens a new one. */
export function dropSession (agentId) {
  const s = open.get(agentId)
  open.delete(agentId)
  s?.then(x => x.close(), () => {})
}

async function connect (agentId, ask) {
  const { Client, StreamableHTTPClientTransport } = await loadSdk()
  const client = new Client({ name: 'dawn-chat', version: '1.0.0' }, {
    capabilities: { elicitation: { form: {}, url: {} }, sampling: {} }
  })
  client.setRequestHandler('elicitation/create', async (request) => await ask({ kind: 'elicitation', agentId, params: request.params }))
  client.setRequestHandler('sampling/createMessage', async (request) => await ask({ kind: 'sampling', agentId, params: request.params }))
  const url = new URL(`/mcp/agents/${encodeURIComponent(agentId)}`, location.origin)
  const transport = new StreamableHTTPClientTransport(url, { fetch: pageFetch })
  await client.connect(transport)
  const caps = client.getServerCapabilities() ?? {}
  const session = {
    agentId,
    client,
    tools: [],
    prompts: [],
    resources: [],
    /** Lists what the agent offers into the session (again after a registry change). */
    async relist () {
      const [tools, prompts, resources] = await Promise.all([
        caps.tools ? client.listTools().then(r => r.tools) : [],
        caps.prompts ? client.listPrompts().then(r => r.prompts) : [],
        caps.resources ? client.listResources().then(r => r.resources) : []
      ])
      Object.assign(session, { tools, prompts, resources })
    },
    callTool: (name, args, { onprogress, signal }) => client.callTool({ name, arguments: args }, { onprogress, signal, timeout: CALL_TIMEOUT_MS, resetTimeoutOnProgress: true }),
    getPrompt: (name, args, { signal } = {}) => client.getPrompt({ name, arguments: args }, { signal }),
    readResource: (uri, { signal } = {}) => client.readResource({ uri }, { signal }),
    // DELETE ends the node's session too, rather than leaving it to the idle sweep.
    close: () => transport.terminateSession().catch(() => {}).then(() => client.close()).catch(() => {})
  }
  await session.relist()
  return session
}

/** The SDK's own JSON Schema check (the same one it runs on results), for a form's whole value. */
export async function schemaCheck (schema) {
  const { CfWorkerJsonSchemaValidator } = await loadSdk()
  const validate = new CfWorkerJsonSchemaValidator().getValidator(schema)
  return value => {
    const r = validate(value)
    return r.valid ? undefined : (r.errorMessage ?? 'the arguments do not match the tool\'s schema')
  }
}
