import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AgentHost } from '../../../src/agents/agent-host.ts'
import type { AgentHostInit } from '../../../src/agents/agent-host.ts'
import type { MeshFacade } from '../../../src/agents/builtin/mesh.ts'
import type { LogFn, LogLevel } from '../../../src/logging/json-logger.ts'
import { ToolCallError } from '../../../src/routing/errors.ts'

export { eventually } from '../../../../test/support/eventually.ts'

export interface LogLine { level: LogLevel, msg: string, fields?: Record<string, unknown> }

/** Hosts, temp dirs and closers made by a test; `cleanup()` in afterEach ends them all. */
export class Fixture {
  readonly logs: LogLine[] = []
  readonly log: LogFn = (level, msg, fields) => { this.logs.push({ level, msg, ...(fields === undefined ? {} : { fields }) }) }
  private readonly closers: Array<() => Promise<void>> = []

  async tmpDir (): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'dawn-agents-'))
    this.onCleanup(async () => { await rm(dir, { recursive: true, force: true }) })
    return dir
  }

  async host (dataDir: string, opts: { mesh?: MeshFacade, connection?: AgentHostInit['connection'] } = {}): Promise<AgentHost> {
    const host = new AgentHost(
      { log: this.log, ...(opts.mesh === undefined ? {} : { mesh: opts.mesh }) },
      { dataDir, connection: { minBackoffMs: 200, maxBackoffMs: 1000, ...opts.connection } }
    )
    await host.start()
    this.onCleanup(async () => { await host.stop() })
    return host
  }

  onCleanup (fn: () => Promise<void>): void {
    this.closers.push(fn)
  }

  async cleanup (): Promise<void> {
    for (const fn of this.closers.splice(0).reverse()) await fn()
    this.logs.length = 0
  }
}

export function signal (ms = 10_000): AbortSignal {
  return AbortSignal.timeout(ms)
}

/** The text of a tool result's first content block. */
export function text (result: Record<string, unknown>): string {
  const content = result.content as Array<{ type: string, text?: string }>
  const first = content[0]
  if (first?.type !== 'text' || first.text === undefined) throw new Error(`not a text result: ${JSON.stringify(result).slice(0, 200)}`)
  return first.text
}

/** Awaits a rejection and returns the error, typed. */
export async function rejection<T extends Error = ToolCallError> (promise: Promise<unknown>): Promise<T> {
  try {
    await promise
  } catch (err) {
    return err as T
  }
  throw new Error('expected a rejection')
}
