import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { eventually, getJson, readMetric, tempDir } from './harness.ts'
import { createNetworkDir, type NetworkFiles } from '../../src/local-mesh/network-dir.ts'
import { NodeProcess } from '../../src/local-mesh/node-process.ts'
import { nodeBehindRelay } from './behind-relay.ts'
import { createNetNs, type NetNs } from '../../../test/support/netns.ts'
import { startTcpRecorder, type TcpRecorder } from '../../../test/support/tcp-recorder.ts'

/**
 * Three real nodes: a relay R, a caller A, and a target T in its own network
 * namespace that can reach R only — through a recording TCP forwarder — and
 * has no listening address. A call from A to T must go through R, and what R's
 * wire carries must hold no plaintext of the arguments or the result.
 */
describe('a node reachable only through a relay', () => {
  let dir: string
  let net: NetworkFiles
  let ns: NetNs
  let recorder: TcpRecorder
  const procs: NodeProcess[] = []

  beforeAll(async () => {
    ns = createNetNs()
    dir = await tempDir('dawn-relay-')
    net = await createNetworkDir({
      dir,
      nodes: 3,
      bootstrapNodes: 1,
      agents: i => i === 2 ? [{ id: 'echo', kind: 'builtin', builtin: 'echo', description: '' }, { id: 'notes', kind: 'builtin', builtin: 'notes', description: '' }] : [],
      patch: (i, config) => { if (i === 0) (config.node as Record<string, unknown>).relayServer = true }
    })
    const [relay, , target] = net.nodes
    const relayPort = Number(/tcp\/(\d+)/.exec(relay!.p2pAddr)![1])
    recorder = await startTcpRecorder({ host: ns.hostAddr }, { host: '127.0.0.1', port: relayPort })
    const behind = await nodeBehindRelay(target!, ns, `/ip4/${ns.hostAddr}/tcp/${recorder.port}/p2p/${relay!.peerId}`)

    procs.push(new NodeProcess({ configFile: relay!.configFile, httpUrl: relay!.httpUrl }))
    procs.push(new NodeProcess({ configFile: net.nodes[1]!.configFile, httpUrl: net.nodes[1]!.httpUrl }))
    procs.push(behind)
    for (const p of procs) p.start()
    await Promise.all(procs.map(async p => { await p.waitReady(60_000) }))
    await eventually(async () => {
      const reg = await getJson<{ entries: Array<{ nodeId: string, tools: unknown[] }> }>(`${net.nodes[1]!.httpUrl}/api/v1/registry`)
      expect(reg.entries.filter(e => e.nodeId === target!.peerId && e.tools.length > 0)).toHaveLength(2)
      return true
    }, { what: 'the target agents in the caller registry', timeoutMs: 30_000 })
  }, 120_000)

  afterAll(async () => {
    await Promise.all(procs.map(async p => { await p.stop() }))
    await recorder.close()
    ns.remove()
    await rm(dir, { recursive: true, force: true })
  })

  it('answers a call through circuit relay v2, and the relay link carries no plaintext', async () => {
    const caller = net.nodes[1]!
    const target = net.nodes[2]!
    const secretArg = `ARG-${randomBytes(12).toString('hex')}`
    const secretValue = `RESULT-${randomBytes(12).toString('hex')}`
    const call = async (tool: string, args: Record<string, unknown>): Promise<{ route: string, result: { content: Array<{ text: string }> } }> => {
      const res = await fetch(`${caller.httpUrl}/api/v1/calls`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ target: `${target.peerId}:${tool.split('/')[0]!}`, tool: tool.split('/')[1]!, arguments: args, timeoutMs: 30_000 })
      })
      const body = await res.json() as { route: string, result: { content: Array<{ text: string }> } }
      expect(res.status, JSON.stringify(body)).toBe(200)
      return body
    }
    const before = recorder.total()
    const echoed = await call('echo/echo', { text: secretArg })
    expect(echoed.route).toBe('relayed')
    expect(echoed.result.content[0]!.text).toBe(secretArg)
    // The second secret exists only on T until the result travels back.
    await call('notes/put', { key: 'k', value: secretValue })
    const got = await call('notes/get', { key: 'k' })
    expect(got.result.content.map(c => c.text).join('')).toContain(secretValue)

    expect(recorder.total() - before).toBeGreaterThan(2 * secretArg.length)
    expect(recorder.saw(Buffer.from(secretArg))).toBe(false)
    expect(recorder.saw(Buffer.from(secretValue))).toBe(false)
    expect(await readMetric(caller.httpUrl, 'dawn_tool_calls_total', { result: 'ok', route: 'relayed' })).toBe(3)
  })
})
