// Host loopback ports that lead into the cluster's network namespace. The host side only
// ever listens on 127.0.0.1 (the network rule); the connecting side lives in the namespace.
import { createServer, type Server } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { killPid, startProcess } from '../support/processes.ts'
import { inClusterNet } from './namespaces.ts'

const HERE = dirname(fileURLToPath(import.meta.url))

export interface BridgeTarget { host: string, port: number }
export interface LoopbackBridge { pid: number, ports: number[], close: () => Promise<void> }

async function listenLoopback (): Promise<Server> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => { resolve(s) })
  })
}

/** Node keeps a listening socket's descriptor on its internal handle; the bridge process inherits it. */
function fdOf (server: Server): number {
  const handle = (server as unknown as { _handle?: { fd?: unknown } })._handle
  if (typeof handle?.fd !== 'number' || handle.fd < 0) throw new Error('cannot read the listening socket\'s file descriptor')
  return handle.fd
}

/**
 * Opens one 127.0.0.1 port per target and starts a bridge process in the cluster's network
 * namespace that forwards each to its target. `name` names the log file in `logDir`.
 */
export async function startLoopbackBridge (name: string, targets: BridgeTarget[], logDir: string): Promise<LoopbackBridge> {
  const servers = await Promise.all(targets.map(async () => await listenLoopback()))
  try {
    const fds = servers.map(fdOf)
    const args = targets.map((t, i) => `${3 + i}=${t.host}:${t.port}`)
    const proc = startProcess(name, 'nsenter', [...inClusterNet().slice(1), process.execPath, '--disable-warning=ExperimentalWarning', join(HERE, 'loopback-bridge-main.ts'), ...args], logDir, { extraFds: fds })
    const pid = proc.child.pid
    if (pid === undefined) throw new Error(`could not start the loopback bridge ${name}`)
    const ports = servers.map(s => { const a = s.address(); if (a === null || typeof a === 'string') throw new Error('no port'); return a.port })
    return { pid, ports, close: async () => { await killPid(pid, 3000) } }
  } finally {
    // The bridge holds its own copies; ours would keep accepting (and queueing) otherwise.
    for (const s of servers) s.close()
  }
}
