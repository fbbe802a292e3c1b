// One probe per feature of the 2026-07-28 fixture agent (modern-agent.ts): each drives a v2 Client
// and reduces what it saw to an outcome object, so the same probe run directly against the agent
// and through a Dawn node must give equal outcomes. Only what a layer in between may legitimately
// change is removed (see `comparableFor`); names are given back without the mesh prefix.
import { isCatalogName } from '../../src/mcp/catalog-names.ts'
import { isDeepStrictEqual } from 'node:util'
import { Client, SERVER_INFO_META_KEY, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { eventually } from '../../../test/support/eventually.ts'
import { DIRECT_HEADER, type ModernAgent } from './modern-agent.ts'

export const MODERN = '2026-07-28'
export type Era = 'modern' | 'legacy'
export const FORM = { elicitation: { form: {} } }
const LOG_LEVEL_META = 'io.modelcontextprotocol/logLevel'

/** Where a probe's client connects: the agent itself, or a node's /mcp (with the names the node lists). */
export interface Target {
  url: URL
  /** Marks the requests at the agent as the direct client's, so the test can tell them from the node's. */
  direct: boolean
  /** The listed name of one of the agent's tools or prompts. */
  name: (original: string) => string
}

export const directTarget = (agent: ModernAgent): Target => ({ url: new URL(agent.url), direct: true, name: (n) => n })

/** What each probe gets: a connected client, its target, and a tag unique to this run. */
export interface ProbeRun { client: Client, era: Era, target: Target, agent: ModernAgent, tag: string, comparable: (v: unknown) => unknown }

export async function connectClient (target: Target, era: Era, capabilities: Record<string, unknown>): Promise<Client> {
  const client = new Client({ name: 'dawn-modern-agent-test', version: '1.0.0' }, {
    capabilities,
    versionNegotiation: era === 'modern' ? { mode: { pin: MODERN } } : { mode: 'legacy' }
  })
  const headers = target.direct ? { [DIRECT_HEADER]: '1' } : undefined
  await client.connect(new StreamableHTTPClientTransport(target.url, headers === undefined ? undefined : { requestInit: { headers } }))
  return client
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * A result as a caller may compare it. Removed, and nothing else:
 * - `_meta` keys starting with `dawn/`, which Dawn adds on purpose: `dawn/route` on results,
 *   `dawn/nodeId`, `dawn/agentId` and `dawn/tool` or `dawn/prompt` on listed tools and prompts;
 * - the serverInfo stamp of the server the client is connected to (2026-07-28 puts it on every
 *   result): the agent's directly, node A's through the mesh. A stamp naming any other server
 *   (the agent's, leaked through the mesh) stays and fails the comparison.
 */
export function comparableFor (connected: unknown): (v: unknown) => unknown {
  const comparable = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(comparable)
    if (!isObj(v)) return v
    const out: Obj = {}
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) continue
      if (k === '_meta' && isObj(x)) {
        const kept = Object.entries(x).filter(([mk, mv]) => !mk.startsWith('dawn/') && !(mk === SERVER_INFO_META_KEY && isDeepStrictEqual(mv, connected)))
        if (kept.length > 0) out[k] = comparable(Object.fromEntries(kept))
      } else out[k] = comparable(x)
    }
    return out
  }
  return comparable
}

/** A listing with the mesh prefix taken off each name, so it reads as the agent's own. */
function unnamed (items: Array<{ name: string }>, { target, comparable }: ProbeRun): unknown {
  const originals = new Map(['ask', 'count', 'chat', 'wait', 'review'].map((n) => [target.name(n), n]))
  // The mesh's own catalog tools (find_tools, call_tool) are not the agent's.
  const agents = target.direct ? items : items.filter((i) => !isCatalogName(i.name))
  return comparable(agents.map((i) => ({ ...i, name: originals.get(i.name) ?? `unexpected:${i.name}` })))
}

const errorOf = (e: unknown): { code: unknown, message: unknown } => ({ code: isObj(e) ? e.code : undefined, message: e instanceof Error ? e.message : String(e) })

export const FEATURES = ['tools/list', 'prompts/list', 'elicitation', 'progress', 'logging', 'cancellation', 'completion', 'prompts/get', 'error code'] as const
export type Feature = typeof FEATURES[number]

/** The client capabilities each probe declares: only the elicitation probe can be asked anything. */
export const CAPABILITIES: Record<Feature, Record<string, unknown>> = {
  'tools/list': {}, 'prompts/list': {}, elicitation: FORM, progress: {}, logging: {}, cancellation: {}, completion: {}, 'prompts/get': {}, 'error code': {}
}

export const PROBES: Record<Feature, (run: ProbeRun) => Promise<unknown>> = {
  'tools/list': async (run) => unnamed((await run.client.listTools()).tools, run),
  'prompts/list': async (run) => unnamed((await run.client.listPrompts()).prompts, run),
  elicitation: async ({ client, target, comparable }) => {
    const asked: unknown[] = []
    client.setRequestHandler('elicitation/create', (request) => {
      asked.push(comparable(request.params))
      return { action: 'accept', content: { name: 'Ada' } }
    })
    const rounds: unknown[] = []
    const result = await client.callTool({ name: target.name('ask'), arguments: { topic: 'compilers' } }, { onprogress: (p) => { rounds.push(p) } })
    // The agent reports no progress; a 2026-07-28 client reports the round it answered itself.
    return { asked, rounds, result: comparable(result) }
  },
  progress: async ({ client, target, comparable }) => {
    const seen: unknown[] = []
    const result = await client.callTool({ name: target.name('count'), arguments: {} }, { onprogress: (p) => { seen.push(p) } })
    return { progress: seen, result: comparable(result) }
  },
  logging: async ({ client, era, target, comparable }) => {
    const heard: unknown[] = []
    client.setNotificationHandler('notifications/message', (n) => { heard.push(comparable(n.params)) })
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- the 2025-11-25 way, which this client speaks
    if (era === 'legacy') await client.setLoggingLevel('info')
    // 2026-07-28 has no logging/setLevel: the level goes with the call.
    const result = await client.callTool({ name: target.name('chat'), arguments: {}, ...(era === 'modern' ? { _meta: { [LOG_LEVEL_META]: 'info' } } : {}) })
    // A 2025-11-25 session may hear the line on its GET stream, after the result.
    await eventually(async () => await Promise.resolve(heard.length > 0 ? true : undefined), { what: 'the agent\'s log line', timeoutMs: 10_000, intervalMs: 20 })
    return { heard, result: comparable(result) }
  },
  cancellation: async ({ client, target, agent, tag }) => {
    const cancel = new AbortController()
    const running = client.callTool({ name: target.name('wait'), arguments: { tag } }, { signal: cancel.signal })
    await eventually(async () => await Promise.resolve(agent.waiting.has(tag) ? true : undefined), { what: `the call ${tag} at the agent`, timeoutMs: 10_000, intervalMs: 20 })
    cancel.abort(new Error('the user gave up'))
    const rejected = await running.then(() => false, () => true)
    await eventually(async () => await Promise.resolve(agent.cancelled.includes(tag) ? true : undefined), { what: `the agent to see ${tag} cancelled`, timeoutMs: 10_000, intervalMs: 20 })
    return { rejected, cancelledAtAgent: agent.cancelled.filter((t) => t === tag).length, stillWaiting: agent.waiting.has(tag) }
  },
  completion: async ({ client, target, comparable }) => comparable(await client.complete({ ref: { type: 'ref/prompt', name: target.name('review') }, argument: { name: 'language', value: 'ty' } })),
  'prompts/get': async ({ client, target, comparable }) => comparable(await client.getPrompt({ name: target.name('review'), arguments: { language: 'rust' } })),
  'error code': async ({ client, target }) => await client.getPrompt({ name: target.name('review'), arguments: {} }).then((r) => ({ unexpected: r }), errorOf)
}

/**
 * What a 2025-11-25 client sees differently from a 2026-07-28 one because of the revision, not the
 * mesh: it answers a server-initiated request rather than an MRTR round, so it reports no round.
 */
export const LEGACY_DIFFERENCES: Partial<Record<Feature, (direct: unknown) => unknown>> = {
  elicitation: (direct) => ({ ...(direct as Obj), rounds: [] })
}

/**
 * What the mesh changes on purpose: a node names the agent that failed in every agent error
 * (agents/agent-host.ts), keeping the agent's own code and message after the name.
 */
export const MESH_DIFFERENCES: Partial<Record<Feature, (direct: unknown) => unknown>> = {
  // The mesh lists a logical agent's tools in name order: replicas may list them in different orders.
  'tools/list': (direct) => [...(direct as Array<{ name: string }>)].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  'error code': (direct) => ({ ...(direct as Obj), message: `agent modern: ${String((direct as Obj).message)}` })
}

/** Runs one probe on a fresh client and closes it. */
export async function probe (feature: Feature, target: Target, era: Era, agent: ModernAgent, tag: string): Promise<unknown> {
  const client = await connectClient(target, era, CAPABILITIES[feature])
  try {
    if (client.getProtocolEra() !== era) throw new Error(`the client negotiated ${client.getProtocolEra()}, not ${era}`)
    return await PROBES[feature]({ client, era, target, agent, tag, comparable: comparableFor(client.getServerVersion()) })
  } finally {
    await client.close().catch(() => {})
  }
}
