import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { eventually, tempDir } from './harness.ts'
import { startKubo, type KuboDaemon } from '../../../test/support/kubo.ts'
import { createNetworkDir, type NetworkFiles } from '../../src/local-mesh/network-dir.ts'
import { NodeProcess } from '../../src/local-mesh/node-process.ts'
import { freePort } from '../../src/local-mesh/free-port.ts'

const LATE_MS = 20_000

/**
 * In a pod the node and its Kubo sidecar start together, and Kubo is often the
 * slower one. The node must wait for it as a readiness condition, never exit.
 */
describe('a node whose Kubo sidecar starts 20 s late', () => {
  let dir = ''
  let net: NetworkFiles
  let node: NodeProcess
  let kubo: KuboDaemon | undefined
  let apiPort = 0

  beforeAll(async () => {
    dir = await tempDir('dawn-kubo-late-')
    net = await createNetworkDir({ dir, nodes: 1, network: 'late' })
    apiPort = await freePort()
    const files = net.nodes[0]!
    const config = JSON.parse(await readFile(files.configFile, 'utf8')) as Record<string, unknown>
    config.storage = { backend: 'kubo', kuboApiUrl: `http://127.0.0.1:${apiPort}` }
    await writeFile(files.configFile, JSON.stringify(config))
    node = new NodeProcess({ configFile: files.configFile, httpUrl: files.httpUrl })
    node.start()
  })
  afterAll(async () => {
    await node.stop()
    await kubo?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('reports why it is not ready, keeps running, and becomes ready without a restart', async () => {
    const url = net.nodes[0]!.httpUrl
    await eventually(async () => (await fetch(`${url}/healthz`)).ok, { what: 'the node to serve HTTP' })
    const pid = node.pid
    const started = Date.now()
    let checks = 0
    while (Date.now() - started < LATE_MS) {
      const res = await fetch(`${url}/readyz`)
      expect(res.status).toBe(503)
      expect(JSON.stringify(await res.json())).toMatch(new RegExp(`waiting for the Kubo sidecar at http://127\\.0\\.0\\.1:${apiPort}`))
      expect(node.running).toBe(true)
      checks++
      await new Promise(resolve => setTimeout(resolve, 1000))
    }
    expect(checks).toBeGreaterThan(5)
    // An operation that needs the store says so instead of hanging.
    const early = await fetch(`${url}/api/v1/content`)
    expect(early.status).toBe(503)
    expect(await early.json()).toMatchObject({ code: 'unavailable' })

    const swarmKey = await readFile(join(net.dir, 'swarm.key'), 'utf8')
    kubo = await startKubo({ dir: join(dir, 'kubo'), swarmKey, apiPort })
    await eventually(async () => (await fetch(`${url}/readyz`)).status === 200, { what: 'the node to become ready once Kubo answers', timeoutMs: 30_000 })
    expect(node.pid).toBe(pid)
    expect(node.running).toBe(true)
    const added = await fetch(`${url}/api/v1/content`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new TextEncoder().encode('late but here') })
    expect(added.status).toBe(201)
    const { cid } = await added.json() as { cid: string }
    expect(await (await fetch(`${url}/api/v1/content/${cid}`)).text()).toBe('late but here')
  })
})
