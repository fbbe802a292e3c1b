// Turns what a probe saw (raw MCP results, from TypeScript or Python) into FeatureOutcomes: one
// stable value per feature, comparable between clients, protocol revisions, and a direct
// connection versus one through a Dawn node. Only what legitimately differs is removed: ids,
// progress tokens, timestamps and session ids in server-everything's texts, the 2026-07-28
// result stamps, `_meta` keys starting with `dawn/`, and the mapped names (turned back into the
// originals).
import { createHash } from 'node:crypto'
import { INPUTS, type NameTable } from './plan.ts'

export const FEATURES = [
  'tools/list', 'tool/text', 'tool/image', 'tool/annotations', 'tool/resource-links', 'tool/embedded-resource',
  'tool/structured-output', 'progress', 'cancellation', 'logging', 'sampling', 'elicitation/form',
  'elicitation/url', 'roots', 'resources/list', 'resources/read', 'resources/templates/list',
  'resources/read-template', 'resources/subscribe', 'resources/list-changed', 'prompts/list', 'prompts/get',
  'prompts/get-embedded', 'completion/prompt', 'completion/template'
] as const
export type FeatureName = typeof FEATURES[number]

/** What a probe prints: per feature the raw results it saw, or `{ error }` if the feature failed. */
export interface RawOutcomes {
  protocolVersion: string
  features: Partial<Record<FeatureName, unknown>>
}

export interface FeatureOutcomes {
  /** The negotiated revision: not compared, it is the point of the two eras. */
  protocolVersion: string
  features: Record<FeatureName, unknown>
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }
type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
/** Keys a 2026-07-28 result carries and a 2025-11-25 one does not. */
const ERA_STAMPS = new Set(['resultType', 'ttlMs', 'cacheScope'])
const DROPPED_META = (k: string): boolean => k.startsWith('dawn/') || k.startsWith('io.modelcontextprotocol/') || k === 'progressToken'
const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']

/** server-everything stamps its dynamic resources and log lines with the time and the session id. */
export function normalizeText (s: string): string {
  return s
    .replace(/created at \d{1,2}:\d{2}:\d{2}(\s?[AP]M)?/g, 'created at <time>')
    .replace(/\s*-?\s*SessionId [0-9a-f-]+/g, '')
}

function cleanWith (unmap: Map<string, string>): (v: unknown) => Json {
  const clean = (v: unknown): Json => {
    if (typeof v === 'string') return normalizeText(unmap.get(v) ?? v)
    if (typeof v === 'number' || typeof v === 'boolean' || v === null) return v
    if (Array.isArray(v)) return v.map(clean)
    if (!isObj(v)) return null
    const out: Record<string, Json> = {}
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined || x === null || ERA_STAMPS.has(k)) continue
      if (k === '_meta' && isObj(x)) {
        const kept = Object.fromEntries(Object.entries(x).filter(([mk]) => !DROPPED_META(mk)))
        if (Object.keys(kept).length > 0) out[k] = clean(kept)
      } else if (k === 'blob' && typeof x === 'string') {
        out.blobText = normalizeText(Buffer.from(x, 'base64').toString('utf8'))
      } else if (k === 'data' && typeof x === 'string' && (v.type === 'image' || v.type === 'audio')) {
        out.dataSha256 = createHash('sha256').update(x).digest('hex')
      } else {
        out[k] = clean(x)
      }
    }
    // A 2025 result may say `isError: false` where another client leaves it out.
    if (out.isError === false) delete out.isError
    return out
  }
  return clean
}

const texts = (result: unknown): string[] =>
  isObj(result) && Array.isArray(result.content)
    ? result.content.filter(isObj).map(c => typeof c.text === 'string' ? normalizeText(c.text) : `<${String(c.type)}>`)
    : []

const byKey = (key: string) => (a: Json, b: Json): number =>
  JSON.stringify(isObj(a) ? a[key] : null).localeCompare(JSON.stringify(isObj(b) ? b[key] : null))

/** The reverse of a NameTable: mapped name or URI back to the original, where they differ. */
export function unmapOf (names: NameTable): Map<string, string> {
  const m = new Map<string, string>()
  for (const group of [names.tools, names.prompts, names.resources, names.templates]) {
    for (const [original, mapped] of Object.entries(group)) if (mapped !== original) m.set(mapped, original)
  }
  return m
}

export function normalizeOutcomes (raw: RawOutcomes, names: NameTable): FeatureOutcomes {
  const unmap = unmapOf(names)
  const clean = cleanWith(unmap)
  const features = {} as Record<FeatureName, unknown>
  for (const f of FEATURES) {
    const v = raw.features[f]
    if (v === undefined) features[f] = { error: 'missing: the probe did not report this feature' }
    else if (isObj(v) && typeof v.error === 'string' && Object.keys(v).length === 1) features[f] = { error: normalizeText(v.error) }
    else features[f] = derive(f, v, clean)
  }
  return { protocolVersion: raw.protocolVersion, features }
}

function derive (f: FeatureName, v: unknown, clean: (v: unknown) => Json): unknown {
  const o = isObj(v) ? v : {}
  switch (f) {
    case 'tools/list':
      // `execution.taskSupport` belongs to tasks, which 2026-07-28 does not have (and the probes leave out).
      return (clean(v) as Json[]).map(t => { if (isObj(t)) delete t.execution; return t }).sort(byKey('name'))
    case 'prompts/list':
      return (clean(v) as Json[]).sort(byKey('name'))
    case 'resources/list':
      // The original URI, wherever the layer in between put it.
      return (Array.isArray(v) ? v : []).filter(isObj).map(r => {
        const original = isObj(r._meta) && typeof r._meta['dawn/uri'] === 'string' ? r._meta['dawn/uri'] : r.uri
        return clean({ ...r, uri: original })
      }).sort(byKey('uri'))
    case 'resources/templates/list':
      return (clean(v) as Json[]).sort(byKey('uriTemplate'))
    case 'progress': {
      const p = Array.isArray(o.progress) ? o.progress.map(Number) : []
      return {
        received: p.length >= 1,
        monotonic: p.every((x, i) => i === 0 || x > (p[i - 1] ?? -Infinity)),
        totals: [...new Set(Array.isArray(o.total) ? o.total : [])],
        result: texts(o.result)
      }
    }
    case 'cancellation':
      return { rejectedAfterProgress: Number(o.progressSeen) >= 1 && o.rejected === true, afterwards: texts(o.after) }
    case 'logging': {
      // Simulated lines look like `<Level>-level message` (one is `Alert level-message`).
      const simulated = (Array.isArray(o.messages) ? o.messages : []).filter(isObj)
        .filter(m => typeof m.data === 'string' && /level[- ]message/i.test(m.data))
      return {
        received: simulated.length >= 1,
        wellFormed: simulated.every(m => LEVELS.includes(String(m.level)) && String(m.data).toLowerCase().startsWith(String(m.level))),
        started: typeof o.started === 'string' && o.started.startsWith('Started')
      }
    }
    case 'sampling': {
      const req = isObj(o.request) ? o.request : {}
      return { request: clean({ messages: req.messages, systemPrompt: req.systemPrompt, maxTokens: req.maxTokens }), result: samplingEcho(o.result, clean) }
    }
    case 'elicitation/form':
    case 'elicitation/url': {
      const req = isObj(o.request) ? o.request : {}
      const schema = isObj(req.requestedSchema) ? req.requestedSchema : {}
      return {
        request: clean({ mode: req.mode ?? 'form', message: req.message, url: req.url, elicitationId: req.elicitationId, fields: isObj(schema.properties) ? Object.keys(schema.properties).sort() : undefined, required: schema.required }),
        result: texts(o.result).filter(t => !t.startsWith('\nRaw result'))
      }
    }
    case 'resources/subscribe': {
      const updated = Array.isArray(o.updated) ? o.updated.map(u => clean(u)) : []
      return { updated: [...new Set(updated)].sort() }
    }
    case 'resources/list-changed':
      return { notified: o.notified === true, result: clean(o.result) }
    default:
      return clean(v)
  }
}

/** The sampling tool returns the client's answer as JSON inside its text. */
function samplingEcho (result: unknown, clean: (v: unknown) => Json): Json {
  const t = texts(result)[0] ?? ''
  const json = t.slice(t.indexOf('{'))
  try { return clean(JSON.parse(json) as unknown) } catch { return t }
}

/** The fixed answers the probes give, for the expectations. */
export const ANSWERS = { elicitation: INPUTS.elicitationAnswer, sampling: INPUTS.samplingAnswer, root: INPUTS.root }
