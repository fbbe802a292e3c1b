import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { eventually, getJson, readMetric, tempDir } from './harness.ts'
import { outsiderNode } from './outsiders.ts'
import { createNetworkDir, type NetworkFiles } from '../../src/local-mesh/network-dir.ts'
import { NodeProcess } from '../../src/local-mesh/node-process.ts'
import { loadConfig } from '../../src/config/load.ts'
import { DawnNode } from '../../src/node/dawn-node.ts'
import { Messenger } from '../../src/p2p/messenger.ts'
import { encodeBase64url } from '../../src/identity/base64url.ts'
import { MODE_E2E, MODE_PLAIN } from '../../src/routing/tool-call-wire.ts'
import { ToolCallError } from '../../src/routing/errors.ts'
import { nodeBehindRelay } from './behind-relay.ts'
import { createNetNs, type NetNs } from '../../../test/support/netns.ts'
import { startTcpRecorder, type TcpRecorder } from '../../../test/support/tcp-recorder.ts'

/**
 * Three real nodes: a relay R, a caller A, and a target T in its own network
 * namespace that can reach R only (through a TCP forwarder that keeps what it
 * carries) and has no listening address. Calls to T must go through R.
 *
 * Noise and the PSK already encrypt every libp2p connection, relayed ones
 * included, so what the relay's wire carries says nothing about the end-to-end
 * seal. The seal is checked where it lives: in the call envelope's body, which
 * in-process members capture as their own node code seals and opens it.
 */
describe('a node reachable only through a relay', () => {
  let dir: string
  let net: NetworkFiles
  let ns: NetNs
  let forwarder: TcpRecorder
  const procs: NodeProcess[] = []
  const members: DawnNode[] = []

  beforeAll(async () => {
    ns = createNetNs()
    dir = await tempDir('dawn-relay-')
    net = await createNetworkDir({
      dir,
      nodes: 3,
      bootstrapNodes: 1,
      agents: i => i === 2 ? [{ id: 'echo', kind: 'builtin', builtin: 'echo', description: '' }] : [],
      patch: (i, config) => { if (i === 0) (config.node as Record<string, unknown>).relayServer = true }
    })
    const [relay, , target] = net.nodes
    const relayPort = Number(/tcp\/(\d+)/.exec(relay!.p2pAddr)![1])
    forwarder = await startTcpRecorder({ host: ns.hostAddr }, { host: '127.0.0.1', port: relayPort })
    const behind = await nodeBehindRelay(target!, ns, `/ip4/${ns.hostAddr}/tcp/${forwarder.port}/p2p/${relay!.peerId}`)

    procs.push(new NodeProcess({ configFile: relay!.configFile, httpUrl: relay!.httpUrl }))
    procs.push(new NodeProcess({ configFile: net.nodes[1]!.configFile, httpUrl: net.nodes[1]!.httpUrl }))
    procs.push(behind)
    for (const p of procs) p.start()
    await Promise.all(procs.map(async p => { await p.waitReady(60_000) }))
    await eventually(async () => {
      const reg = await getJson<{ entries: Array<{ nodeId: string, tools: unknown[] }> }>(`${net.nodes[1]!.httpUrl}/api/v1/registry`)
      expect(reg.entries.filter(e => e.nodeId === target!.peerId && e.tools.length > 0)).toHaveLength(1)
      return true
    }, { what: 'the target agent in the caller registry', timeoutMs: 30_000 })
  }, 120_000)

  afterAll(async () => {
    vi.restoreAllMocks()
    await Promise.all(members.map(async m => { await m.stop() }))
    await Promise.all(procs.map(async p => { await p.stop() }))
    await forwarder.close()
    ns.remove()
    await rm(dir, { recursive: true, force: true })
  })

  /** A certified member run in this process, with its own `toolCalls.encryption`, that knows T's agent (one per setting). */
  const memberFor = new Map<string, Promise<DawnNode>>()
  async function member (encryption: 'required' | 'off'): Promise<DawnNode> {
    const made = memberFor.get(encryption) ?? startMember(encryption)
    memberFor.set(encryption, made)
    return await made
  }
  async function startMember (encryption: 'required' | 'off'): Promise<DawnNode> {
    const files = await outsiderNode(net, { psk: true, ca: true })
    const { config } = await loadConfig({ file: files.configFile })
    config.toolCalls.encryption = encryption
    const node = await DawnNode.create({ config, http: false })
    members.push(node)
    await node.start()
    const target = net.nodes[2]!
    await eventually(async () => node.registry.get(target.peerId, 'echo') !== undefined, { what: `T's echo agent in the ${encryption} member's registry`, timeoutMs: 30_000 })
    // Reach T through the relay and wait until T has admitted this member, so the calls
    // below are about what the envelope carries, not about the first contact.
    await node.libp2p.dial(multiaddr(`${net.nodes[0]!.p2pAddr}/p2p-circuit/p2p/${target.peerId}`))
    await eventually(async () => (await getJson<Array<{ peerId: string, verified: boolean }>>(`${procs[2]!.init.httpUrl}/api/v1/peers`)).some(p => p.peerId === node.peerId && p.verified),
      { what: `T to admit the ${encryption} member`, timeoutMs: 30_000 })
    return node
  }

  /** Bodies of the call envelopes this process seals and opens while `run` runs. */
  async function capture<T> (run: () => Promise<T>): Promise<{ outcome: T, requests: Uint8Array[], responses: Uint8Array[] }> {
    const seal = vi.spyOn(Messenger.prototype, 'seal')
    const open = vi.spyOn(Messenger.prototype, 'tryOpen')
    try {
      const outcome = await run()
      const requests = seal.mock.calls.filter(([type]) => type === 'toolcall.request').map(([, body]) => body)
      const responses = open.mock.calls.flatMap(([, expect], i) => {
        const opened = open.mock.results[i]?.value as ReturnType<Messenger['tryOpen']> | undefined
        return expect.type === 'toolcall.response' && opened !== undefined && 'envelope' in opened ? [opened.envelope.body] : []
      })
      return { outcome, requests, responses }
    } finally {
      seal.mockRestore()
      open.mockRestore()
    }
  }

  const contains = (body: Uint8Array, text: string): boolean => Buffer.from(body).includes(Buffer.from(text))
  const echo = (text: string) => ({ name: 'echo', arguments: { text } })

  it('answers a call from another node through circuit relay v2', async () => {
    const caller = net.nodes[1]!
    const target = net.nodes[2]!
    const text = `hello-${randomBytes(6).toString('hex')}`
    const res = await fetch(`${caller.httpUrl}/api/v1/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ target: `${target.peerId}:echo`, tool: 'echo', arguments: { text }, timeoutMs: 30_000 })
    })
    const body = await res.json() as { route: string, result: { content: Array<{ text: string }> } }
    expect(res.status, JSON.stringify(body)).toBe(200)
    expect(body.route).toBe('relayed')
    expect(body.result.content[0]!.text).toBe(text)
    expect(await readMetric(caller.httpUrl, 'dawn_tool_calls_total', { result: 'ok', route: 'relayed' })).toBe(1)
  })

  it('seals the call end to end: the envelope bodies hold neither the argument nor the result', async () => {
    const caller = await member('required')
    const secret = `ARG-${randomBytes(12).toString('hex')}`
    const { outcome, requests, responses } = await capture(async () =>
      await caller.caller.call({ nodeId: net.nodes[2]!.peerId, agentId: 'echo' }, 'tools/call', echo(secret), { deadline: Date.now() + 30_000 }))
    expect(outcome.route).toBe('relayed')
    expect(outcome.result).toMatchObject({ content: [{ type: 'text', text: secret }] })
    expect(requests).toHaveLength(1)
    expect(responses).toHaveLength(1)
    for (const body of [...requests, ...responses]) {
      expect(contains(body, secret)).toBe(false)
      expect(body[0]).toBe(MODE_E2E)
    }
  })

  it('with encryption off the same capture shows the argument, and T (encryption required) refuses and counts it', async () => {
    const caller = await member('off')
    const target = net.nodes[2]!
    const targetUrl = procs[2]!.init.httpUrl
    const refusedBefore = await readMetric(targetUrl, 'dawn_tool_calls_rejected_total', { reason: 'plaintext' })
    const secret = `ARG-${randomBytes(12).toString('hex')}`
    const { outcome, requests } = await capture(async () =>
      await caller.caller.call({ nodeId: target.peerId, agentId: 'echo' }, 'tools/call', echo(secret), { deadline: Date.now() + 30_000 })
        .then(() => undefined, (err: unknown) => err))
    expect(outcome).toBeInstanceOf(ToolCallError)
    expect((outcome as ToolCallError).code).toBe('rejected')
    expect(requests).toHaveLength(1)
    expect(requests[0]![0]).toBe(MODE_PLAIN)
    expect(contains(requests[0]!, secret)).toBe(true)
    expect(await readMetric(targetUrl, 'dawn_tool_calls_rejected_total', { reason: 'plaintext' })).toBe(refusedBefore + 1)
  })

  it('transport encryption (PSK + Noise): the relay link to T never shows a call envelope, even an unsealed one', async () => {
    // Not a check of the E2E seal: pnet and Noise encrypt every libp2p connection whatever
    // `toolCalls.encryption` says. An unsealed body crosses the link as base64url inside the
    // envelope, so that text is what the forwarder would see without transport encryption.
    const caller = await member('off')
    const secret = `ARG-${randomBytes(12).toString('hex')}`
    const linkBefore = forwarder.total()
    const { requests } = await capture(async () =>
      await caller.caller.call({ nodeId: net.nodes[2]!.peerId, agentId: 'echo' }, 'tools/call', echo(secret), { deadline: Date.now() + 30_000 }).catch(() => undefined))
    expect(requests).toHaveLength(1)
    expect(forwarder.total() - linkBefore).toBeGreaterThan(requests[0]!.byteLength)
    expect(forwarder.saw(Buffer.from(encodeBase64url(requests[0]!)))).toBe(false)
  })
})
