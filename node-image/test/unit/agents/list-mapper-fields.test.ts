// The fields an agent lists beyond names: kept exactly as listed when they fit the registry's
// caps, and dropped (or the item skipped) with a report when an agent or a peer oversizes them.
import { describe, expect, it } from 'vitest'
import { toAgentPrompts, toAgentResources, toAgentResourceTemplates, toAgentTools } from '../../../src/agents/list-mapper.ts'
import {
  MAX_ANNOTATIONS_BYTES, MAX_ICONS, MAX_ICONS_BYTES, MAX_META_BYTES, MAX_OUTPUT_SCHEMA_BYTES, MAX_RESOURCE_TEMPLATES,
  parseAgentRecord, parseRegistryState, RegistryValidationError, type AgentRecord
} from '../../../src/registry/agent-record.ts'

const NODE = '12D3KooW' + 'A'.repeat(44)
const REPLICA = `${NODE}.0badf00d`

function collect (): { skipped: string[], skip: (what: string, name: string, reason: string) => void } {
  const skipped: string[] = []
  return { skipped, skip: (what, name, reason) => { skipped.push(`${what} ${name}: ${reason}`) } }
}

function record (over: Partial<AgentRecord>): AgentRecord {
  return { nodeId: NODE, agentId: 'a', name: 'a', kind: 'remote', description: '', tools: [], updatedAt: 1, ...over }
}

const ICON = { src: 'data:image/png;base64,iVBORw0KGgo=', mimeType: 'image/png', sizes: ['48x48'], theme: 'dark' }
const big = (bytes: number): string => 'x'.repeat(bytes)

describe('list fields kept as the agent listed them', () => {
  it('keeps title, outputSchema, annotations, icons and _meta of tools untouched', () => {
    const { skipped, skip } = collect()
    const tool = {
      name: 'get-structured-content',
      title: 'Structured',
      description: 'd',
      inputSchema: { type: 'object', properties: { location: { type: 'string' } } },
      outputSchema: { type: 'object', properties: { temperature: { type: 'number' } }, required: ['temperature'] },
      annotations: { readOnlyHint: true, openWorldHint: false, 'x-vendor': { any: 'thing' } },
      icons: [ICON],
      _meta: { 'vendor/key': [1, 2, 3] }
    }
    expect(toAgentTools([tool], skip)).toEqual([tool])
    expect(skipped).toEqual([])
  })

  it('keeps resources\' size, annotations and icons, prompts\' titles, and resource templates', () => {
    const { skipped, skip } = collect()
    const resource = { uri: 'demo://a', name: 'a', title: 'A', mimeType: 'text/plain', size: 12, annotations: { audience: ['user'], priority: 0.5, lastModified: '2026-01-01T00:00:00Z' }, icons: [ICON], _meta: { k: 'v' } }
    const prompt = { name: 'p', title: 'P', arguments: [{ name: 'x', title: 'X', required: true }], icons: [ICON], _meta: { k: 1 } }
    const template = { uriTemplate: 'demo://resource/dynamic/text/{resourceId}', name: 'Dynamic Text Resource', title: 'T', description: 'd', mimeType: 'text/plain', annotations: { priority: 1 }, icons: [ICON], _meta: { k: true } }
    const resources = toAgentResources([resource], skip)
    const prompts = toAgentPrompts([prompt], skip)
    const resourceTemplates = toAgentResourceTemplates([template, { uriTemplate: 'demo://{x}' }, { name: 'no template' }], skip)
    expect(resources).toEqual([resource])
    expect(prompts).toEqual([prompt])
    expect(resourceTemplates).toEqual([template])
    expect(skipped).toEqual([expect.stringMatching(/^resource template demo:\/\/\{x\}: name/), 'resource template ?: no uriTemplate'])
    expect(() => parseAgentRecord(record({ resources, prompts, resourceTemplates }))).not.toThrow()
  })

  it('drops an oversized or malformed decoration alone, with a report, and keeps the item', () => {
    const { skipped, skip } = collect()
    const tools = toAgentTools([
      { name: 'big-icons', icons: [{ src: `data:image/png;base64,${big(MAX_ICONS_BYTES)}` }] },
      { name: 'many-icons', icons: Array.from({ length: MAX_ICONS + 1 }, () => ({ src: 'https://example.org/i.png' })) },
      { name: 'bad-icon', icons: [{ mimeType: 'image/png' }] },
      { name: 'big-meta', _meta: { blob: big(MAX_META_BYTES) } },
      { name: 'big-annotations', annotations: { title: 't', junk: big(MAX_ANNOTATIONS_BYTES) } },
      { name: 'bad-annotations', annotations: { readOnlyHint: 'yes' } },
      { name: 'bad-title', title: 42 },
      { name: 'long-title', title: big(300) }
    ], skip)
    expect(tools).toEqual([
      { name: 'big-icons' }, { name: 'many-icons' }, { name: 'bad-icon' }, { name: 'big-meta' }, { name: 'big-annotations' }, { name: 'bad-annotations' },
      { name: 'bad-title' }, { name: 'long-title', title: big(256) }
    ])
    expect(skipped).toEqual([
      expect.stringMatching(/^tool big-icons: icons dropped: icons is \d+ bytes, limit 16384$/),
      expect.stringMatching(/^tool many-icons: icons dropped: /),
      expect.stringMatching(/^tool bad-icon: icons dropped: /),
      expect.stringMatching(/^tool big-meta: _meta dropped: _meta is \d+ bytes, limit 8192$/),
      expect.stringMatching(/^tool big-annotations: annotations dropped: annotations is \d+ bytes, limit 4096$/),
      expect.stringMatching(/^tool bad-annotations: annotations dropped: /),
      'tool bad-title: title dropped: not a string'
    ])
    const resources = toAgentResources([
      { uri: 'demo://a', name: 'a', size: -1 },
      { uri: 'demo://b', name: 'b', annotations: { priority: 7 } },
      { uri: 'demo://c', name: 'c', annotations: { lastModified: 'yesterday' } }
    ], skip)
    expect(resources).toEqual([{ uri: 'demo://a', name: 'a' }, { uri: 'demo://b', name: 'b' }, { uri: 'demo://c', name: 'c' }])
    expect(skipped.slice(-3)).toEqual(['resource demo://a: size dropped: not a byte count', expect.stringMatching(/^resource demo:\/\/b: annotations dropped: /), expect.stringMatching(/^resource demo:\/\/c: annotations dropped: /)])
    expect(() => parseAgentRecord(record({ tools, resources }))).not.toThrow()
  })

  it('skips a tool whose outputSchema is too large or not an object, as it does for inputSchema', () => {
    const { skipped, skip } = collect()
    const tools = toAgentTools([
      { name: 'huge', outputSchema: { type: 'object', description: big(MAX_OUTPUT_SCHEMA_BYTES) } },
      { name: 'array', outputSchema: [] },
      { name: 'ok', outputSchema: { type: 'object' } }
    ], skip)
    expect(tools).toEqual([{ name: 'ok', outputSchema: { type: 'object' } }])
    expect(skipped).toEqual([
      expect.stringMatching(/^tool huge: outputSchema is \d+ bytes, limit 65536$/),
      'tool array: outputSchema is not an object'
    ])
  })

  it('caps resource templates at 256', () => {
    const { skipped, skip } = collect()
    const many = Array.from({ length: MAX_RESOURCE_TEMPLATES + 10 }, (_, i) => ({ uriTemplate: `demo://${i}/{id}`, name: `t${i}` }))
    expect(toAgentResourceTemplates(many, skip)).toHaveLength(MAX_RESOURCE_TEMPLATES)
    expect(skipped).toHaveLength(10)
  })
})

describe('a peer\'s record with oversized fields', () => {
  const state = (rec: AgentRecord): unknown => ({ entries: { [`${rec.nodeId}:${rec.agentId}`]: { [`${REPLICA}@1`]: rec } }, context: { vv: { [REPLICA]: 1 }, cloud: [] } })
  const refusal = (rec: AgentRecord): RegistryValidationError => {
    try {
      parseRegistryState(state(rec))
    } catch (err) {
      expect(err).toBeInstanceOf(RegistryValidationError)
      return err as RegistryValidationError
    }
    throw new Error('expected a refusal')
  }

  it('is refused as too large, naming the field', () => {
    const e1 = refusal(record({ tools: [{ name: 't', outputSchema: { type: 'object', description: big(MAX_OUTPUT_SCHEMA_BYTES) } }] }))
    expect([e1.code, e1.path]).toEqual(['too-large', `/entries/${NODE}:a/${REPLICA}@1/tools/0/outputSchema`])
    const e2 = refusal(record({ resourceTemplates: [{ uriTemplate: 'x/{y}', name: 'x', _meta: { blob: big(MAX_META_BYTES) } }] }))
    expect([e2.code, e2.path]).toEqual(['too-large', `/entries/${NODE}:a/${REPLICA}@1/resourceTemplates/0/_meta`])
    const e3 = refusal(record({ prompts: [{ name: 'p', icons: [{ src: big(MAX_ICONS_BYTES - 100) }, { src: 'y'.repeat(200) }] }] }))
    expect([e3.code, e3.path]).toEqual(['too-large', `/entries/${NODE}:a/${REPLICA}@1/prompts/0/icons`])
  })

  it('is refused by schema when a typed decoration has the wrong type', () => {
    const err = refusal(record({ tools: [{ name: 't', annotations: { readOnlyHint: 'yes' as unknown as boolean } }] }))
    expect(err.code).toBe('schema')
    expect(err.path).toContain('/tools/0/annotations/readOnlyHint')
  })

  it('parses a record without any of the new fields', () => {
    expect(() => parseRegistryState(state(record({ tools: [{ name: 't' }], resources: [{ uri: 'u', name: 'n' }], prompts: [{ name: 'p' }] })))).not.toThrow()
  })
})
