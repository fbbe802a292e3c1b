// What node A lists of the reference server on node B beyond names, and where its completions
// go: outputSchema and annotations untouched, structured results, resource templates whose
// expansion reads through the mesh, and completions answered as the server answers them directly.
// Through node A with a 2026-07-28 (SDK v2, pinned) and a 2025-11-25 (SDK v1) client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport, UriTemplate } from '@modelcontextprotocol/client'
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { eventually, startMesh, type Mesh } from './harness.ts'
import { startEverythingServer, type EverythingServer } from '../../../test/support/mcp-features/everything-server.ts'
import { INPUTS, TEXT_TEMPLATE, BLOB_TEMPLATE } from '../../../test/support/mcp-features/plan.ts'
import { meshResourceTemplate } from '../../src/routing/tool-names.ts'

const MODERN = '2026-07-28'

interface Clients { direct: LegacyClient, legacy: LegacyClient, modern: Client }

describe('listings and completions of the reference server, through the mesh', () => {
  let mesh: Mesh
  let everything: EverythingServer
  let nodeB: string
  let clients: Clients
  const closers: Array<{ close: () => Promise<void> }> = []
  /** Mesh name of one of the reference server's tools or prompts. */
  const named = (name: string): string => `${nodeB.slice(-10)}.everything.${name}`

  beforeAll(async () => {
    everything = await startEverythingServer()
    mesh = await startMesh({
      nodes: 3,
      agents: (i) => i === 1 ? [{ id: 'everything', kind: 'remote', url: everything.url.href, description: 'the MCP reference server' }] : []
    })
    nodeB = mesh.net.nodes[1]!.peerId
    const url = new URL('/mcp', mesh.net.nodes[0]!.httpUrl)
    const direct = new LegacyClient({ name: 'dawn-listing-test', version: '1.0.0' })
    await direct.connect(new LegacyTransport(everything.url))
    const legacy = new LegacyClient({ name: 'dawn-listing-test', version: '1.0.0' })
    await legacy.connect(new LegacyTransport(url))
    const modern = new Client({ name: 'dawn-listing-test', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN } } })
    await modern.connect(new StreamableHTTPClientTransport(url))
    closers.push(direct, legacy, modern)
    clients = { direct, legacy, modern }
    // Node A lists the agent once node B's record has reached it (the registry API shows no templates).
    await eventually(async () => (await legacy.listResourceTemplates()).resourceTemplates.length >= 2 ? true : undefined,
      { what: 'the reference server\'s templates listed by node A', timeoutMs: 30_000 })
  }, 120_000)

  afterAll(async () => {
    for (const c of closers.splice(0)) await c.close().catch(() => {})
    await mesh.stop()
    await everything.stop()
  })

  it('lists get-structured-content\'s outputSchema and annotations untouched, and its call returns structuredContent', async () => {
    const direct = (await clients.direct.listTools()).tools.find((t) => t.name === 'get-structured-content')
    expect(direct?.outputSchema).toBeDefined()
    const args = { name: named('get-structured-content'), arguments: INPUTS.structured }
    const expected = await clients.direct.callTool({ name: 'get-structured-content', arguments: INPUTS.structured })
    for (const client of [clients.legacy, clients.modern]) {
      const listed = (await client.listTools()).tools.find((t) => t.name === 'everything.get-structured-content')
      expect(listed?.outputSchema).toEqual(direct?.outputSchema)
      expect(listed?.annotations).toEqual(direct?.annotations)
      expect(listed?.title).toBe(direct?.title)
      // Both SDK clients hold the result to the listed outputSchema.
      const result = await client.callTool(args)
      expect(result.structuredContent).toEqual(expected.structuredContent)
      expect(result.structuredContent).toMatchObject({ temperature: expect.any(Number) as number })
    }
  })

  it('lists the two resource templates with mesh URIs, and reads an expanded one', async () => {
    const direct = (await clients.direct.listResourceTemplates()).resourceTemplates
    expect(direct.map((t) => t.uriTemplate).sort()).toEqual([BLOB_TEMPLATE, TEXT_TEMPLATE])
    for (const client of [clients.legacy, clients.modern]) {
      const listed = (await client.listResourceTemplates()).resourceTemplates
      expect(listed.map((t) => t.uriTemplate).sort()).toEqual([BLOB_TEMPLATE, TEXT_TEMPLATE].map((t) => meshResourceTemplate(nodeB, 'everything', t)).sort())
      expect(listed.map((t) => t._meta?.['dawn/uriTemplate']).sort()).toEqual([BLOB_TEMPLATE, TEXT_TEMPLATE])
      expect(listed.map((t) => t.name).sort()).toEqual(direct.map((t) => t.name).sort())
      const text = listed.find((t) => t._meta?.['dawn/uriTemplate'] === TEXT_TEMPLATE)!
      const uri = new UriTemplate(text.uriTemplate).expand({ resourceId: '3' })
      const read = await client.readResource({ uri })
      expect(read.contents).toHaveLength(1)
      expect(read.contents[0]).toMatchObject({ uri, mimeType: 'text/plain', text: expect.stringMatching(/^Resource 3: This is a plaintext resource/) as string })
    }
  })

  it('answers completions for a prompt and a template as the server does directly', async () => {
    const requests = [
      { ref: { type: 'ref/prompt', name: 'completable-prompt' }, ...INPUTS.completePrompt },
      { ref: { type: 'ref/prompt', name: 'completable-prompt' }, argument: INPUTS.completePromptWithContext.argument, context: { arguments: INPUTS.completePromptWithContext.context } },
      { ref: { type: 'ref/resource', uri: TEXT_TEMPLATE }, ...INPUTS.completeTemplate }
    ]
    const meshRef = (ref: { type: string, name?: string, uri?: string }): { type: string, name?: string, uri?: string } =>
      ref.name !== undefined ? { type: ref.type, name: named(ref.name) } : { type: ref.type, uri: meshResourceTemplate(nodeB, 'everything', ref.uri!) }
    const answers: unknown[] = []
    for (const request of requests) {
      const direct = await clients.direct.complete(request as Parameters<LegacyClient['complete']>[0])
      answers.push(direct.completion.values)
      const viaMesh = { ...request, ref: meshRef(request.ref) }
      const legacy = await clients.legacy.complete(viaMesh as Parameters<LegacyClient['complete']>[0])
      const modern = await clients.modern.complete(viaMesh as Parameters<Client['complete']>[0])
      expect(legacy.completion).toEqual(direct.completion)
      expect(modern.completion).toEqual(direct.completion)
    }
    expect(answers).toEqual([['Engineering'], ['Alice'], ['42']])
  })

  it('refuses a completion for a prompt no agent lists, with -32602', async () => {
    await expect(clients.legacy.complete({ ref: { type: 'ref/prompt', name: named('no-such-prompt') }, argument: { name: 'x', value: '' } }))
      .rejects.toMatchObject({ code: -32602 })
    await expect(clients.modern.complete({ ref: { type: 'ref/prompt', name: named('no-such-prompt') }, argument: { name: 'x', value: '' } }))
      .rejects.toThrow(/unknown prompt ".*no-such-prompt": not a prompt name this endpoint lists/)
  })
})
