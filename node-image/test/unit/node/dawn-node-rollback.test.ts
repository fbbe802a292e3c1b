import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type Server } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNetworkDir } from '../../../src/local-mesh/network-dir.ts'
import { loadConfig } from '../../../src/config/load.ts'
import { DawnNode } from '../../../src/node/dawn-node.ts'

async function listen (port: number): Promise<Server> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => { resolve() })
  })
  return server
}

async function close (server: Server): Promise<void> {
  await new Promise<void>(resolve => { server.close(() => { resolve() }) })
}

/**
 * A real node whose last part (the HTTP server) cannot start: every part started
 * before it is stopped again, so the libp2p port is free and the node can start
 * once the cause is gone.
 */
describe('DawnNode start rollback', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

  it('a failed start leaves nothing listening, and a later start succeeds', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dawn-rollback-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const net = await createNetworkDir({ dir, nodes: 1, network: 'rollback' })
    const files = net.nodes[0]!
    const { config } = await loadConfig({ file: files.configFile })
    const p2pPort = Number(/tcp\/(\d+)/.exec(config.p2p.listen[0]!)?.[1])
    const logs: string[] = []
    const log = (level: string, msg: string): void => { logs.push(`${level} ${msg}`) }

    const blocker = await listen(config.http.port)
    const node = await DawnNode.create({ config, log })
    await expect(node.start()).rejects.toThrow(/EADDRINUSE/)
    // libp2p had been listening on the p2p port; after the rollback the port is free again.
    expect(logs.some(l => l.includes('node started'))).toBe(false)
    await close(await listen(p2pPort))
    await close(blocker)

    const again = await DawnNode.create({ config, log })
    await again.start()
    cleanups.push(async () => { await again.stop() })
    expect((await fetch(`${files.httpUrl}/healthz`)).status).toBe(200)
  })
})
