/**
 * Property tests of naming: random registries (several agents, replicas, duplicate records,
 * differing versions, overlapping tool names, names with dots, an agent id equal to a node tag,
 * two nodes sharing a tag) with random filters. The same records in any order give the same
 * names, resolutions and collisions in every mode; listed names are unique and resolve to what
 * they were listed for; replica names always resolve; denied, hidden and renamed-away tools never do.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import type { AgentRecord } from '../../../src/registry/agent-record.ts'
import { nameTools, NAMING_MODES, type Naming } from '../../../src/mcp/naming-modes.ts'
import { parseToolFilters, type ToolFilters } from '../../../src/mcp/tool-filters.ts'
import { MeshNames } from '../../../src/routing/tool-names.ts'
import type { AgentTool } from '../../../src/registry/agent-record.ts'
import { filtered, nodeWithTag, rec } from './naming-fixtures.ts'

const NODES = [
  nodeWithTag('Node1aaaaa'), nodeWithTag('Node2aaaaa'), nodeWithTag('Node3aaaaa'),
  nodeWithTag('kabcdefghi'), // a tag that is also an agent id below
  nodeWithTag('Twinaaaaaa', 'A'), nodeWithTag('Twinaaaaaa', 'B') // one tag, two nodes: both go by full id
]
const AGENTS = ['a', 'b', 'echo', 'kabcdefghi']
const TOOLS = ['x', 'y', 'x.y', 'a.x', 'b.x', 'echo.x', 'Node1aaaaa.a.x', 'Node2aaaaa.b.x', 'b.x.y']
const TARGETS = ['x', 'y', 'z', 'b.x', 'a.x', 'renamed']
const PATTERNS = ['x', '*.x', 'y*', 'b.*', '*']

const toolArb: fc.Arbitrary<AgentTool> = fc.record({
  name: fc.constantFrom(...TOOLS),
  description: fc.constantFrom('one', 'two', undefined)
}).map(({ name, description }) => (description === undefined ? { name } : { name, description }))

const recordArb: fc.Arbitrary<AgentRecord> = fc.record({
  nodeId: fc.constantFrom(...NODES),
  agentId: fc.constantFrom(...AGENTS),
  tools: fc.uniqueArray(toolArb, { maxLength: 6, selector: (t) => t.name }),
  updatedAt: fc.integer({ min: 1, max: 2 })
}).map(({ nodeId, agentId, tools, updatedAt }) => rec(nodeId, agentId, tools, { updatedAt }))

const filterArb = fc.record({
  allow: fc.option(fc.subarray(PATTERNS), { nil: undefined }),
  deny: fc.option(fc.subarray(PATTERNS, { maxLength: 2 }), { nil: undefined }),
  rename: fc.option(fc.dictionary(fc.constantFrom(...TOOLS), fc.constantFrom(...TARGETS), { maxKeys: 3 }), { nil: undefined })
}, { requiredKeys: [] })

/** Random filters, kept only when valid (two renames to one target are refused by the parser). */
const filtersArb: fc.Arbitrary<ToolFilters | undefined> = fc.option(fc.dictionary(fc.constantFrom(...AGENTS), filterArb, { maxKeys: 3 }), { nil: undefined })
  .map((value) => {
    if (value === undefined) return undefined
    const clean = JSON.parse(JSON.stringify(value)) as unknown
    try { return parseToolFilters(clean) } catch { return undefined }
  })

const registryArb = fc.array(recordArb, { minLength: 1, maxLength: 12 })
/** One record per node and agent, so which record a node's agent stands by is plain to the oracle below. */
const uniqueRegistryArb = fc.uniqueArray(recordArb, { minLength: 1, maxLength: 12, selector: (r) => `${r.nodeId}:${r.agentId}` })
const permuted = registryArb.chain((records) => fc.tuple(fc.constant(records), fc.shuffledSubarray(records, { minLength: records.length, maxLength: records.length })))

/** Every name any form could give any agent's tool here, so resolutions are compared beyond what is listed. */
function probes (records: AgentRecord[]): string[] {
  const tags = new MeshNames(records)
  const out = new Set<string>()
  for (const agentId of AGENTS) {
    for (const tool of [...TOOLS, ...TARGETS]) {
      out.add(tool)
      out.add(`${agentId}.${tool}`)
      for (const nodeId of NODES) {
        out.add(tags.toolName(nodeId, agentId, tool))
        out.add(`${nodeId}.${agentId}.${tool}`)
      }
    }
  }
  return [...out].sort()
}

function snapshot (naming: Naming<AgentTool>, names: string[]): string {
  return JSON.stringify({ listed: naming.listed, collisions: naming.collisions, resolved: names.map((n) => naming.resolve(n) ?? null) })
}

/** A glob matcher written apart from the one under test. */
function globMatches (pattern: string, name: string): boolean {
  const parts = pattern.split('*')
  if (parts.length === 1) return pattern === name
  const first = parts[0] ?? ''
  const last = parts.at(-1) ?? ''
  if (!name.startsWith(first) || !name.endsWith(last) || name.length < first.length + last.length) return false
  let at = first.length
  for (const part of parts.slice(1, -1)) {
    const found = name.indexOf(part, at)
    if (found < 0 || found + part.length > name.length - last.length) return false
    at = found + part.length
  }
  return true
}

/** Own names of an agent's tools that must never resolve: denied, not allowed, hidden by a rename, or renamed away. */
function unreachable (records: AgentRecord[], agentId: string, filters: ToolFilters | undefined): Set<string> {
  const filter = filters?.[agentId]
  const own = new Set(records.filter((r) => r.agentId === agentId).flatMap((r) => r.tools.map((t) => t.name)))
  const out = new Set<string>()
  const kept = [...own].filter((name) => {
    const allowed = filter?.allow === undefined || filter.allow.some((p) => globMatches(p, name))
    const denied = (filter?.deny ?? []).some((p) => globMatches(p, name))
    if (!allowed || denied) out.add(name)
    return allowed && !denied
  })
  const rename = filter?.rename ?? {}
  const targets = new Set(kept.filter((n) => rename[n] !== undefined && rename[n] !== n).map((n) => rename[n]))
  for (const name of kept) if (rename[name] === undefined && targets.has(name)) out.add(name)
  return out
}

describe('naming properties', () => {
  it('gives the same names, resolutions and collisions for any order of the same records, in every mode (1,000 orders)', () => {
    fc.assert(fc.property(permuted, filtersArb, ([records, shuffled], filters) => {
      const names = probes(records)
      for (const mode of NAMING_MODES) {
        expect(snapshot(nameTools(filtered(shuffled, filters), { mode }), names)).toBe(snapshot(nameTools(filtered(records, filters), { mode }), names))
      }
    }), { numRuns: 1000 })
  })

  it('gives one rich registry the same output in 1,000 random orders', () => {
    const records = fc.sample(recordArb, { numRuns: 40, seed: 15 })
    const filters = parseToolFilters({ a: { deny: ['y*'], rename: { x: 'b.x' } }, echo: { rename: { 'echo.x': 'x' } } })
    const names = probes(records)
    const expected = NAMING_MODES.map((mode) => snapshot(nameTools(filtered(records, filters), { mode }), names))
    expect(expected.join('').length).toBeGreaterThan(1000)
    const orders = fc.sample(fc.shuffledSubarray(records, { minLength: records.length, maxLength: records.length }), { numRuns: 1000, seed: 42 })
    for (const order of orders) {
      const agents = filtered(order, filters)
      NAMING_MODES.forEach((mode, i) => { expect(snapshot(nameTools(agents, { mode }), names)).toBe(expected[i]) })
    }
  })

  it('lists unique names that resolve to what they were listed for; replica names always resolve; unreachable tools never do', () => {
    fc.assert(fc.property(uniqueRegistryArb, filtersArb, (records, filters) => {
      const agents = filtered(records, filters)
      const tags = new MeshNames(records)
      const names = probes(records)
      for (const mode of NAMING_MODES) {
        const naming = nameTools(agents, { mode })
        const listedNames = naming.listed.map((l) => l.name)
        expect(new Set(listedNames).size).toBe(listedNames.length)
        for (const { name, agentId, tool, replicas, form } of naming.listed) {
          expect(naming.resolve(name)).toEqual({ agentId, tool, replicas, form })
        }
        for (const agent of agents) {
          for (const item of agent.tools) {
            for (const nodeId of item.replicas) {
              expect(naming.resolve(tags.toolName(nodeId, agent.agentId, item.name))).toEqual({ agentId: agent.agentId, tool: item.ownName, replicas: [nodeId], form: 'replica' })
            }
          }
        }
        for (const agentId of AGENTS) {
          const never = unreachable(records, agentId, filters)
          for (const name of names) {
            const hit = naming.resolve(name)
            if (hit?.agentId === agentId) expect(never.has(hit.tool), `${name} resolves to ${agentId}'s ${hit.tool}`).toBe(false)
          }
          // A renamed tool does not answer to any form of its own name.
          for (const [from, to] of Object.entries(filters?.[agentId]?.rename ?? {})) {
            if (from === to) continue
            const formsOf = (tool: string): string[] => [tool, `${agentId}.${tool}`, ...NODES.map((n) => tags.toolName(n, agentId, tool))]
            // A form of the new name may spell the same as a form of the old one (`echo.x` renamed to `x`).
            const newForms = new Set(formsOf(to))
            for (const name of formsOf(from).filter((n) => !newForms.has(n))) {
              const hit = naming.resolve(name)
              expect(hit?.agentId === agentId && hit.tool === from, `${name} resolves to renamed ${from}`).toBe(false)
            }
          }
        }
      }
    }), { numRuns: 300 })
  })
})
