import { describe, it, expect, beforeAll } from 'vitest'
import { UriTemplate } from '@modelcontextprotocol/server'
import { MeshNames, NODE_TAG_LENGTH, meshResourceTemplate, meshResourceUri, parseMeshResourceUri } from '../../../src/routing/tool-names.ts'
import { newNodeId } from './fixtures.ts'

let a: string
let b: string
let c: string
beforeAll(async () => {
  [a, b, c] = await Promise.all([newNodeId(), newNodeId(), newNodeId()])
})

describe('MeshNames', () => {
  it('tags a node with the last 10 characters of its peer id', () => {
    const names = new MeshNames([{ nodeId: a }, { nodeId: b }, { nodeId: a }])
    expect(a.startsWith('12D3KooW')).toBe(true)
    expect(names.nodeTag(a)).toBe(a.slice(-NODE_TAG_LENGTH))
    expect(names.toolName(a, 'echo', 'say')).toBe(`${a.slice(-10)}.echo.say`)
    expect(names.resolve(`${b.slice(-10)}.notes.add`)).toEqual({ nodeId: b, agentId: 'notes', name: 'add' })
  })

  it('round-trips tool names with dots, colons and slashes', () => {
    const names = new MeshNames([{ nodeId: a }, { nodeId: b }])
    for (const tool of ['x', 'fs.read', 'fs/read:v1.2', 'a.b.c.d', 'ns:tool', '...', 'http://example.com/x.y']) {
      for (const nodeId of [a, b]) {
        const name = names.toolName(nodeId, 'my-agent', tool)
        expect(names.resolve(name)).toEqual({ nodeId, agentId: 'my-agent', name: tool })
      }
    }
  })

  it('gives both nodes their full peer id when their tags collide, and stays collision-free', () => {
    // Two ids ending alike cannot be generated on demand; splice c's suffix onto b's head.
    const twin = b.slice(0, -NODE_TAG_LENGTH) + c.slice(-NODE_TAG_LENGTH)
    expect(twin).not.toBe(c)
    const names = new MeshNames([{ nodeId: a }, { nodeId: c }, { nodeId: twin }])
    expect(names.nodeTag(a)).toBe(a.slice(-10))
    expect(names.nodeTag(c)).toBe(c)
    expect(names.nodeTag(twin)).toBe(twin)
    const nameC = names.toolName(c, 'echo', 'say')
    const nameTwin = names.toolName(twin, 'echo', 'say')
    expect(nameC).toBe(`${c}.echo.say`)
    expect(nameC).not.toBe(nameTwin)
    expect(names.resolve(nameC)).toEqual({ nodeId: c, agentId: 'echo', name: 'say' })
    expect(names.resolve(nameTwin)).toEqual({ nodeId: twin, agentId: 'echo', name: 'say' })
    // The shared short tag is ambiguous, so it resolves to nothing.
    expect(names.resolve(`${c.slice(-10)}.echo.say`)).toBeUndefined()
    // Deterministic from the registry's contents, not their order.
    const reordered = new MeshNames([{ nodeId: twin }, { nodeId: a }, { nodeId: c }])
    expect(reordered.toolName(c, 'echo', 'say')).toBe(nameC)
    expect(reordered.toolName(a, 'echo', 'say')).toBe(names.toolName(a, 'echo', 'say'))
  })

  it('also accepts a full peer id as the tag', () => {
    const names = new MeshNames([{ nodeId: a }])
    expect(names.resolve(`${a}.echo.say`)).toEqual({ nodeId: a, agentId: 'echo', name: 'say' })
  })

  it('resolves nothing for malformed names or unknown tags', () => {
    const names = new MeshNames([{ nodeId: a }])
    const tag = a.slice(-10)
    for (const bad of ['', 'say', `${tag}.echo`, `${tag}.echo.`, `.echo.say`, `${tag}..say`, `${tag}.Echo.say`, `${b.slice(-10)}.echo.say`, `${b}.echo.say`]) {
      expect(names.resolve(bad), bad).toBeUndefined()
    }
  })
})

describe('mesh resource URIs', () => {
  it('round-trips any original URI', () => {
    for (const uri of ['file:///etc/hosts', 'notes://all', 'https://example.com/a b?c=d&e=f#g', 'x', 'ü/ñ/%41', 'dawn://nested/uri/x']) {
      const mesh = meshResourceUri(a, 'notes', uri)
      expect(mesh.startsWith(`dawn://${a}/notes/`)).toBe(true)
      expect(mesh.slice(`dawn://${a}/notes/`.length)).not.toContain('/')
      expect(parseMeshResourceUri(mesh)).toEqual({ nodeId: a, agentId: 'notes', uri })
    }
  })

  it('rejects anything else', () => {
    for (const bad of ['file:///x', `dawn://${a}/notes`, `dawn://${a}/notes/`, `dawn://nope/notes/x`, `dawn://${a}/No/x`, `dawn://${a}/notes/%E0%A4%A`, `http://${a}/notes/x`]) {
      expect(parseMeshResourceUri(bad), bad).toBeUndefined()
    }
  })
})

describe('mesh resource templates', () => {
  // RFC 6570 expansion as a client does it (the SDK's UriTemplate), on both sides of the mesh.
  const expand = (template: string, values: Record<string, string>): string => new UriTemplate(template).expand(values)

  it('expands to a mesh URI that parses back to the agent\'s own expansion, for typical values', () => {
    const cases: Array<[string, Record<string, string>]> = [
      ['demo://resource/dynamic/text/{resourceId}', { resourceId: '42' }],
      ['demo://resource/dynamic/blob/{resourceId}', { resourceId: 'a-b_c.d~e' }],
      ['repo://{owner}/{repo}/issues{?state,page}', { owner: 'dawn', repo: 'mesh', state: 'open', page: '2' }],
      ['file:///{+path}', { path: 'docs/guide/readme.md' }],
      ['x://a%20b/{id}{#section}', { id: '7', section: 'intro' }]
    ]
    for (const [template, values] of cases) {
      const mesh = meshResourceTemplate(a, 'everything', template)
      expect(mesh.startsWith(`dawn://${a}/everything/`), template).toBe(true)
      expect(parseMeshResourceUri(expand(mesh, values)), template).toEqual({ nodeId: a, agentId: 'everything', uri: expand(template, values) })
    }
    // A value with characters the expansion encodes arrives decoded once: the agent sees the raw value.
    expect(parseMeshResourceUri(expand(meshResourceTemplate(a, 'w', 'weather://{city}/forecast'), { city: 'Zürich am See' }))?.uri).toBe('weather://Zürich am See/forecast')
  })

  it('keeps expressions and encodes literals exactly as meshResourceUri does', () => {
    const mesh = meshResourceTemplate(a, 'everything', 'demo://resource/dynamic/text/{resourceId}')
    expect(mesh).toBe(`${meshResourceUri(a, 'everything', 'demo://resource/dynamic/text/')}{resourceId}`)
    // The template itself decodes back to the original, which is how a completion ref finds it.
    expect(parseMeshResourceUri(mesh)).toEqual({ nodeId: a, agentId: 'everything', uri: 'demo://resource/dynamic/text/{resourceId}' })
    // An unclosed brace is a literal; a lone surrogate cannot make encoding throw.
    expect(meshResourceTemplate(a, 'x', 'a{b')).toBe(`dawn://${a}/x/a%7Bb`)
    expect(meshResourceTemplate(a, 'x', 'a\uD800/{id}')).toBe(`dawn://${a}/x/a%EF%BF%BD%2F{id}`)
    expect(meshResourceUri(a, 'x', '\uDC00')).toBe(`dawn://${a}/x/%EF%BF%BD`)
  })
})

