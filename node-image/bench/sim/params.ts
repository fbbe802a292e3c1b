/**
 * The parameters the scale model runs on, read from where Dawn takes them:
 * gossipsub's and kad-dht's own defaults (Dawn's host.ts overrides none of the
 * ones modelled here), and the node config schema's defaults. Nothing here is
 * a copy: a dependency upgrade or a config change shows up in the model.
 */
import { NodeConfigSchema } from '../../src/config/schema.ts'
import { GOSSIP_TUNING } from '../../src/p2p/gossip-tuning.ts'

export interface GossipParams {
  D: number
  Dlo: number
  Dhi: number
  Dlazy: number
  /** share of non-mesh peers that get IHAVE each heartbeat (at least Dlazy) */
  gossipFactor: number
  heartbeatMs: number
  /** heartbeats a message id stays in IHAVE gossip */
  historyGossip: number
  /** the publisher sends to every subscribed peer it is connected to, not only its mesh */
  floodPublish: boolean
  /** messages at least this large make receivers send IDONTWANT to their mesh */
  idontwantMinDataSize: number
}

export interface DhtParams {
  /** bucket size and result set size */
  k: number
  /** concurrent requests per lookup */
  alpha: number
}

export interface MeshParams {
  maxConnections: number
  /** the peer announcer dials while below this many connections (dawn-node.ts: maxConnections / 2) */
  targetPeers: number
  maxMessageBytes: number
}

export interface RealParams {
  gossip: GossipParams
  dht: DhtParams
  mesh: MeshParams
  sources: string[]
}

type GossipConstants = {
  GossipsubD: number
  GossipsubDlo: number
  GossipsubDhi: number
  GossipsubHeartbeatInterval: number
  GossipsubHistoryGossip: number
  GossipsubIdontwantMinDataSize: number
}

type KadConstants = { K: number, ALPHA: number }

/** A module next to a package's entry point (its exports map hides the constants files). */
async function beside (pkg: string, file: string): Promise<{ module: unknown, url: string }> {
  const url = new URL(file, import.meta.resolve(pkg)).href
  return { module: await import(url) as unknown, url }
}

/** Checks that a dependency still exports the numbers the model reads, so an upgrade that renames one fails loudly. */
function numbers<T extends Record<string, number>> (module: unknown, keys: Array<keyof T & string>): T {
  const m = module as Record<string, unknown>
  for (const key of keys) {
    if (typeof m[key] !== 'number') throw new Error(`the dependency no longer exports ${key} as a number; update the scale model's params.ts`)
  }
  return m as T
}

function schemaDefault (section: 'network' | 'p2p', key: string): number {
  const props = NodeConfigSchema.properties[section].properties as Record<string, { default?: unknown }>
  const value = props[key]?.default
  if (typeof value !== 'number') throw new Error(`node config schema has no numeric default for ${section}.${key}`)
  return value
}

let cached: Promise<RealParams> | undefined

export async function loadRealParams (): Promise<RealParams> {
  cached ??= (async () => {
    const g = await beside('@libp2p/gossipsub', './constants.js')
    const k = await beside('@libp2p/kad-dht', './constants.js')
    const c = numbers<GossipConstants>(g.module, ['GossipsubD', 'GossipsubDlo', 'GossipsubDhi', 'GossipsubHeartbeatInterval', 'GossipsubHistoryGossip', 'GossipsubIdontwantMinDataSize'])
    const kad = numbers<KadConstants>(k.module, ['K', 'ALPHA'])
    const maxConnections = schemaDefault('p2p', 'maxConnections')
    return {
      gossip: {
        D: c.GossipsubD,
        Dlo: c.GossipsubDlo,
        Dhi: c.GossipsubDhi,
        Dlazy: GOSSIP_TUNING.Dlazy,
        gossipFactor: GOSSIP_TUNING.gossipFactor,
        heartbeatMs: c.GossipsubHeartbeatInterval,
        historyGossip: c.GossipsubHistoryGossip,
        // gossipsub's constructor default (gossipsub.js `floodPublish: true`); host.ts does not set it.
        floodPublish: true,
        idontwantMinDataSize: GOSSIP_TUNING.idontwantMinDataSize
      },
      dht: { k: kad.K, alpha: kad.ALPHA },
      mesh: { maxConnections, targetPeers: Math.floor(maxConnections / 2), maxMessageBytes: schemaDefault('network', 'maxMessageBytes') },
      sources: [
        `gossipsub defaults: ${g.url.replace(/^.*node_modules\//, '')}, with Dlazy, gossipFactor and idontwantMinDataSize from node-image/src/p2p/gossip-tuning.ts`,
        `kad-dht defaults: ${k.url.replace(/^.*node_modules\//, '')} (K, ALPHA; host.ts sets clientMode: false)`,
        'p2p.maxConnections, network.maxMessageBytes: node-image/src/config/schema.ts defaults; targetPeers = maxConnections / 2 as in node/dawn-node.ts'
      ]
    }
  })()
  return await cached
}
