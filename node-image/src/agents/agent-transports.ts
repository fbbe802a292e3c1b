/**
 * Opens the MCP client transport of one configured agent: in memory for a
 * builtin, Streamable HTTP for a remote, a child process for stdio. A plain
 * function, so the same agent can be opened any number of times.
 */
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { InMemoryTransport, StreamableHTTPClientTransport, type Transport, type VersionNegotiationOptions } from '@modelcontextprotocol/client'
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/client/stdio'
import type { AgentConfig } from '../config/schema.ts'
import { sleep } from '../timing/backoff.ts'
import { defineServer } from './define-server.ts'
import type { ServerSpec } from './define-server.ts'
import { plainHttpFetch } from './plain-http-fetch.ts'
import { loadRemoteHeaders } from './remote-headers.ts'

export type RuntimeAgentConfig = Exclude<AgentConfig, { kind: 'static' }>
export type BuiltinAgentConfig = Extract<AgentConfig, { kind: 'builtin' }>

/** Results of a stdio agent can be as large as a routed call allows (64 MiB) plus JSON overhead. */
const STDIO_MAX_BUFFER_BYTES = 80 * 1024 * 1024

const remoteFetch = plainHttpFetch()

export interface TransportHooks {
  /** The builtin's server spec; the caller builds it once, so its state (e.g. the notes store) is shared by every transport. */
  builtinSpec: (config: BuiltinAgentConfig) => ServerSpec
  /** Each line a stdio child writes to stderr, unclipped. */
  onStderrLine: (line: string) => void
}

/**
 * Which protocol revision the node speaks to an agent. A remote agent is probed with
 * `server/discover`: one that offers 2026-07-28 gets it, any other falls back to the
 * 2025-11-25 `initialize`. Builtins and stdio children stay on 2025-11-25: a builtin is
 * our own server in memory (its sessions carry its subscriptions and log level), and the
 * SDK probes a stdio agent by spawning a throwaway sibling process, a second child per
 * connection for nothing a single pipe would gain from a stateless protocol.
 */
export function versionNegotiation (config: RuntimeAgentConfig): VersionNegotiationOptions {
  return config.kind === 'remote' ? { mode: 'auto' } : { mode: 'legacy' }
}

/** May throw what building a builtin spec or loading remote headers throws (BuiltinConfigError, AgentHeadersError). */
export async function openTransport (config: RuntimeAgentConfig, hooks: TransportHooks): Promise<Transport> {
  switch (config.kind) {
    case 'builtin': {
      const spec = hooks.builtinSpec(config)
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
      await defineServer(spec).connect(serverSide)
      return clientSide
    }
    case 'remote': {
      const headers = await loadRemoteHeaders(config)
      return new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers }, fetch: remoteFetch })
    }
    case 'stdio': {
      const [command, ...args] = config.command as [string, ...string[]]
      const transport = new StdioClientTransport({
        command,
        args,
        env: { ...getDefaultEnvironment(), ...config.env },
        stderr: 'pipe',
        maxBufferSize: STDIO_MAX_BUFFER_BYTES
      })
      // With stderr: 'pipe' this is a PassThrough, available before the child starts.
      const stderr = transport.stderr
      if (stderr instanceof Readable) {
        const lines = createInterface({ input: stderr, crlfDelay: Infinity })
        lines.on('line', hooks.onStderrLine)
      }
      return transport
    }
  }
}

/** The child process of a started stdio transport. */
export function transportPid (transport: Transport): number | undefined {
  return transport instanceof StdioClientTransport && transport.pid !== null ? transport.pid : undefined
}

/** Politeness: lets a remote server drop our 2025-11-25 session now rather than at its idle timeout (2026-07-28 has none). Never throws. */
export async function endRemoteSession (transport: Transport, timeoutMs: number): Promise<void> {
  if (!(transport instanceof StreamableHTTPClientTransport) || transport.sessionId === undefined) return
  await Promise.race([transport.terminateSession().catch(() => {}), sleep(timeoutMs)])
}
