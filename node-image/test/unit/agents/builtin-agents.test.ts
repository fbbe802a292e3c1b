import { createHash } from 'node:crypto'
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { AgentConfig } from '../../../src/config/schema.ts'
import { parseAgentRecord } from '../../../src/registry/agent-record.ts'
import { AgentFailedError, UnknownAgentError } from '../../../src/routing/errors.ts'
import type { MeshFacade } from '../../../src/agents/builtin/mesh.ts'
import { Fixture, rejection, signal, text } from './fixture.ts'

const NODE = '12D3KooW' + 'A'.repeat(44)
const OTHER = '12D3KooW' + 'B'.repeat(44)
const fx = new Fixture()
afterEach(async () => { await fx.cleanup() })

const echo: AgentConfig = { id: 'echo', kind: 'builtin', builtin: 'echo', description: 'echo agent' }
const notes = (settings?: Record<string, unknown>): AgentConfig => ({ id: 'notes', kind: 'builtin', builtin: 'notes', description: '', ...(settings === undefined ? {} : { settings }) })

/** The documented algorithm, written independently of the agent. */
function expectedGenerate (bytes: number, seed: string): string {
  let out = ''
  let block = createHash('sha256').update(seed).digest()
  while (out.length < bytes) {
    out += block.toString('hex')
    block = createHash('sha256').update(block).digest()
  }
  return out.slice(0, bytes)
}

describe('echo built-in through AgentHost', () => {
  it('lists tools, resources and prompts as registry-valid records', async () => {
    const host = await fx.host(await fx.tmpDir())
    await host.setAgents([echo, { id: 'fixed', kind: 'static', description: 'x', tools: [{ name: 'run', description: 'runs' }] }])
    const records = host.records()
    expect(records.map((r) => [r.id, r.kind, r.name])).toEqual([['echo', 'builtin', 'echo'], ['fixed', 'static', 'fixed']])
    const rec = records[0]!
    expect(rec.tools.map((t) => t.name)).toEqual(['echo', 'generate', 'sleep'])
    expect(rec.tools[0]!.inputSchema).toMatchObject({ type: 'object', properties: { text: { type: 'string' } }, required: ['text'] })
    expect(rec.resources).toEqual([{ uri: 'echo://about', name: 'about', description: 'What this agent is', mimeType: 'text/plain' }])
    expect(rec.prompts).toEqual([{ name: 'echo', description: 'A user message with the given text', arguments: [{ name: 'text', description: 'text of the message', required: true }] }])
    expect(records[1]!.tools).toEqual([{ name: 'run', description: 'runs' }])
    for (const r of records) {
      expect(() => parseAgentRecord({ nodeId: NODE, agentId: r.id, name: r.name, kind: r.kind, description: r.description, tools: r.tools, resources: r.resources, prompts: r.prompts, updatedAt: 1 })).not.toThrow()
    }
  })

  it('echoes, generates deterministic payloads, reads its resource and prompt', async () => {
    const host = await fx.host(await fx.tmpDir())
    await host.setAgents([echo])
    expect(text(await host.call('echo', 'tools/call', { name: 'echo', arguments: { text: 'héllo 👋' } }, signal()))).toBe('héllo 👋')

    const big = 1024 * 1024 + 7
    const generated = text(await host.call('echo', 'tools/call', { name: 'generate', arguments: { bytes: big, seed: 's1' } }, signal()))
    expect(generated.length).toBe(big)
    expect(generated).toBe(expectedGenerate(big, 's1'))
    const defaultSeed = text(await host.call('echo', 'tools/call', { name: 'generate', arguments: { bytes: 100 } }, signal()))
    expect(defaultSeed).toBe(expectedGenerate(100, 'dawn'))
    expect(text(await host.call('echo', 'tools/call', { name: 'generate', arguments: { bytes: 0 } }, signal()))).toBe('')

    const about = await host.call('echo', 'resources/read', { uri: 'echo://about' }, signal())
    expect(about.contents).toEqual([expect.objectContaining({ uri: 'echo://about', mimeType: 'text/plain', text: expect.stringContaining('echo agent "echo"') })])
    const prompt = await host.call('echo', 'prompts/get', { name: 'echo', arguments: { text: 'hi' } }, signal())
    expect(prompt.messages).toEqual([{ role: 'user', content: { type: 'text', text: 'hi' } }])
  })

  it('invalid arguments give an isError result naming the field', async () => {
    const host = await fx.host(await fx.tmpDir())
    await host.setAgents([echo])
    const wrongType = await host.call('echo', 'tools/call', { name: 'echo', arguments: { text: 42 } }, signal())
    expect(wrongType.isError).toBe(true)
    expect(text(wrongType)).toMatch(/arguments\.text: must be string/)
    const missing = await host.call('echo', 'tools/call', { name: 'generate', arguments: {} }, signal())
    expect(missing.isError).toBe(true)
    expect(text(missing)).toMatch(/missing required field\(s\) "bytes"/)
    const tooBig = await host.call('echo', 'tools/call', { name: 'generate', arguments: { bytes: 16 * 1024 * 1024 + 1 } }, signal())
    expect(text(tooBig)).toMatch(/arguments\.bytes: .*16777216/)
    const extra = await host.call('echo', 'tools/call', { name: 'sleep', arguments: { ms: 1, nope: true } }, signal())
    expect(text(extra)).toMatch(/unknown field\(s\) "nope"/)
  })

  it('maps unknown tools, prompts, resources and agents to UnknownAgentError; static agents have no runtime', async () => {
    const host = await fx.host(await fx.tmpDir())
    await host.setAgents([echo, { id: 'fixed', kind: 'static', description: '', tools: [{ name: 'run' }] }])
    const tool = await rejection(host.call('echo', 'tools/call', { name: 'nope', arguments: {} }, signal()))
    expect(tool).toBeInstanceOf(UnknownAgentError)
    expect(tool.message).toContain('"nope"')
    expect(await rejection(host.call('echo', 'prompts/get', { name: 'nope' }, signal()))).toBeInstanceOf(UnknownAgentError)
    const resource = await rejection(host.call('echo', 'resources/read', { uri: 'echo://nope' }, signal()))
    expect(resource).toBeInstanceOf(UnknownAgentError)
    expect(resource.message).toContain('echo://nope')
    expect(await rejection(host.call('ghost', 'tools/call', { name: 'echo' }, signal()))).toBeInstanceOf(UnknownAgentError)
    const stat = await rejection(host.call('fixed', 'tools/call', { name: 'run' }, signal()))
    expect(stat).toBeInstanceOf(AgentFailedError)
    expect(stat.message).toMatch(/static: no runtime/)
    expect(host.has('echo')).toBe(true)
    expect(host.has('ghost')).toBe(false)
  })

  it('refuses unknown settings and unknown built-ins with a clear failure, without retrying', async () => {
    const host = await fx.host(await fx.tmpDir())
    await host.setAgents([
      { id: 'bad-settings', kind: 'builtin', builtin: 'echo', description: '', settings: { loud: true } },
      { id: 'no-such', kind: 'builtin', builtin: 'frobnicate', description: '' }
    ])
    expect(host.status('bad-settings')).toEqual({ state: 'failed', error: expect.stringMatching(/settings of built-in "echo" is invalid: .*unknown field\(s\) "loud"/) })
    expect(host.status('no-such')).toEqual({ state: 'failed', error: expect.stringMatching(/unknown built-in agent "frobnicate" \(known: echo, notes, mesh, content\)/) })
    const err = await rejection(host.call('bad-settings', 'tools/call', { name: 'echo', arguments: { text: 'x' } }, signal()))
    expect(err).toBeInstanceOf(AgentFailedError)
    expect(err.message).toMatch(/not connected \(failed: settings/)
    expect(host.records().find((r) => r.id === 'no-such')?.tools).toEqual([])
  })
})

describe('notes built-in', () => {
  const call = async (host: Awaited<ReturnType<Fixture['host']>>, name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> =>
    await host.call('notes', 'tools/call', { name, arguments: args }, signal())

  it('puts, gets, lists, deletes, and persists across a new host on the same dataDir', async () => {
    const dataDir = await fx.tmpDir()
    const first = await fx.host(dataDir)
    await first.setAgents([notes()])
    expect(text(await call(first, 'put', { key: 'project/alpha', value: 'first' }))).toBe('stored note "project/alpha"')
    await call(first, 'put', { key: 'project/beta', value: 'ünïcode ✓' })
    await call(first, 'put', { key: 'other', value: 'x' })
    await call(first, 'put', { key: 'project/alpha', value: 'second' })
    expect(text(await call(first, 'get', { key: 'project/alpha' }))).toBe('second')
    expect((await call(first, 'list', { prefix: 'project/' })).structuredContent).toEqual({ keys: ['project/alpha', 'project/beta'] })
    expect((await call(first, 'delete', { key: 'other' })).structuredContent).toEqual({ key: 'other', deleted: true })
    expect((await call(first, 'delete', { key: 'other' })).structuredContent).toEqual({ key: 'other', deleted: false })
    const missing = await call(first, 'get', { key: 'other' })
    expect(missing.isError).toBe(true)
    expect(text(missing)).toBe('no note "other"')
    await first.stop()

    const file = join(dataDir, 'agents', 'notes', 'notes.json')
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ version: 1, notes: { 'project/alpha': 'second', 'project/beta': 'ünïcode ✓' } })
    expect((await readdir(join(dataDir, 'agents', 'notes'))).filter((f) => f.includes('.tmp-'))).toEqual([])

    const second = await fx.host(dataDir)
    await second.setAgents([notes()])
    expect(text(await call(second, 'get', { key: 'project/beta' }))).toBe('ünïcode ✓')
    expect((await call(second, 'list', {})).structuredContent).toEqual({ keys: ['project/alpha', 'project/beta'] })
    const all = await second.call('notes', 'resources/read', { uri: 'notes://all' }, signal())
    expect(JSON.parse((all.contents as Array<{ text: string }>)[0]!.text)).toEqual({ 'project/alpha': 'second', 'project/beta': 'ünïcode ✓' })
    const recall = await second.call('notes', 'prompts/get', { name: 'recall', arguments: { topic: 'ÜNÏ' } }, signal())
    const recallText = (recall.messages as Array<{ content: { text: string } }>)[0]!.content.text
    expect(recallText).toContain('project/beta')
    expect(recallText).not.toContain('project/alpha')
  })

  it('gives clear errors past the key, value and count limits', async () => {
    const host = await fx.host(await fx.tmpDir())
    await host.setAgents([notes({ maxKeys: 3 })])
    const longKey = await call(host, 'put', { key: 'k'.repeat(257), value: 'v' })
    expect(longKey.isError).toBe(true)
    expect(text(longKey)).toMatch(/arguments\.key: .*256/)
    const emptyKey = await call(host, 'put', { key: '', value: 'v' })
    expect(text(emptyKey)).toMatch(/arguments\.key: /)
    await call(host, 'put', { key: 'fits', value: 'é'.repeat(32 * 1024) }) // exactly 64 KiB of UTF-8
    const bigValue = await call(host, 'put', { key: 'big', value: 'é'.repeat(32 * 1024) + 'x' })
    expect(bigValue.isError).toBe(true)
    expect(text(bigValue)).toBe('value is 65537 bytes; a note holds at most 65536 bytes (64 KiB)')
    await call(host, 'put', { key: 'a', value: '1' })
    await call(host, 'put', { key: 'b', value: '2' })
    const full = await call(host, 'put', { key: 'c', value: '3' })
    expect(full.isError).toBe(true)
    expect(text(full)).toBe('notes are full: 3 keys, the limit is 3; delete some first')
    expect((await call(host, 'put', { key: 'a', value: 'replaced' })).isError).toBeUndefined()
    expect((await call(host, 'list', {})).structuredContent).toEqual({ keys: ['a', 'b', 'fits'] })
  })

  it('caps maxKeys at 10,000 in settings', async () => {
    const host = await fx.host(await fx.tmpDir())
    await host.setAgents([notes({ maxKeys: 10_001 })])
    expect(host.status('notes')).toEqual({ state: 'failed', error: expect.stringMatching(/settings\.maxKeys|maxKeys/) })
  })

  it('moves a corrupt notes file aside, logs it and starts empty', async () => {
    const dataDir = await fx.tmpDir()
    const dir = join(dataDir, 'agents', 'notes')
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'notes.json'), '{"version":1,"notes":{"a":')
    const host = await fx.host(dataDir)
    await host.setAgents([notes()])
    expect((await call(host, 'list', {})).structuredContent).toEqual({ keys: [] })
    expect((await readdir(dir)).some((f) => f.startsWith('notes.json.corrupt-'))).toBe(true)
    expect(fx.logs).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'notes file is corrupt; moved aside, starting empty' }))
    await call(host, 'put', { key: 'a', value: 'fresh' })
    expect(JSON.parse(await readFile(join(dir, 'notes.json'), 'utf8'))).toEqual({ version: 1, notes: { a: 'fresh' } })
  })
})

describe('mesh built-in', () => {
  const facade: MeshFacade = {
    selfId: NODE,
    peers: () => [{ peerId: OTHER, verified: true, addrs: ['/ip4/10.0.0.2/tcp/4001'] }],
    ping: async (nodeId) => await Promise.resolve({ rttMs: nodeId === OTHER ? 12.5 : 0 }),
    route: async (nodeId) => await Promise.resolve(nodeId === NODE ? { route: 'local' as const } : { route: 'relayed' as const, via: NODE, remoteAddr: '/p2p-circuit' }),
    agents: () => [{ nodeId: NODE, agentId: 'echo', name: 'Echo', tools: ['echo'] }, { nodeId: OTHER, agentId: 'notes', name: 'Notes', tools: ['get', 'put'] }]
  }
  const mesh: AgentConfig = { id: 'mesh', kind: 'builtin', builtin: 'mesh', description: '' }

  it('answers from the injected facade', async () => {
    const host = await fx.host(await fx.tmpDir(), { mesh: facade })
    await host.setAgents([mesh])
    const call = async (name: string, args: Record<string, unknown> = {}): Promise<unknown> =>
      (await host.call('mesh', 'tools/call', { name, arguments: args }, signal())).structuredContent
    expect(await call('peers')).toEqual({ selfId: NODE, peers: facade.peers() })
    expect(await call('ping', { nodeId: OTHER })).toEqual({ nodeId: OTHER, rttMs: 12.5 })
    expect(await call('route', { nodeId: OTHER })).toEqual({ nodeId: OTHER, route: 'relayed', via: NODE, remoteAddr: '/p2p-circuit' })
    expect(await call('agents', { nodeId: OTHER })).toEqual({ agents: [facade.agents()[1]] })
    const bad = await host.call('mesh', 'tools/call', { name: 'ping', arguments: { nodeId: 'not a peer id' } }, signal())
    expect(bad.isError).toBe(true)
    expect(text(bad)).toMatch(/arguments\.nodeId/)
  })

  it('turns facade failures into isError results', async () => {
    const host = await fx.host(await fx.tmpDir(), { mesh: { ...facade, ping: async () => { await Promise.resolve(); throw new Error('no route to peer') } } })
    await host.setAgents([mesh])
    const res = await host.call('mesh', 'tools/call', { name: 'ping', arguments: { nodeId: OTHER } }, signal())
    expect(res.isError).toBe(true)
    expect(text(res)).toBe('tool "ping" failed: no route to peer')
  })

  it('is unavailable, with a clear error, without a facade', async () => {
    const host = await fx.host(await fx.tmpDir())
    await host.setAgents([mesh])
    expect(host.status('mesh')).toEqual({ state: 'failed', error: expect.stringMatching(/mesh built-in needs a running dawn-node/) })
  })
})
