// The feature probes, directly against the MCP reference server (server-everything, unmodified
// from npm, over Streamable HTTP on loopback): every feature has its expected value, and the
// official TypeScript and Python SDK clients see the same outcomes. This is the "direct" baseline
// that the same probes must reproduce through a Dawn node.
//
// server-everything is built on the v1 SDK and speaks 2025-11-25 only: a client pinned to
// 2026-07-28 cannot connect to it directly. So the direct baseline of the 2026-07-28 column is the
// 2025-11-25 one (FeatureOutcomes leave out what legitimately differs between the revisions), and
// this file proves that the pin really fails rather than falling back silently.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { startEverythingServer, type EverythingServer } from '../../../test/support/mcp-features/everything-server.ts'
import { EXPECTED, projectForExpectation } from '../../../test/support/mcp-features/expected.ts'
import { FEATURES, runPythonProbe, runTsProbe, type FeatureOutcomes } from '../../../test/support/mcp-features/feature-probe.ts'
import { runInspectorCli } from '../../../test/support/mcp-features/inspector.ts'
import { namesFromListing, namesFromLists } from '../../../test/support/mcp-features/names.ts'
import { probeClient } from '../../../test/support/mcp-features/ts-probe.ts'

describe('MCP feature probes directly against server-everything', () => {
  let server: EverythingServer | undefined
  let ts: FeatureOutcomes | undefined
  const url = (): URL => { if (server === undefined) throw new Error('server-everything did not start'); return server.url }

  beforeAll(async () => { server = await startEverythingServer() })
  afterAll(async () => { await server?.stop() })

  it('TypeScript SDK v2, 2025-11-25: every feature is present with its expected value', async () => {
    ts = await runTsProbe({ url: url(), era: '2025-11-25' })
    expect(ts.protocolVersion).toBe('2025-11-25')
    expect(Object.keys(ts.features).sort()).toEqual([...FEATURES].sort())
    const got = projectForExpectation(ts)
    // One assertion per feature, so a failure names the feature.
    for (const f of FEATURES) expect({ feature: f, value: got[f] }).toEqual({ feature: f, value: EXPECTED[f] })
  })

  it('Python SDK 2.3.0, 2025-11-25: the same outcomes as the TypeScript client', async () => {
    // Fails (never skips) without the venv, naming the command that makes it.
    const py = await runPythonProbe({ url: url(), era: '2025-11-25' })
    expect(py.protocolVersion).toBe('2025-11-25')
    const got = projectForExpectation(py)
    for (const f of FEATURES) expect({ feature: f, value: got[f] }).toEqual({ feature: f, value: EXPECTED[f] })
    expect(ts, 'the TypeScript probe ran first').toBeDefined()
    for (const f of FEATURES) expect({ feature: f, value: py.features[f] }).toEqual({ feature: f, value: ts?.features[f] })
  })

  it('2026-07-28 cannot be pinned against server-everything (2025-11-25 only), by either client', async () => {
    await expect(runTsProbe({ url: url(), era: '2026-07-28' })).rejects.toMatchObject({ code: 'ERA_NEGOTIATION_FAILED' })
    await expect(runPythonProbe({ url: url(), era: '2026-07-28' })).rejects.toThrow(/ERA_NEGOTIATION_FAILED: .* speaks 2025-11-25/)
  })

  it('the MCP Inspector CLI lists the tools and calls one', async () => {
    const listed = await runInspectorCli(url(), ['--method', 'tools/list']) as { tools?: Array<{ name: string }> }
    expect(listed.tools?.map(t => t.name)).toEqual(expect.arrayContaining(['echo', 'get-sum', 'get-tiny-image', 'trigger-long-running-operation']))
    const called = await runInspectorCli(url(), ['--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'message=dawn-inspector'])
    expect(called).toEqual({ content: [{ type: 'text', text: 'Echo: dawn-inspector' }] })
  })

  it('names from the server\'s own listing are the originals', async () => {
    const client = probeClient('2025-11-25')
    await client.connect(new StreamableHTTPClientTransport(url()))
    try {
      const names = await namesFromListing(client)
      expect([names.tool('echo'), names.prompt('args-prompt'), names.resourceUri('demo://resource/static/document/features.md')])
        .toEqual(['echo', 'args-prompt', 'demo://resource/static/document/features.md'])
    } finally { await client.close() }
  })

  it('names through a mapping layer: tools and prompts by suffix, resources by _meta dawn/uri and its prefix', () => {
    const enc = (u: string): string => `dawn://node-b/everything/${encodeURIComponent(u)}`
    const doc = 'demo://resource/static/document/features.md'
    const names = namesFromLists({
      tools: ['a1b2c3.everything.echo', 'a1b2c3.other.echo-twice'],
      prompts: ['a1b2c3.everything.args-prompt'],
      resources: [{ uri: enc(doc), _meta: { 'dawn/uri': doc } }],
      templates: [{ uriTemplate: 'dawn-template-x', _meta: { 'dawn/uriTemplate': 'demo://resource/dynamic/text/{resourceId}' } }]
    })
    expect(names.tool('echo')).toBe('a1b2c3.everything.echo')
    expect(names.prompt('args-prompt')).toBe('a1b2c3.everything.args-prompt')
    expect(names.resourceUri(doc)).toBe(enc(doc))
    expect(names.resourceUri('demo://resource/dynamic/text/3'), 'a URI made from a template gets the listed prefix').toBe(enc('demo://resource/dynamic/text/3'))
    expect(names.templateUri?.('demo://resource/dynamic/text/{resourceId}')).toBe('dawn-template-x')
  })
})
