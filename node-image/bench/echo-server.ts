/**
 * The echo MCP server (`dawn-node agent serve echo --http`) as its own process on
 * loopback, from the given entry (the bundle or the CLI source); resolves once it answers.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../src/local-mesh/free-port.ts'
import { eventually } from '../../test/support/eventually.ts'

export interface HttpEcho {
  url: string
  pid: number | undefined
  stop: () => Promise<void>
}

export async function startHttpEcho (entry: string): Promise<HttpEcho> {
  const dir = await mkdtemp(join(tmpdir(), 'dawn-bench-echo-'))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}/mcp`
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', entry, 'agent', 'serve', 'echo', '--http', String(port), '--host', '127.0.0.1', '--data-dir', dir], { stdio: 'ignore' })
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) await new Promise(resolve => { child.once('exit', resolve); child.kill() })
    await rm(dir, { recursive: true, force: true })
  }
  try {
    await eventually(async () => (await fetch(url, { method: 'GET' }).then(r => r.status, () => 0)) > 0 ? true : undefined, { what: 'the echo server', timeoutMs: 30_000 })
  } catch (err) {
    await stop()
    throw err
  }
  return { url, pid: child.pid, stop }
}
