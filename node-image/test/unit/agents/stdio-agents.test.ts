import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { AgentConfig } from '../../../src/config/schema.ts'
import { AgentFailedError } from '../../../src/routing/errors.ts'
import { eventually, Fixture, rejection, signal, text } from './fixture.ts'
import { MAIN, serveBuiltinHttp, type ServedAgent } from './agent-serve-process.ts'

const fx = new Fixture()
afterEach(async () => { await fx.cleanup() })

function stdioEcho (id = 'child-echo', env?: Record<string, string>): AgentConfig {
  return {
    id,
    kind: 'stdio',
    description: '',
    command: [process.execPath, '--disable-warning=ExperimentalWarning', MAIN, 'agent', 'serve', 'echo', '--stdio'],
    ...(env === undefined ? {} : { env })
  }
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('stdio agents', () => {
  it('lists and calls the tools of a child process, logs its stderr, and kills it on removal', async () => {
    const host = await fx.host(await fx.tmpDir())
    await host.setAgents([stdioEcho()])
    const status = host.status('child-echo')
    expect(status).toEqual({ state: 'connected', pid: expect.any(Number) })
    const pid = (status as { pid: number }).pid
    expect(host.records()[0]!.tools.map((t) => t.name)).toEqual(['echo', 'generate', 'sleep'])
    expect(text(await host.call('child-echo', 'tools/call', { name: 'echo', arguments: { text: 'via stdio' } }, signal()))).toBe('via stdio')
    const big = text(await host.call('child-echo', 'tools/call', { name: 'generate', arguments: { bytes: 12 * 1024 * 1024 } }, signal(20_000)))
    expect(big).toHaveLength(12 * 1024 * 1024)
    await eventually(async () => fx.logs.some((l) => l.msg === 'agent stderr' && String(l.fields?.line).includes('serving MCP on stdio')), { what: 'the child stderr in the log', timeoutMs: 5000, intervalMs: 50 })

    await host.setAgents([])
    expect(alive(pid)).toBe(false)
  })

  it('passes configured env to the child on top of the default environment', async () => {
    // A child that only works if PATH (default env) and DAWN_MARKER (configured env) both arrive.
    const script = 'if (!process.env.PATH || process.env.DAWN_MARKER !== "m1") { console.error("env missing"); process.exit(3) } import(process.argv[1])'
    const host = await fx.host(await fx.tmpDir())
    await host.setAgents([{
      id: 'env-echo',
      kind: 'stdio',
      description: '',
      command: [process.execPath, '--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script, MAIN, 'agent', 'serve', 'echo', '--stdio'],
      env: { DAWN_MARKER: 'm1' }
    }, {
      id: 'no-env',
      kind: 'stdio',
      description: '',
      command: [process.execPath, '--input-type=module', '-e', script]
    }])
    expect(host.status('env-echo')?.state).toBe('connected')
    expect(host.status('no-env')).toEqual({ state: expect.stringMatching(/failed|connecting/), error: expect.stringMatching(/last stderr line: env missing/) })
  })

  it('reconnects when the child dies', async () => {
    const host = await fx.host(await fx.tmpDir())
    await host.setAgents([stdioEcho()])
    const first = (host.status('child-echo') as { pid: number }).pid
    process.kill(first, 'SIGKILL')
    await eventually(async () => {
      const s = host.status('child-echo')
      return s?.state === 'connected' && 'pid' in s && s.pid !== first
    }, { what: 'a new child', timeoutMs: 15_000, intervalMs: 50 })
    expect(fx.logs).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'agent connection lost; reconnecting' }))
    expect(text(await host.call('child-echo', 'tools/call', { name: 'echo', arguments: { text: 'back' } }, signal()))).toBe('back')
  })

  it('reports a command that cannot start', async () => {
    const host = await fx.host(await fx.tmpDir())
    await host.setAgents([{ id: 'nope', kind: 'stdio', description: '', command: ['/nonexistent/dawn-agent-binary'] }])
    expect(host.status('nope')).toEqual({ state: expect.stringMatching(/failed|connecting/), error: expect.stringMatching(/ENOENT/) })
    expect(await rejection(host.call('nope', 'tools/call', { name: 'x' }, signal()))).toBeInstanceOf(AgentFailedError)
  })
})

describe('dawn-node agent serve', () => {
  const serveHttp = async (builtin: string, ...args: string[]): Promise<ServedAgent> => await serveBuiltinHttp(builtin, args, (cleanup) => { fx.onCleanup(cleanup) })

  it('--http serves a built-in that a remote agent can use', async () => {
    const dataDir = await fx.tmpDir()
    const { child, exited, url } = await serveHttp('notes', '--data-dir', dataDir)
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/)
    const host = await fx.host(await fx.tmpDir())
    await host.setAgents([{ id: 'far-notes', kind: 'remote', description: '', url }])
    await host.call('far-notes', 'tools/call', { name: 'put', arguments: { key: 'k', value: 'v' } }, signal())
    expect(text(await host.call('far-notes', 'tools/call', { name: 'get', arguments: { key: 'k' } }, signal()))).toBe('v')
    // --data-dir is honoured as given (absolute here).
    expect(JSON.parse(await readFile(join(dataDir, 'agents', 'notes', 'notes.json'), 'utf8'))).toEqual({ version: 1, notes: { k: 'v' } })
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  })

  it('--token-file makes every request carry the bearer token', async () => {
    const dir = await fx.tmpDir()
    await writeFile(join(dir, 'token'), 's3cret-token\n')
    const { url } = await serveHttp('echo', '--token-file', join(dir, 'token'), '--data-dir', dir)
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }
    const post = async (auth?: string): Promise<number> => (await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(auth === undefined ? {} : { authorization: auth }) },
      body: JSON.stringify(initialize)
    })).status
    expect(await post()).toBe(401)
    expect(await post('Bearer wrong')).toBe(401)
    expect(await post('Bearer s3cret-token')).toBe(200)
    const host = await fx.host(await fx.tmpDir())
    await writeFile(join(dir, 'headers.json'), JSON.stringify({ Authorization: 'Bearer s3cret-token' }))
    await host.setAgents([{ id: 'far-echo', kind: 'remote', description: '', url, headersFile: join(dir, 'headers.json') }])
    expect(text(await host.call('far-echo', 'tools/call', { name: 'echo', arguments: { text: 'hi' } }, signal()))).toBe('hi')
  })

  it('reports usage errors with exit code 2 and a missing mesh with exit code 1', async () => {
    const run = async (...args: string[]): Promise<{ code: number | null, stderr: string }> => await new Promise((resolve) => {
      const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'agent', ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
      child.once('exit', (code) => { resolve({ code, stderr }) })
    })
    const both = await run('serve', 'echo', '--stdio', '--http', '1')
    expect(both.code).toBe(2)
    expect(both.stderr).toMatch(/give exactly one of --stdio and --http PORT/)
    const unknown = await run('serve', 'nope', '--stdio')
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/unknown built-in agent "nope"/)
    const mesh = await run('serve', 'mesh', '--stdio')
    expect(mesh.code).toBe(1)
    expect(mesh.stderr).toMatch(/mesh built-in needs a running dawn-node/)
    expect((await run('frob')).code).toBe(2)
  })
})
