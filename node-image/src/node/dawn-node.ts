import { peerIdFromPrivateKey } from '@libp2p/peer-id'
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
import { DenyList } from '../p2p/deny-list.ts'
import { PeerAdmission } from '../p2p/peer-admission.ts'
import { Lifecycle } from './lifecycle.ts'
import { AgentRegistry } from '../registry/agent-registry.ts'
import type { AgentRecord } from '../registry/agent-record.ts'
import { RegistrySync } from '../registry/registry-sync.ts'
import { FAILED_ROUNDS_BEFORE_NOT_READY } from '../registry/sync-health.ts'
import { createHttpServer } from '../http/server.ts'
import type { NodeView, Readiness } from '../http/node-view.ts'
import { loadCredentials, type Credentials } from './load-credentials.ts'
import { silentLogger, type LogFn } from '../logging/json-logger.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { VERSION } from '../version.ts'
import { readFile } from 'node:fs/promises'
import { peerIdFromString } from '@libp2p/peer-id'
import { AgentHost } from '../agents/agent-host.ts'
import type { MeshFacade } from '../agents/builtin/mesh.ts'
import { E2ECipher } from '../routing/e2e-cipher.ts'
import { ToolRouter } from '../routing/tool-router.ts'
import { InputRounds } from '../agents/input-rounds.ts'
import { SessionChannels } from '../agents/session-channels.ts'
import { LocalCalls } from '../agents/local-calls.ts'
import { CallChannelService } from '../routing/call-channel-service.ts'
import { ToolCallService } from '../routing/tool-call-service.ts'
import { FloodRelay, type FloodObserver } from '../routing/flood-relay.ts'
import { FloodRouter } from '../routing/flood-router.ts'
import type { MeshCaller } from '../routing/types.ts'
import type { MeshCatalog } from '../mcp/mesh-requests.ts'
import { createMeshCalls, type MeshCalls } from './mesh-calls.ts'
import { ContentService } from '../storage/content-service.ts'
import type { ContentFacade } from '../storage/content-api.ts'
import { EventHub } from '../events/event-hub.ts'
import { NodeEvents, nodeEventSources } from '../events/node-events.ts'
import { rooms, type RoomsService } from '../rooms/rooms-service.ts'

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
  /** Sees every frame this node relays on the flood route (tests record what an intermediate member carries). */
  observeFlood?: FloodObserver
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
  private readonly denyList = new DenyList()
  private readonly lifecycle: Lifecycle
  private guard?: MembershipGuard
  private libp2pHost?: DawnHost
  private sync?: RegistrySync
  private bootstrapper?: Bootstrapper
  private readonly cipher: E2ECipher
  readonly agents: AgentHost
  /** Live events for the page's stream; other parts publish here (`publish(type, data)`). */
  readonly events: EventHub
  private router?: ToolRouter
  private contentService?: ContentService
  private roomsService?: RoomsService
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
      replayWindowMs: init.config.network.replayWindowSeconds * 1000,
      // Base64 in the envelope, the E2E header and the certificate on top of the JSON.
      large: { types: ['toolcall.request', 'toolcall.response'], maxBytes: Math.ceil(init.config.toolCalls.maxBytes * 4 / 3) + 64 * 1024 }
    })
    this.cipher = new E2ECipher({ peerId: creds.peerId, seed: creds.seed, replayWindowMs: init.config.network.replayWindowSeconds * 1000 })
    this.agents = new AgentHost({ log: this.log, mesh: this.meshFacade(), content: this.contentFacade() }, { dataDir: init.config.node.dataDir })
    this.lifecycle = new Lifecycle(this.log)
    this.registry = new AgentRegistry({ peerId: creds.peerId, dataDir: init.config.node.dataDir })
    this.events = new EventHub({ onDrop: reason => { this.log('info', 'event stream dropped', { reason }) } })
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

  /**
   * Starts every part in order. If one fails, the parts already started are
   * stopped again, so a failed start leaves nothing running.
   */
  async start (): Promise<void> {
    try {
      await this.startParts()
    } catch (err) {
      await this.lifecycle.stopAll()
      this.libp2pHost = undefined
      throw err
    }
    this.startedAt = new Date()
    this.started = true
    this.log('info', 'node started', { peerId: this.peerId, network: this.config.network.name, addrs: this.libp2p.getMultiaddrs().map(a => a.toString()), http: this.httpUrl })
  }

  private async startParts (): Promise<void> {
    const { config, lifecycle } = this
    const protocols = networkProtocols(config.network.name)
    const components = { metrics: this.metrics, log: this.log, messenger: this.messenger }
    await lifecycle.run('event hub', () => { this.events.start() }, () => { this.events.stop() })
    await lifecycle.run('registry', async () => { await this.registry.start() }, async () => { await this.registry.stop() })
    const { libp2p: host, protector, inbound } = await lifecycle.run('libp2p', async () => await createHost({
      privateKey: this.creds.privateKey,
      psk: this.creds.psk,
      protocols,
      listen: config.p2p.listen,
      announce: config.p2p.announce,
      mdns: config.p2p.mdns,
      relayServer: config.node.relayServer,
      limits: config.p2p,
      maxMessageBytes: config.network.maxMessageBytes,
      gater: this.denyList.gater()
    }), async ({ libp2p }) => { await libp2p.stop() })
    this.libp2pHost = host
    this.metrics.watchInbound({ limits: config.p2p, handshakes: protector.stats, inbound, denied: this.denyList })

    const guard = new MembershipGuard({ ...components, libp2p: host, denyList: this.denyList }, { protocol: protocols.membership })
    this.guard = guard
    await lifecycle.run('membership', async () => { await guard.start() }, async () => { await guard.stop() })
    const admission = new PeerAdmission({
      isVerified: peer => guard.isVerified(peer),
      onRefused: (reason, service) => { this.metrics.streamsRefused.inc({ reason, service }) }
    }, { maxStreamsPerPeer: config.p2p.maxStreamsPerPeer, maxBytesPerPeer: config.p2p.maxBytesPerPeer })

    const channelComponents = { ...components, pubsub: host.services.pubsub, selfId: this.peerId }
    const sync = new RegistrySync({ ...components, libp2p: host, guard, admission, registry: this.registry, channel: () => registryChannel }, { protocol: protocols.registrySync })
    const registryChannel = new GossipChannel(channelComponents, { topic: protocols.registryTopic, type: 'registry.delta', onMessage: env => { sync.handleDelta(env) } })
    const announcer = new PeerAnnouncer({ libp2p: host, channel: () => announceChannel }, { targetPeers: config.p2p.targetPeers ?? Math.floor(config.p2p.maxConnections / 2), dialTimeoutMs: config.p2p.upgradeTimeoutMs })
    const announceChannel = new GossipChannel(channelComponents, { topic: protocols.announceTopic, type: 'peer.announce', onMessage: env => { announcer.handle(env) } })
    this.sync = sync
    await lifecycle.run('registry gossip', async () => { await registryChannel.start() }, async () => { await registryChannel.stop() })
    await lifecycle.run('announce gossip', async () => { await announceChannel.start() }, async () => { await announceChannel.stop() })
    await lifecycle.run('registry sync', async () => { await sync.start() }, async () => { await sync.stop() })
    await lifecycle.run('announcer', () => { announcer.start() }, () => { announcer.stop() })
    guard.addEventListener('peer:verified', () => { announcer.announceSoon() })
    this.registry.addEventListener('change', () => { this.metrics.registryEntries.set(this.registry.size) })

    // Calls reach the agents through the input rounds (an agent's questions park its call here)
    // or, for a 2025-11-25 client's session, on that session's own agent session.
    const rounds = new InputRounds({ agents: this.agents }, { selfId: this.peerId })
    await lifecycle.run('input rounds', () => {}, () => { rounds.stop() })
    const sessions = new SessionChannels({ agents: this.agents })
    await lifecycle.run('caller sessions', () => {}, () => { sessions.stop() })
    const local = new LocalCalls({ rounds, agents: this.agents, sessions })
    const callComponents = { libp2p: host, admission, messenger: this.messenger, cipher: this.cipher, local, metrics: this.metrics, log: this.log }
    const callInit = { selfId: this.peerId, network: config.network.name, protocol: protocols.toolCall, encryption: config.toolCalls.encryption, maxBytes: config.toolCalls.maxBytes }
    // Flood frames stay under the network's message limit: a request envelope plus the hop byte, a reply envelope plus two.
    const flood = config.toolCalls.floodMaxHops === 0 ? undefined : { protocol: protocols.flood, maxHops: config.toolCalls.floodMaxHops, maxFrameBytes: config.network.maxMessageBytes + 2 }
    const floodRouter = flood === undefined ? undefined : new FloodRouter({ libp2p: host, messenger: this.messenger, peers: () => guard.verifiedPeers() }, flood)
    this.router = new ToolRouter({ ...callComponents, registry: this.registry, membership: guard, ...(floodRouter === undefined ? {} : { flood: floodRouter }) }, { ...callInit, timeoutMs: config.toolCalls.timeoutMs, maxStreams: config.toolCalls.maxConcurrent, ...(config.toolCalls.channel ? { channelProtocol: protocols.toolCallChannel } : {}) })
    const callService = new ToolCallService(callComponents, { ...callInit, maxConcurrent: config.toolCalls.maxConcurrent })
    await lifecycle.run('tool call service', async () => { await callService.start() }, async () => { await callService.stop() })
    if (config.toolCalls.channel) {
      const channelService = new CallChannelService({ ...callComponents, calls: callService }, { selfId: this.peerId, network: config.network.name, protocol: protocols.toolCallChannel, maxConcurrent: config.toolCalls.maxConcurrent })
      await lifecycle.run('call channel service', async () => { await channelService.start() }, async () => { await channelService.stop() })
    }
    if (flood !== undefined) {
      const relay = new FloodRelay({
        ...components,
        libp2p: host,
        admission,
        peers: () => guard.verifiedPeers(),
        deliver: async (envelope, origin, signal, maxResultBytes) => await callService.answer(envelope, origin, signal, maxResultBytes),
        ...(this.init.observeFlood === undefined ? {} : { observe: this.init.observeFlood })
      }, { ...flood, selfId: this.peerId, timeoutMs: config.toolCalls.timeoutMs })
      await lifecycle.run('flood relay', async () => { await relay.start() }, async () => { await relay.stop() })
    }
    await lifecycle.run('cipher sweep', () => {
      const timer = setInterval(() => { this.cipher.sweep() }, 30_000)
      timer.unref()
      return timer
    }, timer => { clearInterval(timer) })

    const content = new ContentService({ ...components, libp2p: host, admission, pubsub: host.services.pubsub, verifiedPeers: () => guard.verifiedPeers(), isVerifiedBothWays: peer => guard.isVerifiedBothWays(peer), meshSize: () => announcer.meshSize() }, {
      selfId: this.peerId,
      dataDir: config.node.dataDir,
      topic: protocols.contentTopic,
      manifestProtocol: protocols.contentManifest,
      blockProtocol: protocols.contentBlocks,
      storage: config.storage
    })
    await lifecycle.run('content', async () => { await content.start() }, async () => { await content.stop() })
    this.contentService = content
    guard.addEventListener('peer:verified', evt => { content.greet(evt.detail) })

    if (config.rooms.enabled) {
      const roomsService = rooms({
        network: config.network.name,
        selfId: this.peerId,
        seed: this.creds.seed,
        cert: this.creds.certificate,
        caPublicKey: this.creds.caPublicKey,
        dataDir: config.node.dataDir,
        retention: config.rooms.retention,
        pageRate: config.rooms.pageRate,
        protocols
      })({ ...components, libp2p: host, pubsub: host.services.pubsub, guard, admission, events: this.events })
      await lifecycle.run('rooms', async () => { await roomsService.start() }, async () => { await roomsService.stop() })
      this.roomsService = roomsService
    }

    await lifecycle.run('agents', async () => { await this.agents.start() }, async () => { await this.agents.stop() })
    this.agents.addEventListener('change', () => { this.publishLocalAgents() })
    await this.setLocalAgents(config.agents)
    this.metrics.registryEntries.set(this.registry.size)

    const bootstrapper = new Bootstrapper({ libp2p: host, log: this.log }, { addrs: config.p2p.bootstrap, selfId: this.peerId, dialTimeoutMs: config.p2p.upgradeTimeoutMs })
    this.bootstrapper = bootstrapper
    await lifecycle.run('bootstrapper', () => { bootstrapper.start() }, () => { bootstrapper.stop() })

    const meshCalls = createMeshCalls({ libp2p: host, metrics: this.metrics, registry: this.registry }, { selfId: this.peerId, view: config.mcp })
    const nodeEvents = new NodeEvents({
      hub: this.events,
      ...nodeEventSources({ guard, libp2p: host, registry: this.registry }),
      readiness: () => this.readiness(),
      coolingDown: nodeId => meshCalls.components.chooser.coolingDown(nodeId),
      log: this.log
    }, { selfId: this.peerId })
    await lifecycle.run('node events', () => { nodeEvents.start() }, () => { nodeEvents.stop() })
    if (this.init.http !== false) {
      const token = config.mcp.tokenFile === undefined ? undefined : (await readFile(config.mcp.tokenFile, 'utf8')).trim()
      const events = {
        hub: this.events,
        presence: () => nodeEvents.presence(),
        hello: () => {
          const { ready, reason } = this.readiness()
          const { naming } = meshCalls.components.view()
          return { nodeId: this.peerId, network: config.network.name, version: VERSION, tokenRequired: token !== undefined, encryption: config.toolCalls.encryption, naming, ready, reason }
        }
      }
      const http = await createHttpServer({ view: this.view(), log: this.log, caller: this.caller, catalog: this.catalog(meshCalls), selfId: this.peerId, content, mesh: meshCalls.components, events, ...(this.roomsService === undefined ? {} : { rooms: { rooms: this.roomsService, selfId: this.peerId, networkRoom: this.roomsService.networkRoom } }) }, {
        host: config.http.host,
        port: config.http.port,
        mcp: { ...config.mcp, ...(token === undefined ? {} : { token }), timeoutMs: config.toolCalls.timeoutMs }
      })
      const url = await lifecycle.run('http', async () => await http.listen({ host: config.http.host, port: config.http.port }), async () => { await http.close() })
      this.httpUrl = url.replace('0.0.0.0', '127.0.0.1')
    }
    const { configFile, reloadConfig } = this.init
    if (configFile !== undefined && reloadConfig !== undefined) {
      const watcher = new ConfigWatcher({
        file: configFile,
        reload: reloadConfig,
        onAgents: agents => {
          this.log('info', 'agents reloaded from config', { agents: agents.map(a => a.id) })
          void this.setLocalAgents(agents)
        },
        onMcpView: view => {
          this.log('info', 'mcp naming and tool filters reloaded from config', { naming: view.naming, filtered: Object.keys(view.toolFilters) })
          meshCalls.setView(view)
        },
        onProblem: message => { this.log('warn', message) }
      }, config)
      await lifecycle.run('config watcher', async () => { await watcher.start() }, async () => { await watcher.stop() })
    }
  }

  /** Stops every part, last started first, and drops the node's signing key. */
  async stop (): Promise<void> {
    this.started = false
    await this.lifecycle.stopAll()
    this.messenger.forget()
    this.log('info', 'node stopped', { peerId: this.peerId })
  }

  /** Runs the configured agents (added and removed live) and publishes their tools. */
  async setLocalAgents (agents: NodeConfig['agents']): Promise<void> {
    await this.agents.setAgents(agents)
    this.publishLocalAgents()
  }

  /** Replaces this node's own registry entries with what its agents expose and gossips the change. */
  private publishLocalAgents (): void {
    const current = new Map(this.registry.entries().filter(e => e.nodeId === this.peerId).map(e => [e.agentId, e]))
    const records: AgentRecord[] = this.agents.records().map(a => {
      const record: AgentRecord = { nodeId: this.peerId, agentId: a.id, name: a.name, kind: a.kind, description: a.description, tools: a.tools, resources: a.resources, prompts: a.prompts, ...(a.resourceTemplates === undefined ? {} : { resourceTemplates: a.resourceTemplates }), updatedAt: Date.now() }
      const prev = current.get(a.id)
      // Keep the old timestamp for an unchanged agent, so a reload gossips nothing.
      return prev !== undefined && sameAgent(prev, record) ? prev : record
    })
    const delta = this.registry.setLocalAgents(records)
    if (delta !== undefined) void this.sync?.publishDelta(delta)
  }

  /** Rooms and direct messages; undefined when `rooms.enabled` is off or before start. */
  get rooms (): RoomsService | undefined {
    return this.roomsService
  }

  get content (): ContentService {
    if (this.contentService === undefined) throw new Error('node not started')
    return this.contentService
  }

  /** Routes MCP requests to any agent in the mesh (this node's included). */
  readonly caller: MeshCaller = {
    call: async (target, op, params, opts) => {
      if (this.router === undefined) throw new Error('node not started')
      return await this.router.call(target, op, params, opts)
    }
  }

  /** The registry as the MCP endpoint reads it: one array per registry version, shared by every session. */
  private catalog (meshCalls: MeshCalls): MeshCatalog {
    let cached: AgentRecord[] | undefined
    this.registry.addEventListener('change', () => { cached = undefined })
    return {
      entries: () => (cached ??= this.registry.entries()),
      // A reloaded naming view changes the lists as a registry change does.
      onChange: listener => {
        this.registry.addEventListener('change', listener)
        const offView = meshCalls.onViewChange(listener)
        return () => {
          this.registry.removeEventListener('change', listener)
          offView()
        }
      }
    }
  }

  /** The content layer for the built-in agent, which exists before the service starts. */
  private contentFacade (): ContentFacade {
    const svc = (): ContentService => this.content
    return {
      get backend () { return svc().backend },
      get maxUploadBytes () { return svc().maxUploadBytes },
      get defaultReplication () { return svc().defaultReplication },
      add: async (source, opts) => await svc().add(source, opts),
      get: async (cid, opts) => await svc().get(cid, opts),
      pin: async (cid, opts) => await svc().pin(cid, opts),
      unpin: async (cid) => await svc().unpin(cid),
      status: async (cid) => await svc().status(cid),
      list: async () => await svc().list()
    }
  }

  private meshFacade (): MeshFacade {
    return {
      selfId: this.peerId,
      peers: () => this.view().peers().map(p => ({ peerId: p.peerId, verified: p.verified, addrs: p.connections.map(c => c.remoteAddr) })),
      ping: async (nodeId, signal) => ({ rttMs: await this.libp2p.services.ping.ping(peerIdFromString(nodeId), { signal }) }),
      route: async (nodeId, signal) => {
        if (this.router === undefined) throw new Error('node not started')
        const reached = await this.router.reach(nodeId, signal)
        const via = reached.remoteAddr === undefined ? undefined : /\/p2p\/([^/]+)\/p2p-circuit/.exec(reached.remoteAddr)?.[1]
        return { ...reached, ...(via === undefined ? {} : { via }) }
      },
      agents: () => this.registry.entries().map(e => ({ nodeId: e.nodeId, agentId: e.agentId, name: e.name, tools: e.tools.map(t => t.name) }))
    }
  }

  /**
   * Ready once the content store answers and the node has joined the mesh (or is
   * its first node), unless registry anti-entropy has failed with every verified
   * peer for several rounds in a row (see registry/sync-health.ts).
   */
  readiness (): Readiness {
    if (!this.started) return { ready: false, reason: 'starting' }
    const sync = this.sync === undefined ? {} : { registrySync: this.sync.status() }
    const store = this.contentService?.storeState
    if (store !== undefined && !store.available) return { ready: false, reason: store.reason, ...sync }
    if (this.verifiedPeers().length > 0) {
      if (this.sync?.healthy() === false) {
        const last = sync.registrySync?.lastError
        return { ready: false, reason: `registry sync has failed with every peer for ${FAILED_ROUNDS_BEFORE_NOT_READY} or more rounds${last === undefined ? '' : ` (last: ${last.reason}: ${last.message})`}`, ...sync }
      }
      return { ready: true, reason: 'joined the mesh', ...sync }
    }
    if (this.bootstrapper?.isFirstNode === true) return { ready: true, reason: 'first node of the mesh', ...sync }
    return { ready: false, reason: 'waiting for a bootstrap peer', ...sync }
  }

  verifiedPeers (): string[] {
    return this.guard?.verifiedPeers() ?? []
  }

  private isVerified (peer: string): boolean {
    return this.guard?.isVerified(peer) ?? false
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
        peers: this.verifiedPeers().length,
        registry: { digest: this.registry.digest(), entries: this.registry.size }
      }),
      peers: () => {
        const byPeer = new Map<string, Array<{ remoteAddr: string, direction: string, limited: boolean }>>()
        for (const c of this.libp2p.getConnections()) {
          const list = byPeer.get(c.remotePeer.toString()) ?? []
          list.push({ remoteAddr: c.remoteAddr.toString(), direction: c.direction, limited: c.limits != null })
          byPeer.set(c.remotePeer.toString(), list)
        }
        return [...byPeer].map(([peerId, connections]) => ({ peerId, verified: this.isVerified(peerId), connections }))
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
        return { peerId, verified: this.isVerified(peerId) }
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
