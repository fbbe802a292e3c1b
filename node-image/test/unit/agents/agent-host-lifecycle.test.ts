import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { AgentHost, AgentHostNotStartedError, DuplicateAgentError } from '../../../src/agents/agent-host.ts'
import { serveBuiltinHttp } from '../../../src/agents/builtin-http-server.ts'
import type { AgentConfig } from '../../../src/config/schema.ts'
import { AgentFailedError, AgentRemovedError, DeadlineExceededError } from '../../../src/routing/errors.ts'
import { eventually, Fixture, rejection, signal, text } from './fixture.ts'

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url))
const fx = new Fixture()
afterEach(async () => { await fx.cleanup() })

const echo = (id: string, description = ''): AgentConfig => ({ id, kind: 'builtin', builtin: 'echo', description })
const stdioEcho = (id: string): AgentConfig => ({
  id,
  kind: 'stdio',
  description: '',
  command: [process.execPath, '--disable-warning=ExperimentalWarning', MAIN, 'agent', 'serve', 'echo', '--stdio']
})
// The longest sleep the echo agent allows: a call that waits for it to end takes a minute,
// so the bounds below (several seconds, for a busy machine) still tell "at once" from "hung".
const sleepCall = { name: 'sleep', arguments: { ms: 60_000 } }

describe('AgentHost.setAgents', () => {
  it('adds, changes and removes agents live, emitting change each time', async () => {
    const host = await fx.host(await fx.tmpDir())
    let changes = 0
    host.addEventListener('change', () => { changes++ })

    await host.setAgents([echo('a')])
    expect(changes).toBeGreaterThanOrEqual(1)
    expect(host.records().map((r) => [r.id, r.tools.length])).toEqual([['a', 3]])

    changes = 0
    await host.setAgents([echo('a')])
    expect(changes).toBe(0) // same config: nothing restarts

    await host.setAgents([echo('a'), echo('b')])
    expect(changes).toBeGreaterThanOrEqual(1)
    expect(host.records().map((r) => r.id)).toEqual(['a', 'b'])

    changes = 0
    await host.setAgents([echo('a', 'new description'), echo('b')])
    expect(changes).toBeGreaterThanOrEqual(1)
    expect(host.records().find((r) => r.id === 'a')?.description).toBe('new description')
    expect(text(await host.call('a', 'tools/call', { name: 'echo', arguments: { text: 'after change' } }, signal()))).toBe('after change')

    changes = 0
    await host.setAgents([echo('b')])
    expect(changes).toBe(1)
    expect(host.has('a')).toBe(false)
    expect(host.records().map((r) => r.id)).toEqual(['b'])
  })

  it('refuses duplicate ids and use before start', async () => {
    const dir = await fx.tmpDir()
    const cold = new AgentHost({ log: fx.log }, { dataDir: dir })
    await expect(cold.setAgents([])).rejects.toBeInstanceOf(AgentHostNotStartedError)
    const host = await fx.host(dir)
    await expect(host.setAgents([echo('a'), echo('a')])).rejects.toBeInstanceOf(DuplicateAgentError)
  })

  it('never waits much longer than the first attempt on an agent that does not answer', async () => {
    const dir = await fx.tmpDir()
    // A stdio child that starts but never speaks MCP.
    const silent: AgentConfig = { id: 'silent', kind: 'stdio', description: '', command: [process.execPath, '-e', 'setInterval(() => {}, 1000)'] }
    // Without the first-attempt cap, setAgents would wait out the 60 s connect timeout.
    const host = await fx.host(dir, { connection: { firstAttemptMs: 1000, requestTimeoutMs: 60_000 } })
    const started = Date.now()
    await host.setAgents([silent, echo('quick')])
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(host.status('silent')?.state).toBe('connecting')
    expect(host.status('quick')?.state).toBe('connected')
  })
})

describe('AgentHost.call', () => {
  for (const [kind, config] of [['builtin', echo('sleepy')], ['stdio', stdioEcho('sleepy')]] as const) {
    it(`rejects a running ${kind} call with AgentRemovedError as soon as its agent is removed`, async () => {
      const host = await fx.host(await fx.tmpDir())
      await host.setAgents([config])
      const running = host.call('sleepy', 'tools/call', sleepCall, signal(90_000))
      const settled = rejection(running)
      await new Promise((resolve) => setTimeout(resolve, 200))
      const removedAt = Date.now()
      const removal = host.setAgents([])
      const err = await settled
      expect(err).toBeInstanceOf(AgentRemovedError)
      expect(err.message).toBe('agent sleepy was removed while the call ran')
      expect(Date.now() - removedAt).toBeLessThan(10_000)
      await removal
      expect(host.has('sleepy')).toBe(false)
    })
  }

  it('turns an aborted signal into DeadlineExceededError, and the agent stays usable', async () => {
    const host = await fx.host(await fx.tmpDir())
    await host.setAgents([echo('e')])
    const started = Date.now()
    const err = await rejection(host.call('e', 'tools/call', sleepCall, AbortSignal.timeout(300)))
    expect(err).toBeInstanceOf(DeadlineExceededError)
    expect(Date.now() - started).toBeLessThan(10_000)
    const pre = new AbortController()
    pre.abort()
    expect(await rejection(host.call('e', 'tools/call', { name: 'echo', arguments: { text: 'x' } }, pre.signal))).toBeInstanceOf(DeadlineExceededError)
    expect(text(await host.call('e', 'tools/call', { name: 'echo', arguments: { text: 'ok' } }, signal()))).toBe('ok')
  })

  it('fails a call with AgentFailedError, not a hang, when a remote server dies mid-call', async () => {
    const dir = await fx.tmpDir()
    const server = await serveBuiltinHttp('echo', { host: '127.0.0.1', port: 0, dataDir: dir })
    fx.onCleanup(async () => { await server.close() })
    const host = await fx.host(dir, { connection: { requestTimeoutMs: 2000 } })
    await host.setAgents([{ id: 'far', kind: 'remote', description: '', url: server.url }])
    expect(host.status('far')?.state).toBe('connected')
    const settled = rejection(host.call('far', 'tools/call', sleepCall, signal(90_000)))
    await new Promise((resolve) => setTimeout(resolve, 200))
    const killedAt = Date.now()
    await server.close()
    const err = await settled
    expect(err).toBeInstanceOf(AgentFailedError)
    expect(Date.now() - killedAt).toBeLessThan(15_000)
    await eventually(async () => host.status('far')?.state !== 'connected', { what: 'the agent to be reported down', timeoutMs: 15_000, intervalMs: 50 })
  })

  it('stop() ends in-flight calls and closes every agent', async () => {
    const dir = await fx.tmpDir()
    const host = new AgentHost({ log: fx.log }, { dataDir: dir })
    await host.start()
    await host.setAgents([echo('e'), stdioEcho('s')])
    const pid = (host.status('s') as { pid: number }).pid
    const settled = rejection(host.call('e', 'tools/call', sleepCall, signal(90_000)))
    await host.stop()
    expect(await settled).toBeInstanceOf(AgentFailedError)
    expect(host.records()).toEqual([])
    expect(() => process.kill(pid, 0)).toThrow()
  })
})
