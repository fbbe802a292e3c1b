import { describe, expect, it } from 'vitest'
import { nameTools, type NamingMode } from '../../../src/mcp/naming-modes.ts'
import { MeshNames } from '../../../src/routing/tool-names.ts'
import { filtered, nodeWithTag, rec } from './naming-fixtures.ts'

const n1 = nodeWithTag('Node1aaaaa')
const n2 = nodeWithTag('Node2aaaaa')
const n3 = nodeWithTag('Node3aaaaa')
// A node whose tag is a valid agent id, so `<agentId>.<tool>` can equal a replica name.
const nk = nodeWithTag('kabcdefghi')
const MODES: NamingMode[] = ['logical', 'always-prefixed', 'conditional']
const names = (mode: NamingMode, records: Parameters<typeof filtered>[0], filters?: Parameters<typeof filtered>[1]): string[] =>
  nameTools(filtered(records, filters), { mode }).listed.map((l) => l.name)

describe('logical mode (default)', () => {
  it('lists a replicated agent once as <agentId>.<tool>, resolving to every replica that has it', () => {
    const naming = nameTools(filtered([rec(n2, 'echo', ['say', 'new']), rec(n1, 'echo', ['say']), rec(n3, 'echo', ['say'])]))
    expect(naming.mode).toBe('logical')
    expect(naming.listed.map((l) => l.name)).toEqual(['echo.new', 'echo.say'])
    expect(naming.resolve('echo.say')).toEqual({ agentId: 'echo', tool: 'say', replicas: [n1, n2, n3], form: 'logical' })
    // A rolling upgrade: only the replica that has the tool serves it.
    expect(naming.resolve('echo.new')?.replicas).toEqual([n2])
    expect(naming.collisions).toEqual([])
  })

  it('lists the version most replicas hold', () => {
    const naming = nameTools(filtered([rec(n1, 'a', [{ name: 't', description: 'new' }]), rec(n2, 'a', [{ name: 't', description: 'old' }]), rec(n3, 'a', [{ name: 't', description: 'old' }])]))
    expect(naming.listed[0]?.item.description).toBe('old')
  })
})

describe('always-prefixed mode', () => {
  it('lists every replica separately under today\'s names, each with its own version', () => {
    const records = [rec(n1, 'a', [{ name: 't', description: 'one' }]), rec(n2, 'a', [{ name: 't', description: 'two' }])]
    const naming = nameTools(filtered(records), { mode: 'always-prefixed' })
    const tags = new MeshNames(records)
    expect(naming.listed.map((l) => [l.name, l.item.description, l.replicas])).toEqual([
      [tags.toolName(n1, 'a', 't'), 'one', [n1]],
      [tags.toolName(n2, 'a', 't'), 'two', [n2]]
    ])
  })
})

describe('conditional mode', () => {
  it('lists a tool by its own name when no other agent exposes it', () => {
    expect(names('conditional', [rec(n1, 'a', ['x']), rec(n2, 'b', ['y'])])).toEqual(['x', 'y'])
  })

  it('prefixes every agent that exposes the same name, and reports who claimed it', () => {
    const naming = nameTools(filtered([rec(n1, 'a', ['x', 'only']), rec(n2, 'b', ['x']), rec(n3, 'a', ['x'])]), { mode: 'conditional' })
    expect(naming.listed.map((l) => l.name)).toEqual(['a.x', 'b.x', 'only'])
    expect(naming.resolve('x')).toBeUndefined()
    expect(naming.collisions).toEqual([{
      name: 'x',
      claims: [{ agentId: 'a', tool: 'x', form: 'bare' }, { agentId: 'b', tool: 'x', form: 'bare' }]
    }])
  })

  it('counts names after filters: a denied or renamed tool no longer collides', () => {
    const records = [rec(n1, 'a', ['x']), rec(n2, 'b', ['x'])]
    expect(names('conditional', records, { b: { deny: ['x'] } })).toEqual(['x'])
    expect(names('conditional', records, { b: { rename: { x: 'bx' } } })).toEqual(['bx', 'x'])
    expect(names('conditional', [rec(n1, 'a', ['x']), rec(n2, 'b', ['y'])], { b: { rename: { y: 'x' } } })).toEqual(['a.x', 'b.x'])
  })

  it('gives a bare name equal to another agent\'s <agentId>.<tool> to that agent', () => {
    // Agent a's own tool "b.x" would shadow agent b's logical name "b.x".
    const naming = nameTools(filtered([rec(n1, 'a', ['b.x']), rec(n2, 'b', ['x'])]), { mode: 'conditional' })
    expect(naming.listed.map((l) => [l.name, l.agentId])).toEqual([['a.b.x', 'a'], ['x', 'b']])
    expect(naming.resolve('b.x')).toMatchObject({ agentId: 'b', tool: 'x' })
    expect(naming.collisions).toEqual([{
      name: 'b.x',
      claims: [{ agentId: 'b', tool: 'x', form: 'logical' }, { agentId: 'a', tool: 'b.x', form: 'bare' }],
      heldBy: { agentId: 'b', tool: 'x', form: 'logical' }
    }])
  })

  it('gives a bare name equal to a replica name to the replica', () => {
    const tagged = new MeshNames([{ nodeId: n2 }]).toolName(n2, 'b', 'x')
    const naming = nameTools(filtered([rec(n1, 'a', [tagged]), rec(n2, 'b', ['x'])]), { mode: 'conditional' })
    expect(naming.resolve(tagged)).toEqual({ agentId: 'b', tool: 'x', replicas: [n2], form: 'replica' })
    expect(naming.listed.map((l) => [l.name, l.agentId])).toEqual([[`a.${tagged}`, 'a'], ['x', 'b']])
  })
})

describe('every mode', () => {
  it('falls back to replica names when <agentId>.<tool> equals a replica name, and reports it', () => {
    // Agent "kabcdefghi" equals nk's tag: its tool "b.x" would be named like nk's agent b's tool x.
    const records = [rec(n1, 'kabcdefghi', ['b.x']), rec(n2, 'kabcdefghi', ['b.x']), rec(nk, 'b', ['x'])]
    for (const mode of MODES) {
      const naming = nameTools(filtered(records), { mode })
      const clash = 'kabcdefghi.b.x'
      expect(naming.resolve(clash)).toEqual({ agentId: 'b', tool: 'x', replicas: [nk], form: 'replica' })
      expect(naming.collisions.find((c) => c.name === clash)?.heldBy).toEqual({ agentId: 'b', tool: 'x', form: 'replica', nodeId: nk })
      if (mode === 'logical') {
        expect(naming.listed.filter((l) => l.agentId === 'kabcdefghi').map((l) => l.replicas)).toEqual([[n1], [n2]])
      }
    }
  })

  it('resolves replica names, by tag or full peer id, to that replica only', () => {
    const records = [rec(n1, 'a', ['x.y', 'only1']), rec(n2, 'a', ['x.y'])]
    const tags = new MeshNames(records)
    for (const mode of MODES) {
      const naming = nameTools(filtered(records), { mode })
      // A replica that lacks the tool has no name for it, by tag or by full id.
      expect(naming.resolve(tags.toolName(n2, 'a', 'only1'))).toBeUndefined()
      expect(naming.resolve(`${n2}.a.only1`)).toBeUndefined()
      expect(naming.resolve(`${n1}.a.only1`)).toMatchObject({ replicas: [n1] })
      expect(naming.resolve(tags.toolName(n2, 'a', 'x.y'))).toEqual({ agentId: 'a', tool: 'x.y', replicas: [n2], form: 'replica' })
      expect(naming.resolve(`${n1}.a.x.y`)).toEqual({ agentId: 'a', tool: 'x.y', replicas: [n1], form: 'replica' })
      expect(naming.resolve(tags.toolName(n2, 'a', 'nope'))).toBeUndefined()
    }
  })

  it('never resolves a denied tool, and a renamed tool only by its new name', () => {
    const records = [rec(n1, 'fs', ['read', 'rm']), rec(n2, 'fs', ['read', 'rm'])]
    const tags = new MeshNames(records)
    for (const mode of MODES) {
      const naming = nameTools(filtered(records, { fs: { deny: ['rm'], rename: { read: 'cat' } } }), { mode })
      for (const name of ['rm', 'fs.rm', tags.toolName(n1, 'fs', 'rm'), `${n2}.fs.rm`, 'read', 'fs.read', tags.toolName(n1, 'fs', 'read')]) {
        expect(naming.resolve(name)).toBeUndefined()
      }
      expect(naming.resolve(tags.toolName(n1, 'fs', 'cat'))).toMatchObject({ tool: 'read' })
      expect(naming.listed.every((l) => l.tool === 'read')).toBe(true)
    }
  })
})
