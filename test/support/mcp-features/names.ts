// How the probe finds server-everything's tools, prompts and resources behind a name-mapping
// layer. Directly, names are unchanged. Through a Dawn node, tools and prompts are listed as
// `<nodeTag>.<agentId>.<name>` and resources as `dawn://<nodeId>/<agentId>/<URI-encoded original>`
// with the original in `_meta['dawn/uri']`.
import type { Client } from '@modelcontextprotocol/client'

export interface NameMap {
  tool: (original: string) => string
  prompt: (original: string) => string
  resourceUri: (original: string) => string
  templateUri?: (original: string) => string
}

export const identityNames: NameMap = {
  tool: n => n,
  prompt: n => n,
  resourceUri: u => u,
  templateUri: u => u
}

/** The listed name for `original`: itself, or the one name ending in `.<original>` (sorted first if several). */
export function bySuffix (listed: readonly string[], original: string): string {
  if (listed.includes(original)) return original
  return listed.filter(n => n.endsWith(`.${original}`)).sort()[0] ?? original
}

interface Listed { uri?: string, uriTemplate?: string, _meta?: Record<string, unknown> }

const metaString = (entry: Listed, key: string): string | undefined => {
  const v = entry._meta?.[key]
  return typeof v === 'string' ? v : undefined
}

/**
 * Builds a NameMap from what `client` lists. Tools and prompts match by suffix. Resources match
 * by `_meta['dawn/uri']`; an original that is not listed (a URI made from a template) gets the
 * prefix that the listed ones show before their URI-encoded original, if there is one. Templates
 * match `_meta['dawn/uriTemplate']`, then `_meta['dawn/uri']`, then the template itself.
 */
export async function namesFromListing (client: Client, opts: { signal?: AbortSignal } = {}): Promise<NameMap> {
  const o = { signal: opts.signal }
  const [tools, prompts, resources, templates] = await Promise.all([
    client.listTools(undefined, o),
    client.listPrompts(undefined, o).catch(() => ({ prompts: [] })),
    client.listResources(undefined, o).catch(() => ({ resources: [] })),
    client.listResourceTemplates(undefined, o).catch(() => ({ resourceTemplates: [] }))
  ])
  return namesFromLists({
    tools: tools.tools.map(t => t.name),
    prompts: prompts.prompts.map(p => p.name),
    resources: resources.resources,
    templates: templates.resourceTemplates
  })
}

export function namesFromLists (lists: { tools: string[], prompts: string[], resources: Listed[], templates: Listed[] }): NameMap {
  const byOriginal = new Map<string, string>()
  let prefix: string | undefined
  for (const r of lists.resources) {
    const original = metaString(r, 'dawn/uri')
    if (original === undefined || r.uri === undefined) continue
    byOriginal.set(original, r.uri)
    const encoded = encodeURIComponent(original)
    if (prefix === undefined && r.uri.endsWith(encoded) && r.uri !== original) prefix = r.uri.slice(0, -encoded.length)
  }
  const templateByOriginal = new Map<string, string>()
  for (const t of lists.templates) {
    const original = metaString(t, 'dawn/uriTemplate') ?? metaString(t, 'dawn/uri')
    if (original !== undefined && t.uriTemplate !== undefined) templateByOriginal.set(original, t.uriTemplate)
  }
  return {
    tool: n => bySuffix(lists.tools, n),
    prompt: n => bySuffix(lists.prompts, n),
    resourceUri: u => byOriginal.get(u) ?? (prefix !== undefined ? prefix + encodeURIComponent(u) : u),
    templateUri: u => templateByOriginal.get(u) ?? u
  }
}
