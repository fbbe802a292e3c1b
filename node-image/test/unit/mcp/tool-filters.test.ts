import { describe, expect, it } from 'vitest'
import { filterAgent, parseToolFilter, parseToolFilters, ToolFilterError, type ToolFilter } from '../../../src/mcp/tool-filters.ts'
import { logicalAgents } from '../../../src/mcp/logical-catalog.ts'
import { nodeWithTag, rec } from './naming-fixtures.ts'

const n1 = nodeWithTag('Node1aaaaa')
const n2 = nodeWithTag('Node2aaaaa')
const TOOLS = ['read', 'read_file', 'write', 'write_file', 'fs.delete', 'admin/reset']

function apply (filter: ToolFilter | undefined, tools: string[] = TOOLS): ReturnType<typeof filterAgent> {
  const [agent] = logicalAgents([rec(n1, 'fs', tools), rec(n2, 'fs', tools)])
  if (agent === undefined) throw new Error('no agent')
  return filterAgent(agent, filter === undefined ? undefined : parseToolFilter(filter))
}
const exposed = (filter: ToolFilter | undefined, tools?: string[]): string[] => apply(filter, tools).tools.map((t) => t.name)

describe('tool filters', () => {
  it('pass everything without a filter', () => {
    expect(exposed(undefined)).toEqual([...TOOLS].sort())
  })

  it('keep only allowed tools; * matches any run, dots included', () => {
    expect(exposed({ allow: ['read*'] })).toEqual(['read', 'read_file'])
    expect(exposed({ allow: ['*_file', 'fs.*'] })).toEqual(['fs.delete', 'read_file', 'write_file'])
    expect(exposed({ allow: [] })).toEqual([])
  })

  it('drop denied tools, deny winning over allow; the pattern is literal apart from *', () => {
    expect(exposed({ deny: ['write*', 'admin/*'] })).toEqual(['fs.delete', 'read', 'read_file'])
    expect(exposed({ allow: ['*'], deny: ['read'] })).toEqual(['admin/reset', 'fs.delete', 'read_file', 'write', 'write_file'])
    // `.` is not a regex wildcard.
    expect(exposed({ deny: ['fs.delete'] }, ['fs.delete', 'fsXdelete'])).toEqual(['fsXdelete'])
  })

  it('rename a tool: exposed by its new name, called by its own, swaps allowed', () => {
    const agent = apply({ rename: { read: 'get', write: 'read' } })
    expect(agent.tools.map((t) => [t.name, t.ownName])).toEqual([
      ['admin/reset', 'admin/reset'], ['fs.delete', 'fs.delete'], ['get', 'read'], ['read', 'write'], ['read_file', 'read_file'], ['write_file', 'write_file']
    ])
    expect(agent.conflicts).toEqual([])
  })

  it('override descriptions by the own name, on every version', () => {
    const [agent] = logicalAgents([rec(n1, 'fs', [{ name: 'read', description: 'v1' }]), rec(n2, 'fs', [{ name: 'read', description: 'v2' }])])
    if (agent === undefined) throw new Error('no agent')
    const out = filterAgent(agent, parseToolFilter({ rename: { read: 'cat' }, descriptions: { read: 'Reads a file' } }))
    expect(out.tools[0]?.name).toBe('cat')
    expect(out.tools[0]?.versions.map((v) => v.item.description)).toEqual(['Reads a file', 'Reads a file'])
  })

  it('let a rename win over a tool of that own name, which is hidden and reported', () => {
    const agent = apply({ rename: { read_file: 'read' } })
    expect(agent.tools.find((t) => t.name === 'read')?.ownName).toBe('read_file')
    expect(agent.tools.some((t) => t.ownName === 'read')).toBe(false)
    expect(agent.conflicts).toEqual([{ agentId: 'fs', name: 'read', renamedFrom: 'read_file', hidden: 'read' }])
  })

  it('keep a renamed tool hidden when its own name is denied', () => {
    expect(exposed({ deny: ['read'], rename: { read: 'get' } })).not.toContain('get')
  })
})

describe('parseToolFilter', () => {
  const fails = (value: unknown, path: string, message: RegExp): void => {
    let error: unknown
    try { parseToolFilter(value) } catch (err) { error = err }
    expect(error).toBeInstanceOf(ToolFilterError)
    expect((error as ToolFilterError).path).toBe(path)
    expect((error as ToolFilterError).message).toMatch(message)
  }

  it('accepts a full filter', () => {
    expect(parseToolFilter({ allow: ['*'], deny: ['x*'], rename: { a: 'b' }, descriptions: { a: 'd' } })).toBeDefined()
  })

  it('says which rename target is not a tool name', () => {
    fails({ rename: { read: 'has space' } }, '/rename/read', /rename target is not a valid tool name/)
    fails({ rename: { read: '' } }, '/rename/read', /rename target is not a valid tool name/)
  })

  it('says which tools are renamed to the same name', () => {
    fails({ rename: { b: 'x', a: 'x' } }, '/rename/b', /"a" and "b" are both renamed to "x"/)
  })

  it('rejects bad tool names as keys, bad patterns and unknown settings', () => {
    fails({ rename: { 'no space': 'x' } }, '/rename/no space', /"no space" is not a valid tool name/)
    fails({ descriptions: { ['x'.repeat(129)]: 'd' } }, `/descriptions/${'x'.repeat(129)}`, /is not a valid tool name/)
    fails({ deny: ['a b'] }, '/deny/0', /not a tool name pattern/)
    fails({ alow: ['x'] }, '/alow', /"alow" is not a known setting/)
  })

  it('checks filters by agent id, naming the agent in the path', () => {
    expect(() => parseToolFilters({ fs: { rename: { a: 'x', b: 'x' } } })).toThrow(/\/fs\/rename\/b/)
    expect(() => parseToolFilters({ Bad_Id: {} })).toThrow(ToolFilterError)
  })
})
