// The TypeScript side of the feature probe: the official SDK v2 client exercises every feature of
// server-everything through `url` and reports the raw results (see outcomes.ts for the shapes).
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { eventually } from '../eventually.ts'
import type { FeatureName, RawOutcomes } from './outcomes.ts'
import {
  INPUTS, RESOURCE_PREFIX, STATIC_DOC, SUBSCRIBED_URI, TEMPLATE_BLOB_URI, TEMPLATE_TEXT_URI, TEXT_TEMPLATE, TOOLS,
  type Era, type NameTable
} from './plan.ts'

const LOG_LEVEL_META = 'io.modelcontextprotocol/logLevel'
const MODERN: Era = '2026-07-28'

/** A client pinned to `era`: `legacy` is the 2025-11-25 handshake, the pin fails unless the server speaks 2026-07-28. */
export function probeClient (era: Era): Client {
  return new Client({ name: 'dawn-feature-probe', version: '1.0.0' }, {
    capabilities: { elicitation: { form: {}, url: {} }, sampling: {}, roots: { listChanged: true } },
    versionNegotiation: era === MODERN ? { mode: { pin: MODERN } } : { mode: 'legacy' }
  })
}

interface Seen {
  elicitations: Array<Record<string, unknown>>
  sampling: Array<Record<string, unknown>>
  logs: Array<{ level: string, logger?: string, data: unknown }>
  updated: string[]
  listChanged: number
}

/** Runs every feature once; a feature that throws is reported as `{ error }` and the others still run. */
export async function probeWithTs (url: URL, era: Era, names: NameTable, signal?: AbortSignal): Promise<RawOutcomes> {
  const seen: Seen = { elicitations: [], sampling: [], logs: [], updated: [], listChanged: 0 }
  const client = probeClient(era)
  client.setRequestHandler('elicitation/create', (req) => {
    const params: Record<string, unknown> = req.params
    seen.elicitations.push(params)
    return params.mode === 'url' ? { action: 'accept' } : { action: 'accept', content: { ...INPUTS.elicitationAnswer } }
  })
  client.setRequestHandler('sampling/createMessage', (req) => {
    seen.sampling.push(req.params)
    return structuredClone(INPUTS.samplingAnswer)
  })
  client.setRequestHandler('roots/list', () => ({ roots: [{ ...INPUTS.root }] }))
  client.setNotificationHandler('notifications/message', (n) => { seen.logs.push(n.params) })
  client.setNotificationHandler('notifications/resources/updated', (n) => { seen.updated.push(n.params.uri) })
  client.setNotificationHandler('notifications/resources/list_changed', () => { seen.listChanged++ })
  await client.connect(new StreamableHTTPClientTransport(url))
  const modern = client.getProtocolEra() === 'modern'
  const features: RawOutcomes['features'] = {}
  const o = { signal, timeout: 60_000 }
  const logMeta = modern ? { [LOG_LEVEL_META]: INPUTS.logLevel } : undefined
  const tool = (name: string): string => names.tools[name] ?? name
  const call = async (name: string, args: Record<string, unknown> = {}, meta?: Record<string, unknown>): Promise<Record<string, unknown>> =>
    await client.callTool({ name: tool(name), arguments: args, ...(meta !== undefined ? { _meta: meta } : {}) }, o)
  const textOf = (r: Record<string, unknown>): string => (r.content as Array<{ text?: string }>)[0]?.text ?? ''
  /** The simulations are per-session toggles: call until the answer says `want` (Started/Stopped). */
  const toggle = async (name: string, want: 'Started' | 'Stopped', meta?: Record<string, unknown>): Promise<string> => {
    let text = textOf(await call(name, {}, meta))
    if (!text.startsWith(want)) text = textOf(await call(name, {}, meta))
    return text
  }
  const waitFor = async (what: string, done: () => boolean, poll?: () => Promise<unknown>): Promise<void> => {
    await eventually(async () => { if (done()) return true; await poll?.(); return done() }, { what, timeoutMs: INPUTS.waitMs, intervalMs: 500 })
  }
  const run = async (f: FeatureName, body: () => Promise<unknown>): Promise<void> => {
    signal?.throwIfAborted()
    try { features[f] = await body() } catch (err) { features[f] = { error: err instanceof Error ? err.message : String(err) } }
  }
  try {
    const mapped = new Set(Object.values(names.tools))
    // Conditional tools appear once server-everything has seen the client's capabilities.
    await run('tools/list', async () => await eventually(async () => {
      const listed = (await client.listTools(undefined, { ...o, cacheMode: 'refresh' })).tools.filter(t => mapped.has(t.name))
      return listed.length === TOOLS.length ? listed : undefined
    }, { what: `all of ${TOOLS.join(', ')} listed`, timeoutMs: INPUTS.waitMs }))
    await run('tool/text', async () => await call('echo', INPUTS.echo))
    await run('tool/image', async () => await call('get-tiny-image'))
    await run('tool/annotations', async () => await call('get-annotated-message', INPUTS.annotated))
    await run('tool/resource-links', async () => await call('get-resource-links', INPUTS.links))
    await run('tool/embedded-resource', async () => await call('get-resource-reference', INPUTS.reference))
    await run('tool/structured-output', async () => await call('get-structured-content', INPUTS.structured))
    await run('progress', async () => {
      const progress: number[] = []
      const total: Array<number | null> = []
      const result = await client.callTool({ name: tool('trigger-long-running-operation'), arguments: INPUTS.progress },
        { ...o, onprogress: (p) => { progress.push(p.progress); total.push(p.total ?? null) } })
      return { progress, total, result }
    })
    await run('cancellation', async () => {
      const ac = new AbortController()
      let progressSeen = 0
      const rejected = await client.callTool({ name: tool('trigger-long-running-operation'), arguments: INPUTS.cancel }, {
        ...o,
        signal: signal !== undefined ? AbortSignal.any([signal, ac.signal]) : ac.signal,
        onprogress: () => { progressSeen++; ac.abort(new Error('dawn-probe cancels')) }
      }).then(() => false, () => true)
      return { progressSeen, rejected, after: await call('echo', INPUTS.echo) }
    })
    await run('logging', async () => {
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- 2025-11-25 has no other way to choose a level
      if (!modern) await client.setLoggingLevel(INPUTS.logLevel, o)
      const started = await toggle('toggle-simulated-logging', 'Started', logMeta)
      try {
        // On 2026-07-28 a log line can only ride on a request that opted in: keep one going.
        await waitFor('a simulated log message', () => seen.logs.some(isSimulatedLog), async () => await call('echo', INPUTS.echo, logMeta))
      } finally { await toggle('toggle-simulated-logging', 'Stopped', logMeta) }
      return { started, messages: seen.logs.filter(isSimulatedLog) }
    })
    await run('sampling', async () => {
      const result = await call('trigger-sampling-request', INPUTS.sampling)
      return { request: seen.sampling.at(-1), result }
    })
    await run('elicitation/form', async () => {
      const result = await call('trigger-elicitation-request')
      return { request: seen.elicitations.at(-1), result }
    })
    await run('elicitation/url', async () => {
      const result = await call('trigger-url-elicitation', INPUTS.urlElicitation)
      return { request: seen.elicitations.at(-1), result }
    })
    await run('roots', async () => await call('get-roots-list'))
    await run('resources/list', async () => (await client.listResources(undefined, o)).resources.filter(r => {
      const original = typeof r._meta?.['dawn/uri'] === 'string' ? r._meta['dawn/uri'] : r.uri
      return original.startsWith(RESOURCE_PREFIX)
    }))
    await run('resources/read', async () => await client.readResource({ uri: names.resources[STATIC_DOC] ?? STATIC_DOC }, o))
    await run('resources/templates/list', async () => {
      const wanted = new Set(Object.values(names.templates))
      return (await client.listResourceTemplates(undefined, o)).resourceTemplates.filter(t => wanted.has(t.uriTemplate))
    })
    await run('resources/read-template', async () => await Promise.all([TEMPLATE_TEXT_URI, TEMPLATE_BLOB_URI].map(async u =>
      await client.readResource({ uri: names.resources[u] ?? u }, { ...o, cacheMode: 'bypass' }))))
    await run('resources/subscribe', async () => {
      const uri = names.resources[SUBSCRIBED_URI] ?? SUBSCRIBED_URI
      const sub = modern ? await client.listen({ resourceSubscriptions: [uri] }, o) : undefined
      if (!modern) await client.subscribeResource({ uri }, o)
      try {
        await toggle('toggle-subscriber-updates', 'Started')
        await waitFor(`notifications/resources/updated for ${uri}`, () => seen.updated.includes(uri))
      } finally {
        await toggle('toggle-subscriber-updates', 'Stopped')
        if (sub !== undefined) await sub.close(); else await client.unsubscribeResource({ uri }, o)
      }
      return { updated: seen.updated.filter(u => u === uri) }
    })
    await run('resources/list-changed', async () => {
      const sub = modern ? await client.listen({ resourcesListChanged: true }, o) : undefined
      try {
        const before = seen.listChanged
        const result = await call('gzip-file-as-resource', INPUTS.gzip)
        await waitFor('notifications/resources/list_changed', () => seen.listChanged > before)
        return { notified: true, result }
      } finally { await sub?.close() }
    })
    const prompt = (name: string): string => names.prompts[name] ?? name
    await run('prompts/list', async () => {
      const wanted = new Set(Object.values(names.prompts))
      return (await client.listPrompts(undefined, o)).prompts.filter(p => wanted.has(p.name))
    })
    await run('prompts/get', async () => await client.getPrompt({ name: prompt('args-prompt'), arguments: INPUTS.argsPrompt }, o))
    await run('prompts/get-embedded', async () => await client.getPrompt({ name: prompt('resource-prompt'), arguments: INPUTS.resourcePrompt }, o))
    await run('completion/prompt', async () => {
      const ref = { type: 'ref/prompt' as const, name: prompt('completable-prompt') }
      return [
        await client.complete({ ref, argument: INPUTS.completePrompt.argument }, o),
        await client.complete({ ref, argument: INPUTS.completePromptWithContext.argument, context: { arguments: INPUTS.completePromptWithContext.context } }, o)
      ]
    })
    await run('completion/template', async () => await client.complete({
      ref: { type: 'ref/resource', uri: names.templates[TEXT_TEMPLATE] ?? TEXT_TEMPLATE }, argument: INPUTS.completeTemplate.argument
    }, o))
    return { protocolVersion: client.getNegotiatedProtocolVersion() ?? 'unknown', features }
  } finally {
    await client.close()
  }
}

const isSimulatedLog = (m: { data: unknown }): boolean => typeof m.data === 'string' && /level[- ]message/i.test(m.data)
