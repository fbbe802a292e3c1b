import { writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createMcpHandler, Server, type McpHttpHandler } from '@modelcontextprotocol/server'
import Fastify from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { MCP_HTTP_DEFAULTS, MCP_PATH, serveBuiltinHttp, serveMcpHttp } from '../../../src/agents/builtin-http-server.ts'
import type { LowLevelServer } from '../../../src/agents/define-server.ts'
import { silentLogger } from '../../../src/logging/json-logger.ts'
import { openGuard } from '../../../src/mcp/http-auth.ts'
import { registerMcpHttpEndpoint } from '../../../src/mcp/http-endpoint.ts'
import { freePort } from '../../../src/local-mesh/free-port.ts'
import type { AgentConfig } from '../../../src/config/schema.ts'
import { AgentFailedError } from '../../../src/routing/errors.ts'
import { eventually, Fixture, rejection, signal, text } from './fixture.ts'

const fx = new Fixture()
afterEach(async () => { await fx.cleanup() })

async function echoServer (dataDir: string, requiredHeaders?: Record<string, string>, port = 0): Promise<{ url: string }> {
  const server = await serveBuiltinHttp('echo', { host: '127.0.0.1', port, dataDir, ...(requiredHeaders === undefined ? {} : { requiredHeaders }) })
  fx.onCleanup(async () => { await server.close() })
  return server
}

function remote (id: string, url: string, extra: Partial<Extract<AgentConfig, { kind: 'remote' }>> = {}): AgentConfig {
  return { id, kind: 'remote', description: '', url, ...extra }
}

describe('remote agents over Streamable HTTP', () => {
  it('connects with headers from headersFile and headersFromEnv, lists and calls tools', async () => {
    const dir = await fx.tmpDir()
    const server = await echoServer(dir, { 'x-api-key': 'file-secret', authorization: 'Bearer env-secret' })
    const headersFile = join(dir, 'headers.json')
    await writeFile(headersFile, JSON.stringify({ 'X-Api-Key': 'file-secret' }))
    process.env.DAWN_TEST_TOKEN = 'Bearer env-secret'
    fx.onCleanup(async () => { delete process.env.DAWN_TEST_TOKEN })
    const host = await fx.host(dir)
    await host.setAgents([remote('far-echo', server.url, { headersFile, headersFromEnv: { Authorization: 'DAWN_TEST_TOKEN' } })])
    expect(host.status('far-echo')).toEqual({ state: 'connected' })
    const rec = host.records()[0]!
    expect(rec.tools.map((t) => t.name)).toEqual(['echo', 'generate', 'sleep'])
    expect(rec.resources.map((r) => r.uri)).toEqual(['echo://about'])
    expect(rec.prompts.map((p) => p.name)).toEqual(['echo'])
    expect(text(await host.call('far-echo', 'tools/call', { name: 'echo', arguments: { text: 'over http' } }, signal()))).toBe('over http')
    expect(JSON.stringify(fx.logs)).not.toMatch(/file-secret|env-secret/)
  })

  it('reports a wrong or missing header as a failed agent, without crashing the host or leaking the value', async () => {
    const dir = await fx.tmpDir()
    const server = await echoServer(dir, { 'x-api-key': 'right' })
    const headersFile = join(dir, 'headers.json')
    await writeFile(headersFile, JSON.stringify({ 'x-api-key': 'wrong-value' }))
    const host = await fx.host(dir)
    await host.setAgents([
      remote('wrong', server.url, { headersFile }),
      remote('no-env', server.url, { headersFromEnv: { 'x-api-key': 'DAWN_TEST_UNSET_VARIABLE' } }),
      { id: 'local-echo', kind: 'builtin', builtin: 'echo', description: '' }
    ])
    expect(host.status('wrong')).toEqual({ state: expect.stringMatching(/failed|connecting/), error: expect.stringMatching(/401/) })
    expect(host.status('no-env')).toEqual({ state: expect.stringMatching(/failed|connecting/), error: 'headersFromEnv: environment variable DAWN_TEST_UNSET_VARIABLE (for header x-api-key) is not set' })
    const err = await rejection(host.call('wrong', 'tools/call', { name: 'echo', arguments: { text: 'x' } }, signal()))
    expect(err).toBeInstanceOf(AgentFailedError)
    expect(host.records().find((r) => r.id === 'wrong')?.tools).toEqual([])
    // The host still serves its other agents.
    expect(text(await host.call('local-echo', 'tools/call', { name: 'echo', arguments: { text: 'still here' } }, signal()))).toBe('still here')
    expect(JSON.stringify(fx.logs)).not.toContain('wrong-value')
  })

  it('names a malformed headersFile without quoting it', async () => {
    const dir = await fx.tmpDir()
    const notJson = join(dir, 'a.json')
    const notStrings = join(dir, 'b.json')
    await writeFile(notJson, 'Bearer top-secret')
    await writeFile(notStrings, JSON.stringify({ good: 'top-secret', bad: 7, 'with space': 'x' }))
    const host = await fx.host(dir)
    await host.setAgents([
      remote('a', 'http://127.0.0.1:9/mcp', { headersFile: notJson }),
      remote('b', 'http://127.0.0.1:9/mcp', { headersFile: notStrings }),
      remote('c', 'http://127.0.0.1:9/mcp', { headersFile: join(dir, 'missing.json') })
    ])
    expect(host.status('a')?.state).toMatch(/failed|connecting/)
    expect((host.status('a') as { error: string }).error).toBe(`headersFile ${notJson} is not valid JSON`)
    expect((host.status('b') as { error: string }).error).toMatch(/^headersFile .*b\.json must be a JSON object of header name → string value .*\(bad: /)
    expect((host.status('b') as { error: string }).error).toMatch(/bad/)
    expect((host.status('c') as { error: string }).error).toMatch(/missing\.json cannot be read: ENOENT/)
    expect(JSON.stringify(fx.logs) + JSON.stringify(host.status('b'))).not.toContain('top-secret')
  })

  it('reconnects and lists tools when the remote server starts after setAgents, and after it restarts', async () => {
    const dir = await fx.tmpDir()
    const port = await freePort()
    // The echo server announces no list changes, so in 2026-07-28 no stream is held open that
    // would end with it: the periodic check notices the restart.
    const host = await fx.host(dir, { connection: { healthCheckMs: 500 } })
    const url = `http://127.0.0.1:${port}/mcp`
    await host.setAgents([remote('late', url)])
    expect(host.status('late')).toEqual({ state: expect.stringMatching(/failed|connecting/), error: expect.stringMatching(/fetch failed|ECONNREFUSED/) })
    expect(host.records()[0]!.tools).toEqual([])

    let changes = 0
    host.addEventListener('change', () => { changes++ })
    const first = await serveBuiltinHttp('echo', { host: '127.0.0.1', port, dataDir: dir })
    await eventually(async () => host.status('late')?.state === 'connected', { what: 'reconnect to the late server', timeoutMs: 10_000, intervalMs: 50 })
    expect(host.records()[0]!.tools.map((t) => t.name)).toEqual(['echo', 'generate', 'sleep'])
    expect(changes).toBeGreaterThan(0)
    expect(text(await host.call('late', 'tools/call', { name: 'echo', arguments: { text: 'late' } }, signal()))).toBe('late')

    // The server goes away (its sessions with it): the host notices and reconnects to the new one.
    await first.close()
    await eventually(async () => host.status('late')?.state !== 'connected', { what: 'the drop to be noticed', timeoutMs: 10_000, intervalMs: 50 })
    const second = await echoServer(dir, undefined, port)
    expect(second.url).toBe(url)
    await eventually(async () => host.status('late')?.state === 'connected', { what: 'reconnect after restart', timeoutMs: 10_000, intervalMs: 50 })
    expect(text(await host.call('late', 'tools/call', { name: 'echo', arguments: { text: 'again' } }, signal()))).toBe('again')
  })

  // The node speaks 2026-07-28 to a server offering it, 2025-11-25 to one that does not.
  for (const [era, modern, protocol] of [['2026-07-28', true, '2026-07-28'], ['2025-11-25', false, '2025-11-25']] as const) {
    it(`skips tools the registry would refuse, lists the rest, and re-lists on tools/list_changed (${era})`, async () => {
      const dir = await fx.tmpDir()
      const tools: Array<{ name: string, description?: string, inputSchema: { type: 'object', description?: string } }> = [
        { name: 'good', description: 'fine', inputSchema: { type: 'object' } },
        { name: 'bad name!', inputSchema: { type: 'object' } },
        { name: 'x'.repeat(129), inputSchema: { type: 'object' } },
        { name: 'huge-schema', inputSchema: { type: 'object', description: 'y'.repeat(70 * 1024) } },
        { name: 'also.good/ns:v1', description: 'd'.repeat(5000), inputSchema: { type: 'object' } }
      ]
      const servers: LowLevelServer[] = []
      let notifyModern: (() => void) | undefined
      const server = await serveMcpHttp(() => {
        // eslint-disable-next-line @typescript-eslint/no-deprecated -- a hand-written low-level server
        const s = new Server({ name: 'odd', version: '1' }, { capabilities: { tools: { listChanged: true } } })
        s.setRequestHandler('tools/list', () => ({ tools }))
        s.setRequestHandler('tools/call', (req) => ({ content: [{ type: 'text', text: `called ${req.params.name}` }] }))
        servers.push(s)
        return s
      }, { host: '127.0.0.1', port: 0, modern, publish: (notify) => { notifyModern = () => { notify.toolsChanged() }; return () => {} } })
      fx.onCleanup(async () => { await server.close() })
      const host = await fx.host(dir)
      await host.setAgents([remote('odd', server.url)])
      expect(fx.logs.find((l) => l.msg === 'agent connected')?.fields?.protocol).toBe(protocol)
      const listed = host.records()[0]!.tools
      expect(listed.map((t) => t.name)).toEqual(['good', 'also.good/ns:v1'])
      expect(listed[1]!.description).toHaveLength(2000)
      const skipped = fx.logs.filter((l) => l.msg.startsWith('agent tool skipped')).map((l) => l.fields?.tool)
      expect(skipped).toEqual(['bad name!', 'x'.repeat(129), 'huge-schema'])
      expect(text(await host.call('odd', 'tools/call', { name: 'also.good/ns:v1', arguments: {} }, signal()))).toBe('called also.good/ns:v1')

      let changed = false
      host.addEventListener('change', () => { changed = true })
      tools.push({ name: 'added-later', inputSchema: { type: 'object' } })
      await eventually(async () => {
        // 2025-11-25 sessions hear it from their own server, 2026-07-28 listen streams from the endpoint.
        for (const s of servers) await s.sendToolListChanged().catch(() => {})
        notifyModern?.()
        return host.records()[0]!.tools.some((t) => t.name === 'added-later')
      }, { what: 're-list after list_changed', timeoutMs: 10_000, intervalMs: 100 })
      expect(changed).toBe(true)
    })
  }

  it('reconnects and re-lists when a 2026-07-28 agent ends the listen stream', async () => {
    const dir = await fx.tmpDir()
    const tools = [{ name: 'first', inputSchema: { type: 'object' as const } }]
    const newServer = (): LowLevelServer => {
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- a hand-written low-level server
      const s = new Server({ name: 'lists', version: '1' }, { capabilities: { tools: { listChanged: true } } })
      s.setRequestHandler('tools/list', () => ({ tools }))
      return s
    }
    // The SDK's 2026-07-28 handler behind the node's own endpoint, swappable: closing it ends
    // its listen streams (as an agent restarting its handler does) while the port stays served.
    const newHandler = (): McpHttpHandler => createMcpHandler(() => newServer(), { legacy: 'reject' })
    let handler = newHandler()
    const methods: string[] = []
    const app = Fastify({ logger: false, forceCloseConnections: true })
    await registerMcpHttpEndpoint(app, {
      log: silentLogger,
      createLegacyServer: newServer,
      modern: {
        // The endpoint hands the body over parsed; the Request carries none.
        fetch: async (request, _caller, body) => {
          methods.push(String((body as { method?: unknown } | undefined)?.method))
          return await handler.fetch(request, { parsedBody: body })
        },
        close: async () => { await handler.close() }
      }
    }, { path: MCP_PATH, allowedOrigins: [], authorize: openGuard, ...MCP_HTTP_DEFAULTS })
    await app.listen({ host: '127.0.0.1', port: 0 })
    fx.onCleanup(async () => { await app.close() })
    const { port } = app.server.address() as AddressInfo
    // No periodic check inside the test's time: only the stream's end can start the reconnect.
    const host = await fx.host(dir, { connection: { healthCheckMs: 600_000 } })
    await host.setAgents([remote('lists', `http://127.0.0.1:${port}${MCP_PATH}`)])
    expect(host.status('lists')).toEqual({ state: 'connected' })
    expect(fx.logs.find((l) => l.msg === 'agent connected')?.fields?.protocol).toBe('2026-07-28')
    expect(methods).toContain('subscriptions/listen')
    expect(host.records()[0]!.tools.map((t) => t.name)).toEqual(['first'])

    // The agent ends the stream; a tool appears while no stream would announce it.
    methods.length = 0
    const old = handler
    await old.close()
    tools.push({ name: 'added-later', inputSchema: { type: 'object' } })
    handler = newHandler()
    await eventually(async () => host.records()[0]!.tools.some((t) => t.name === 'added-later') && host.status('lists')?.state === 'connected', {
      what: 'a reconnect that re-lists after the listen stream ended',
      timeoutMs: 10_000,
      intervalMs: 50,
      detail: async () => `methods since the stream ended: ${methods.join(', ')}; status: ${JSON.stringify(host.status('lists'))}`
    })
    expect(methods).toEqual(expect.arrayContaining(['server/discover', 'subscriptions/listen', 'tools/list']))
    expect(fx.logs.some((l) => l.msg === 'agent listen stream ended; reconnecting')).toBe(true)
  })
})
