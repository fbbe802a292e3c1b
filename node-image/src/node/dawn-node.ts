import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { FastifyInstance } from 'fastify'
import type { NodeConfig } from '../config/schema.ts'
import { ConfigWatcher } from '../config/watch.ts'
import { createNodeMetrics, type NodeMetrics } from '../metrics/node-metrics.ts'
import { networkProtocols } from '../p2p/protocols.ts'
import { Messenger } from '../p2p/messenger.ts'
import { MembershipGuard } from '../p2p/membership-guard.ts'
import { createHost, type DawnHost } from '../p2p/host.ts'
import { GossipChannel } from '../p2p/gossip-channel.ts'
import { Bootstrapper } from '../p2p/bootstrapper.ts'
import { PeerAnnouncer } from '../p2p/peer-announcer.ts'
import { AgentRegistry } from '../registry/agent-registry.ts'
import type { AgentRecord } from '../registry/agent-record.ts'
import { RegistrySync } from '../registry/registry-sync.ts'
import { createHttpServer } from '../http/server.ts'
import type { NodeView } from '../http/node-view.ts'
import { loadCredentials, type Credentials } from './load-credentials.ts'
import { silentLogger, type LogFn } from '../logging/json-logger.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { VERSION } from './version.ts'

export interface DawnNodeInit {
  config: NodeConfig
  /** When set, the agents section reloads live from this file. */
  configFile?: string
  reloadConfig?: () => Promise<NodeConfig>
  log?: LogFn
  /** Process-wide metrics (CPU, memory); off when many nodes share a process. */
  processMetrics?: boolean
  /** Skip the HTTP server (benchmarks running many nodes in one process). */
  http?: boolean
}

/** A Dawn mesh node: identity, private libp2p host, membership, registry, HTTP API. */
export class DawnNode {
  readonly config: NodeConfig
  readonly metrics: NodeMetrics
  readonly registry: AgentRegistry
  readonly peerId: string
  private readonly init: DawnNodeInit
  private readonly log: LogFn
  private readonly creds: Credentials
  private readonly messenger: Messenger
  private readonly guard: MembershipGuard
  private libp2pHost?: DawnHost
  private sync?: RegistrySync
  private registryChannel?: GossipChannel
  private announceChannel?: GossipChannel
  private bootstrapper?: Bootstrapper
  private announcer?: PeerAnnouncer
  private http?: FastifyInstance
  private watcher?: ConfigWatcher
  private startedAt = new Date(0)
  private started = false

  private constructor (init: DawnNodeInit, creds: Credentials) {
    this.init = init
    this.config = init.config
    this.creds = creds
    this.peerId = creds.peerId
    this.log = init.log ?? silentLogger
    this.metrics = createNodeMetrics({ processMetrics: init.processMetrics ?? false })
    const components = { metrics: this.metrics, log: this.log }
    this.messenger = new Messenger(components, {
      network: init.config.network.name,
      peerId: creds.peerId,
      seed: creds.seed,
      certificate: creds.certificate,
      caPublicKey: creds.caPublicKey,
      maxMessageBytes: init.config.network.maxMessageBytes,
      replayWindowMs: init.config.network.replayWindowSeconds * 1000
    })
    this.guard = new MembershipGuard({ ...components, messenger: this.messenger }, { protocol: networkProtocols(init.config.network.name).membership })
    this.registry = new AgentRegistry({ peerId: creds.peerId, dataDir: init.config.node.dataDir })
  }

  /** Loads credentials (generating the node key on first run) and builds the node. */
  static async create (init: DawnNodeInit): Promise<DawnNode> {
    const creds = await loadCredentials(init.config, key => peerIdFromPrivateKey(key).toString())
    return new DawnNode(init, creds)
  }

  get libp2p (): DawnHost {
    if (this.libp2pHost === undefined) throw new Error('node not started')
    return this.libp2pHost
  }

  get keyCreated (): boolean {
    return this.creds.keyCreated
  }

  /** HTTP address once listening, e.g. http://127.0.0.1:8080 */
  httpUrl?: string

  async start (): Promise<void> {
    const { config } = this
    const protocols = networkProtocols(config.network.name)
    const components = { metrics: this.metrics, log: this.log, messenger: this.messenger }
    await this.registry.start()
    const host = await createHost({
      privateKey: this.creds.privateKey,
      swarmKey: this.creds.swarmKey,
      protocols,
      listen: config.p2p.listen,
      announce: config.p2p.announce,
      mdns: config.p2p.mdns,
      relayServer: config.node.relayServer,
      maxConnections: config.p2p.maxConnections,
      maxMessageBytes: config.network.maxMessageBytes,
      gater: this.guard.gater()
    })
    this.libp2pHost = host
    await this.guard.start(host)

    const channelComponents = { ...components, pubsub: host.services.pubsub, selfId: this.peerId }
    const sync = new RegistrySync({ ...components, libp2p: host, guard: this.guard, registry: this.registry, channel: () => registryChannel }, { protocol: protocols.registrySync })
    const registryChannel = new GossipChannel(channelComponents, { topic: protocols.registryTopic, type: 'registry.delta', onMessage: env => { sync.handleDelta(env) } })
    const announcer = new PeerAnnouncer({ libp2p: host, channel: () => announceChannel }, { targetPeers: Math.floor(config.p2p.maxConnections / 2) })
    const announceChannel = new GossipChannel(channelComponents, { topic: protocols.announceTopic, type: 'peer.announce', onMessage: env => { announcer.handle(env) } })
    this.sync = sync
    this.registryChannel = registryChannel
    this.announceChannel = announceChannel
    this.announcer = announcer
    registryChannel.start()
    announceChannel.start()
    await sync.start()
    announcer.start()
    this.guard.addEventListener('peer:verified', () => { announcer.announceSoon() })
    this.registry.addEventListener('change', () => { this.metrics.registryEntries.set(this.registry.size) })

    this.setLocalAgents(config.agents)
    this.metrics.registryEntries.set(this.registry.size)

    this.bootstrapper = new Bootstrapper({ libp2p: host, log: this.log }, { addrs: config.p2p.bootstrap, selfId: this.peerId })
    this.bootstrapper.start()

    if (this.init.http !== false) {
      this.http = createHttpServer({ view: this.view(), log: this.log }, { host: config.http.host, port: config.http.port })
      const url = await this.http.listen({ host: config.http.host, port: config.http.port })
      this.httpUrl = url.replace('0.0.0.0', '127.0.0.1')
    }
    if (this.init.configFile !== undefined && this.init.reloadConfig !== undefined) {
      this.watcher = new ConfigWatcher({
        file: this.init.configFile,
        reload: this.init.reloadConfig,
        onAgents: agents => {
          this.log('info', 'agents reloaded from config', { agents: agents.map(a => a.id) })
          this.setLocalAgents(agents)
        },
        onProblem: message => { this.log('warn', message) }
      }, config)
      await this.watcher.start()
    }
    this.startedAt = new Date()
    this.started = true
    this.log('info', 'node started', { peerId: this.peerId, network: config.network.name, addrs: host.getMultiaddrs().map(a => a.toString()), http: this.httpUrl })
  }

  async stop (): Promise<void> {
    this.started = false
    await this.watcher?.stop()
    this.bootstrapper?.stop()
    this.announcer?.stop()
    await this.http?.close()
    await this.sync?.stop()
    this.registryChannel?.stop()
    this.announceChannel?.stop()
    await this.guard.stop()
    await this.libp2pHost?.stop()
    await this.registry.stop()
    this.log('info', 'node stopped', { peerId: this.peerId })
  }

  /** Replaces this node's own registry entries with the configured agents and gossips the change. */
  setLocalAgents (agents: NodeConfig['agents']): void {
    const current = new Map(this.registry.entries().filter(e => e.nodeId === this.peerId).map(e => [e.agentId, e]))
    const records: AgentRecord[] = agents.map(a => {
      // Only static entries carry tools in config; the MCP runtime lists the others' tools.
      const record: AgentRecord = { nodeId: this.peerId, agentId: a.id, name: a.name ?? a.id, kind: a.kind, description: a.description, tools: a.kind === 'static' ? a.tools : [], updatedAt: Date.now() }
      const prev = current.get(a.id)
      // Keep the old timestamp for an unchanged agent, so a reload gossips nothing.
      return prev !== undefined && sameAgent(prev, record) ? prev : record
    })
    const delta = this.registry.setLocalAgents(records)
    if (delta !== undefined) void this.sync?.publishDelta(delta)
  }

  readiness (): { ready: boolean, reason: string } {
    if (!this.started) return { ready: false, reason: 'starting' }
    if (this.guard.verifiedPeers().length > 0) return { ready: true, reason: 'joined the mesh' }
    if (this.bootstrapper?.isFirstNode === true) return { ready: true, reason: 'first node of the mesh' }
    return { ready: false, reason: 'waiting for a bootstrap peer' }
  }

  verifiedPeers (): string[] {
    return this.guard.verifiedPeers()
  }

  private view (): NodeView {
    return {
      info: () => ({
        peerId: this.peerId,
        network: this.config.network.name,
        version: VERSION,
        addrs: this.libp2p.getMultiaddrs().map(a => a.toString()),
        relayServer: this.config.node.relayServer,
        startedAt: this.startedAt.toISOString(),
        ready: this.readiness().ready,
        peers: this.guard.verifiedPeers().length,
        registry: { digest: this.registry.digest(), entries: this.registry.size }
      }),
      peers: () => {
        const byPeer = new Map<string, Array<{ remoteAddr: string, direction: string, limited: boolean }>>()
        for (const c of this.libp2p.getConnections()) {
          const list = byPeer.get(c.remotePeer.toString()) ?? []
          list.push({ remoteAddr: c.remoteAddr.toString(), direction: c.direction, limited: c.limits != null })
          byPeer.set(c.remotePeer.toString(), list)
        }
        return [...byPeer].map(([peerId, connections]) => ({ peerId, verified: this.guard.isVerified(peerId), connections }))
          .sort((a, b) => a.peerId.localeCompare(b.peerId))
      },
      registry: ({ nodeId }) => {
        const entries = this.registry.entries().filter(e => nodeId === undefined || e.nodeId === nodeId)
        return { digest: this.registry.digest(), size: this.registry.size, entries }
      },
      readiness: () => this.readiness(),
      metrics: async () => {
        this.metrics.dhtRoutingTableSize.set(routingTableSize(this.libp2p))
        return { contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() }
      },
      dial: async (addr, signal) => {
        const conn = await this.libp2p.dial(multiaddr(addr), { signal })
        const peerId = conn.remotePeer.toString()
        return { peerId, verified: this.guard.isVerified(peerId) }
      }
    }
  }
}

function sameAgent (a: AgentRecord, b: AgentRecord): boolean {
  return JSON.stringify({ ...a, updatedAt: 0 }) === JSON.stringify({ ...b, updatedAt: 0 })
}

function routingTableSize (host: DawnHost): number {
  const dht = host.services.dht as unknown as { routingTable?: { size?: number } }
  return dht.routingTable?.size ?? 0
}
