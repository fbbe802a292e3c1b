// The `content` built-in through the official MCP client, on the in-memory facade.
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { Client, InMemoryTransport, type CallToolResult } from '@modelcontextprotocol/client'
import { AgentHost } from '../../src/agents/agent-host.ts'
import { BuiltinUnavailableError, createBuiltinServer } from '../../src/agents/builtin/index.ts'
import { MemoryContent, SELF } from './content-double.ts'

const MiB = 1024 * 1024
const log = (): void => {}
const closers: Array<() => Promise<void>> = []
afterEach(async () => { for (const close of closers.splice(0).reverse()) await close() })

type Call = (name: string, args?: Record<string, unknown>) => Promise<CallToolResult>

async function open (content: MemoryContent): Promise<Client> {
  const server = createBuiltinServer('content', { agentId: 'content', dataDir: '/nonexistent', log, content })
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  await server.connect(serverSide)
  const client = new Client({ name: 'dawn-test', version: '1.0.0' })
  await client.connect(clientSide)
  closers.push(async () => { await client.close() })
  return client
}

async function connect (content: MemoryContent): Promise<Call> {
  const client = await open(content)
  return async (name, args = {}) => await client.callTool({ name, arguments: args })
}

function text (result: CallToolResult): string {
  const first = result.content[0]
  if (first?.type !== 'text') throw new Error(`not a text result: ${JSON.stringify(result).slice(0, 200)}`)
  return first.text
}

describe('content built-in', () => {
  it('lists its tools', async () => {
    const client = await open(new MemoryContent())
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['add', 'get', 'pin', 'unpin', 'status', 'list'])
  })

  it('adds text and gets it back', async () => {
    const content = new MemoryContent()
    const call = await connect(content)
    const added = await call('add', { text: 'héllo 👋', replication: 2 })
    expect(added.isError).toBeUndefined()
    const { cid, size, pinned, replication } = added.structuredContent as { cid: string, size: number, pinned: boolean, replication: number }
    expect({ size, pinned, replication }).toEqual({ size: Buffer.byteLength('héllo 👋'), pinned: true, replication: 2 })
    expect(JSON.parse(text(added))).toEqual(added.structuredContent)
    expect(content.adds[0]!.opts).toMatchObject({ replication: 2, signal: expect.any(AbortSignal) })

    const got = await call('get', { cid })
    expect(got.isError).toBeUndefined()
    expect(text(got)).toBe('héllo 👋')
    expect(got._meta).toEqual({ cid, size, encoding: 'utf8' })
  })

  it('round-trips binary as base64, and refuses utf8 for bytes that are not UTF-8', async () => {
    const content = new MemoryContent()
    const call = await connect(content)
    const bytes = randomBytes(100_000)
    bytes[0] = 0xff // never valid UTF-8
    const added = await call('add', { base64: bytes.toString('base64'), pin: false })
    const { cid, pinned } = added.structuredContent as { cid: string, pinned: boolean }
    expect(pinned).toBe(false)
    const got = await call('get', { cid, encoding: 'base64' })
    expect(Buffer.from(text(got), 'base64').equals(bytes)).toBe(true)
    const asText = await call('get', { cid })
    expect(asText.isError).toBe(true)
    expect(text(asText)).toMatch(/not valid UTF-8; ask for encoding "base64"/)
  })

  it('fails, rather than truncates, content larger than maxBytes', async () => {
    const content = new MemoryContent()
    const call = await connect(content)
    const cid = content.put('x'.repeat(2000))
    const small = await call('get', { cid, maxBytes: 1000 })
    expect(small.isError).toBe(true)
    expect(text(small)).toMatch(/^too-large: content .* is 2000 bytes, more than maxBytes 1000/)
    expect(small.structuredContent).toMatchObject({ code: 'too-large' })
    // The reader was dropped unread.
    expect(content.gets[0]!.opts?.signal?.aborted).toBe(true)
    expect(text(await call('get', { cid, maxBytes: 2000 }))).toHaveLength(2000)
    // The default cap is 1 MiB.
    const big = content.put(randomBytes(MiB + 1))
    expect(text(await call('get', { cid: big, encoding: 'base64' }))).toMatch(/^too-large: .*more than maxBytes 1048576/)
    expect((await call('get', { cid, maxBytes: 8 * MiB + 1 })).isError).toBe(true)
  })

  it('reports content failures as isError results with the code', async () => {
    const call = await connect(new MemoryContent())
    for (const [name, args] of [['get', { cid: 'Not A Cid' }], ['status', { cid: 'Not A Cid' }], ['pin', { cid: 'Not A Cid' }], ['unpin', { cid: 'Not A Cid' }]] as const) {
      const result = await call(name, args)
      expect(result.isError, name).toBe(true)
      expect(text(result)).toBe('bad-cid: "Not A Cid" is not a CID')
      expect(result.structuredContent).toEqual({ code: 'bad-cid', message: '"Not A Cid" is not a CID' })
    }
    const missing = await call('get', { cid: 'abc123' })
    expect(missing.isError).toBe(true)
    expect(text(missing)).toMatch(/^not-found: /)
  })

  it('checks its input: exactly one of text and base64, valid base64, size limits', async () => {
    const content = new MemoryContent({ maxUploadBytes: 1000 })
    const call = await connect(content)
    for (const args of [{}, { text: 'a', base64: 'YQ==' }]) {
      const result = await call('add', args)
      expect(result.isError).toBe(true)
      expect(text(result)).toMatch(/exactly one of "text" and "base64"/)
    }
    expect(text(await call('add', { base64: 'not base64!' }))).toMatch(/not valid base64/)
    const tooBig = await call('add', { text: 'x'.repeat(1001) })
    expect(tooBig.isError).toBe(true)
    expect(text(tooBig)).toMatch(/^too-large: upload is larger than the limit of 1000 bytes/)
    expect(text(await call('add', { text: 'x', replication: 65 }))).toMatch(/arguments\.replication/)
    expect(content.adds).toHaveLength(0)
    expect((await call('add', { text: 'x'.repeat(1000) })).isError).toBeUndefined()
  })

  it('pins, unpins, reports status and lists', async () => {
    const content = new MemoryContent()
    const call = await connect(content)
    const cid = content.put('pin me')
    expect((await call('pin', { cid, replication: 4 })).structuredContent).toEqual({ cid, pinned: true, replication: 4, local: true, holders: [SELF], have: [SELF], deficit: 3 })
    expect((await call('status', { cid })).structuredContent).toMatchObject({ cid, pinned: true, replication: 4 })
    expect((await call('list')).structuredContent).toMatchObject({ backend: 'embedded', bytesStored: 6, pins: [{ cid, replication: 4 }], deficit: 3 })
    expect((await call('unpin', { cid })).structuredContent).toMatchObject({ cid, pinned: false })
    expect((await call('list')).structuredContent).toMatchObject({ pins: [], deficit: 0 })
  })

  it('is unavailable without a content facade, and reached through AgentHost when given one', async () => {
    expect(() => createBuiltinServer('content', { agentId: 'content', dataDir: '/nonexistent', log })).toThrow(BuiltinUnavailableError)
    const content = new MemoryContent()
    const host = new AgentHost({ log, content }, { dataDir: '/nonexistent' })
    await host.start()
    closers.push(async () => { await host.stop() })
    await host.setAgents([{ id: 'store', kind: 'builtin', builtin: 'content', description: '' }])
    expect(host.status('store')).toEqual({ state: 'connected' })
    const result = await host.call('store', 'tools/call', { name: 'add', arguments: { text: 'via host' } }, AbortSignal.timeout(10_000))
    expect(result.structuredContent).toMatchObject({ size: 8, pinned: true })
    expect(content.blobs.size).toBe(1)
  })
})
