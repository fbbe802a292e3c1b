import { describe, it, expect } from 'vitest'
import { applyOverrides, NodeConfigSchema, parseConfig } from '@dawn/node-image/config'
import { createCa, peerIdFromPrivateKeyPem } from '@dawn/node-image/identity'
import { planIdentities } from '../../../src/render/identity.ts'
import { MAX_BOOTSTRAP_ADDRESSES, renderNodeConfig, type RenderNodeConfigInput } from '../../../src/render/node-config.ts'
import { renderStatefulSet } from '../../../src/render/statefulset.ts'
import { agent, network, NOW, pool } from './fixtures.ts'

const ca = createCa()
const identities = (name: string, replicas: number): ReturnType<typeof planIdentities> =>
  planIdentities({ pool: name, replicas, caPrivateKeyPem: ca.privateKeyPem, network: 'demo', validityDays: 365, now: NOW })

const poolA = pool('a')
const idsA = identities('a', 3)
const poolB = pool('b', { replicas: 2, roles: { bootstrap: false, relay: true } })
const idsB = identities('b', 2)
const poolC = pool('c', { replicas: 2, ports: { p2p: 4101, http: 8181 } })
const idsC = identities('c', 2)
const bootstrapPools = [{ pool: poolA, peers: idsA.peers }, { pool: poolB, peers: idsB.peers }, { pool: poolC, peers: idsC.peers }]

const input = (over: Partial<RenderNodeConfigInput> = {}): RenderNodeConfigInput => ({ network: network(), pool: poolA, bootstrapPools, agents: [], ...over })

const echo = agent('echo', { builtin: { name: 'echo', settings: { greeting: 'hi' } }, description: 'says it back' })
const weather = agent('weather', { remote: { url: 'https://weather.example/mcp', headersSecretRef: { name: 'weather-token' } } })
const fetcher = agent('fetch', { agentId: 'fetcher', image: { image: 'mcp/fetch:1', port: 9000, path: '/rpc' } })

describe('renderNodeConfig', () => {
  it('writes a config the node\'s own parser accepts, with the pod paths', () => {
    const { config, text, warnings } = renderNodeConfig(input({ agents: [echo, weather, fetcher] }))
    expect(warnings).toEqual([])
    const parsed = parseConfig(JSON.parse(text), '/etc/dawn/config', 'rendered config')
    expect(parsed).toEqual(config)
    expect(config).toEqual({
      network: { name: 'demo', swarmKeyFile: '/etc/dawn/psk/swarm.key', caPublicKeyFile: '/etc/dawn/ca/ca.pub', replayWindowSeconds: 120, maxMessageBytes: 1048576 },
      node: { dataDir: '/var/lib/dawn', keyFile: '/etc/dawn/identity/node.key', certificateFile: '/etc/dawn/identity/node.cert.json', relayServer: false },
      p2p: {
        listen: ['/ip4/0.0.0.0/tcp/4001'],
        announce: [],
        bootstrap: [
          `/dns4/a-0.a-headless.mesh.svc.cluster.local/tcp/4001/p2p/${idsA.peers[0]!.peerId}`,
          `/dns4/c-0.c-headless.mesh.svc.cluster.local/tcp/4101/p2p/${idsC.peers[0]!.peerId}`,
          `/dns4/a-1.a-headless.mesh.svc.cluster.local/tcp/4001/p2p/${idsA.peers[1]!.peerId}`,
          `/dns4/c-1.c-headless.mesh.svc.cluster.local/tcp/4101/p2p/${idsC.peers[1]!.peerId}`,
          `/dns4/a-2.a-headless.mesh.svc.cluster.local/tcp/4001/p2p/${idsA.peers[2]!.peerId}`
        ],
        mdns: false,
        maxConnections: 300,
        maxInboundPerAddress: 64,
        inboundRatePerAddress: 16,
        maxPendingHandshakes: 64,
        handshakeTimeoutMs: 5000,
        upgradeTimeoutMs: 10000,
        pingIntervalMs: 10000,
        maxStreamsPerPeer: 256,
        maxBytesPerPeer: 64 * 1024 * 1024
      },
      http: { host: '0.0.0.0', port: 8080 },
      log: { level: 'info' },
      mcp: { enabled: true, allowedOrigins: [], maxRequestBytes: 4 * 1024 * 1024, maxSessions: 1024, sessionIdleSeconds: 900, naming: 'logical', catalog: 'full', toolFilters: {} },
      toolCalls: { encryption: 'required', timeoutMs: 30_000, maxBytes: 16 * 1024 * 1024, maxConcurrent: 512, floodMaxHops: 4, channel: true },
      storage: { backend: 'kubo', kuboApiUrl: 'http://127.0.0.1:5001', replication: 2, maxUploadBytes: 1024 ** 3, fetchTimeoutMs: 30_000, blockTimeoutMs: 10_000, manifestIntervalSeconds: 30, repairIntervalSeconds: 10 },
      rooms: { enabled: true, retention: { maxMessages: 50_000, maxAgeDays: 90 }, pageRate: { perSecond: 5, burst: 20 } },
      agents: [
        { id: 'echo', kind: 'builtin', description: 'says it back', builtin: 'echo', settings: { greeting: 'hi' } },
        { id: 'fetcher', kind: 'remote', description: '', url: 'http://dawn-agent-fetch.mesh.svc.cluster.local:9000/rpc' },
        { id: 'weather', kind: 'remote', description: '', url: 'https://weather.example/mcp', headersFile: '/etc/dawn/agents/weather.headers.json' }
      ]
    })
  })

  it('bootstraps from pods whose peer ids match their keys', () => {
    const { config } = renderNodeConfig(input())
    const byHost = new Map(config.p2p.bootstrap.map(a => [a.split('/')[2], a.split('/p2p/')[1]]))
    for (const [name, ids] of [['a', idsA], ['c', idsC]] as const) {
      for (const { ordinal } of ids.peers) {
        expect(byHost.get(`${name}-${ordinal}.${name}-headless.mesh.svc.cluster.local`)).toBe(peerIdFromPrivateKeyPem(ids.secretData[`${ordinal}.key`]!))
      }
    }
    expect([...byHost.keys()].some(h => h?.startsWith('b-'))).toBe(false) // not a bootstrap pool
  })

  it('works per pod once the StatefulSet\'s env overrides apply', () => {
    const { text } = renderNodeConfig(input())
    const env = {
      DAWN_KEY_FILE: '/etc/dawn/identity/node.key',
      DAWN_CERT_FILE: '/etc/dawn/identity/node.cert.json',
      DAWN_ANNOUNCE: '/dns4/a-1.a-headless.mesh.svc.cluster.local/tcp/4001'
    }
    const parsed = parseConfig(applyOverrides(JSON.parse(text) as Record<string, unknown>, env, {}), '/etc/dawn/config')
    expect(parsed.node.keyFile).toBe('/etc/dawn/identity/node.key')
    expect(parsed.node.certificateFile).toBe('/etc/dawn/identity/node.cert.json')
    expect(parsed.p2p.announce).toEqual(['/dns4/a-1.a-headless.mesh.svc.cluster.local/tcp/4001'])
  })

  it('names the files the identity init container writes, with or without the env overrides', () => {
    const { config } = renderNodeConfig(input())
    const spec = renderStatefulSet({ network: network(), pool: poolA, configChecksum: 'x' }).spec?.template.spec
    for (const container of [spec?.containers.find(c => c.name === 'node'), spec?.initContainers?.find(c => c.name === 'identity-init')]) {
      const env = new Map((container?.env ?? []).map(e => [e.name, e.value]))
      expect(env.get('DAWN_KEY_FILE'), container?.name).toBe(config.node.keyFile)
      expect(env.get('DAWN_CERT_FILE'), container?.name).toBe(config.node.certificateFile)
    }
  })

  it('binds the HTTP API to every pod interface explicitly: probes and Services reach it on the pod IP', () => {
    // Whatever the node's own default (loopback outside Kubernetes), the operator decides.
    const host = NodeConfigSchema.properties.http.properties.host as { default?: unknown }
    const nodeDefault = host.default
    host.default = '127.0.0.1'
    try {
      expect(renderNodeConfig(input()).config.http.host).toBe('0.0.0.0')
      expect(renderNodeConfig(input({ pool: poolC })).config.http).toEqual({ host: '0.0.0.0', port: 8181 })
    } finally {
      host.default = nodeDefault
    }
  })

  it('is canonical: equal input gives byte-equal text whatever the order of agents and pools', () => {
    const one = renderNodeConfig(input({ agents: [echo, weather, fetcher] })).text
    const two = renderNodeConfig(input({ agents: [fetcher, echo, weather], bootstrapPools: [...bootstrapPools].reverse() })).text
    expect(two).toBe(one)
    expect(one.endsWith('\n')).toBe(true)
    const keys = Object.keys(JSON.parse(one) as object)
    expect(keys).toEqual([...keys].sort())
  })

  it('points storage at the pod\'s Kubo sidecar with the network\'s replication factor', () => {
    const { config } = renderNodeConfig(input({ network: network({ ipfs: { replicationFactor: 3, privateSwarm: true } }) }))
    expect(config.storage).toMatchObject({ backend: 'kubo', kuboApiUrl: 'http://127.0.0.1:5001', replication: 3 })
  })

  it('follows the pool: network name, relay role, ports, log level', () => {
    const { config } = renderNodeConfig(input({ network: network({ networkName: 'mesh-one', clusterDomain: 'k8s.internal' }), pool: poolB }))
    expect(config.network.name).toBe('mesh-one')
    expect(config.node.relayServer).toBe(true)
    expect(config.p2p.bootstrap[0]).toMatch(/^\/dns4\/a-0\.a-headless\.mesh\.svc\.k8s\.internal\/tcp\/4001\/p2p\//)
    const c = renderNodeConfig(input({ pool: pool('c', { ports: { p2p: 4101, http: 8181 }, logLevel: 'debug' }) })).config
    expect(c.p2p.listen).toEqual(['/ip4/0.0.0.0/tcp/4101'])
    expect(c.http.port).toBe(8181)
    expect(c.log.level).toBe('debug')
  })

  it('ignores pools of other networks and ordinals beyond replicas', () => {
    const other = pool('x', { networkRef: { name: 'elsewhere' } })
    const shrunk = { pool: pool('a', { replicas: 1 }), peers: idsA.peers }
    const { config } = renderNodeConfig(input({ bootstrapPools: [shrunk, { pool: other, peers: idsA.peers }] }))
    expect(config.p2p.bootstrap).toEqual([`/dns4/a-0.a-headless.mesh.svc.cluster.local/tcp/4001/p2p/${idsA.peers[0]!.peerId}`])
  })

  it('warns when no pool of the network bootstraps', () => {
    const { config, warnings } = renderNodeConfig(input({ bootstrapPools: [{ pool: poolB, peers: idsB.peers }] }))
    expect(config.p2p.bootstrap).toEqual([])
    expect(warnings[0]).toMatch(/no pool of network demo has roles.bootstrap: true/)
  })

  it('caps the bootstrap list at what the node accepts, keeping every pool represented', () => {
    const peers = Array.from({ length: 100 }, (_, ordinal) => ({ ordinal, peerId: `12D3KooWfake${ordinal}` }))
    const big = ['p', 'q', 'r'].map(name => ({ pool: pool(name, { replicas: 100 }), peers }))
    const { config } = renderNodeConfig(input({ bootstrapPools: big }))
    expect(config.p2p.bootstrap).toHaveLength(MAX_BOOTSTRAP_ADDRESSES)
    for (const name of ['p', 'q', 'r']) expect(config.p2p.bootstrap.filter(a => a.startsWith(`/dns4/${name}-`)).length).toBeGreaterThan(80)
  })

  it('writes every DawnAgent\'s tool filter into every pool, placed there or not, and the network\'s naming mode', () => {
    const files = agent('files', { remote: { url: 'https://files.example/mcp' }, placement: { nodes: ['b'] }, tools: { deny: ['secret*'], rename: { read: 'fetch' } } })
    const { config } = renderNodeConfig(input({ network: network({ mcp: { naming: 'always-prefixed' } }), agents: [echo], networkAgents: [echo, files, weather] }))
    expect(config.agents.map(a => a.id)).toEqual(['echo'])
    expect(config.mcp.naming).toBe('always-prefixed')
    expect(config.mcp.toolFilters).toEqual({ files: { deny: ['secret*'], rename: { read: 'fetch' } } })
    // The node's own parser takes it, rename check included.
    expect(parseConfig(JSON.parse(JSON.stringify(config)), '/etc/dawn').mcp.toolFilters).toEqual(config.mcp.toolFilters)
    expect(renderNodeConfig(input()).config.mcp).toMatchObject({ naming: 'logical', toolFilters: {} })
  })

  it('hides every tool of an agent whose filter the node could not use, instead of dropping the filter', () => {
    // Written around the CRD's CEL rules: two tools renamed to one name, a key that is no tool name.
    const clash = agent('clash', { builtin: { name: 'echo' }, tools: { deny: ['secret'], rename: { a: 'same', b: 'same' } } })
    const badKey = agent('badkey', { builtin: { name: 'echo' }, tools: { descriptions: { 'no spaces': 'x' } } })
    const { config } = renderNodeConfig(input({ networkAgents: [clash, badKey] }))
    expect(config.mcp.toolFilters).toEqual({ badkey: { allow: [] }, clash: { allow: [] } })
    expect(() => parseConfig(JSON.parse(JSON.stringify(config)), '/etc/dawn')).not.toThrow()
  })

  it('takes the filter of the agent configured for an id: the oldest of two', () => {
    const older = agent('echo-a', { agentId: 'echo', builtin: { name: 'echo' }, tools: { allow: ['echo'] } }, '2026-01-01T00:00:00Z')
    const newer = agent('echo-b', { agentId: 'echo', builtin: { name: 'other' }, tools: { deny: ['*'] } }, '2026-02-01T00:00:00Z')
    expect(renderNodeConfig(input({ networkAgents: [newer, older] })).config.mcp.toolFilters).toEqual({ echo: { allow: ['echo'] } })
  })

  it('keeps the oldest of two agents claiming one id and reports the other', () => {
    const older = agent('echo-a', { agentId: 'echo', builtin: { name: 'echo' } }, '2026-01-01T00:00:00Z')
    const newer = agent('echo-b', { agentId: 'echo', builtin: { name: 'other' } }, '2026-02-01T00:00:00Z')
    const { config, conflicts } = renderNodeConfig(input({ agents: [newer, older] }))
    expect(config.agents).toEqual([{ id: 'echo', kind: 'builtin', description: '', builtin: 'echo' }])
    expect(conflicts).toEqual([{ agentId: 'echo', kept: 'echo-a', dropped: ['echo-b'] }])
  })
})
