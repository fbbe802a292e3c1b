// The MCP reference server (@modelcontextprotocol/server-everything, unmodified from npm) over
// Streamable HTTP on a free loopback port, for the feature probes.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { eventually } from '../eventually.ts'
import { freePorts, killPid, startProcess, tail, type Proc } from '../processes.ts'

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..')
const ENTRY = join(REPO, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js')
const LOOPBACK_ONLY = join(REPO, 'test/support/mcp-features/loopback-only.ts')

export interface EverythingServer {
  /** The server's MCP endpoint, `http://127.0.0.1:<port>/mcp`. */
  url: URL
  proc: Proc
  stop: () => Promise<void>
}

export class EverythingServerStartError extends Error {
  override name = 'EverythingServerStartError'
}

/** Starts server-everything and waits until its endpoint answers an `initialize`. */
export async function startEverythingServer (opts: { timeoutMs?: number } = {}): Promise<EverythingServer> {
  const [port] = await freePorts(1)
  if (port === undefined) throw new EverythingServerStartError('no free port')
  const logDir = await mkdtemp(join(tmpdir(), 'dawn-everything-'))
  const proc = startProcess('server-everything', process.execPath, ['--import', LOOPBACK_ONLY, ENTRY, 'streamableHttp'], logDir, {
    cwd: REPO,
    // GZIP_ALLOWED_DOMAINS: the probe hands gzip-file-as-resource a data: URI only; no domain is allowed.
    env: { ...process.env, PORT: String(port), GZIP_ALLOWED_DOMAINS: 'localhost.invalid' }
  })
  const url = new URL(`http://127.0.0.1:${port}/mcp`)
  const stop = async (): Promise<void> => {
    if (proc.child.pid !== undefined && proc.exit === undefined) await killPid(proc.child.pid, 3000)
    await rm(logDir, { recursive: true, force: true })
  }
  try {
    await eventually(async () => {
      if (proc.exit !== undefined) throw new EverythingServerStartError(`server-everything exited (${String(proc.exit)}):\n${tail(proc.log)}`)
      return await answersInitialize(url)
    }, { what: `server-everything on ${url.href}`, timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 100, detail: async () => tail(proc.log) })
  } catch (err) {
    await stop()
    throw err
  }
  return { url, proc, stop }
}

/** True once the endpoint answers a JSON-RPC `initialize` (the session it opens is left to expire). */
async function answersInitialize (url: URL): Promise<boolean> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'dawn-ready-check', version: '0' } } }),
    signal: AbortSignal.timeout(2000)
  }).catch(() => undefined)
  if (res === undefined) return false
  const body = await res.text()
  return res.ok && body.includes('"serverInfo"')
}
