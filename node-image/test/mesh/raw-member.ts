import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { NetworkFiles } from '../../src/local-mesh/network-dir.ts'
import { loadConfig } from '../../src/config/load.ts'
import { loadCredentials, type Credentials } from '../../src/node/load-credentials.ts'
import { createNodeMetrics, type NodeMetrics } from '../../src/metrics/node-metrics.ts'
import { Messenger } from '../../src/p2p/messenger.ts'
import { createHost, type DawnHost } from '../../src/p2p/host.ts'
import { networkProtocols } from '../../src/p2p/protocols.ts'
import { MembershipGuard } from '../../src/p2p/membership-guard.ts'
import { DenyList } from '../../src/p2p/deny-list.ts'
import { outsiderNode } from './outsiders.ts'
import { eventually } from '../../../test/support/eventually.ts'

export interface RawMember {
  host: DawnHost
  creds: Credentials
  messenger: Messenger
  metrics: NodeMetrics
  stop: () => Promise<void>
}

/**
 * A libp2p host in the mesh's private network that the test drives by hand: it
 * opens raw protocol streams and sends whatever bytes the test wants. With
 * `certified`, it runs the real membership handshake (a CA-signed certificate)
 * and is a verified member of `target` before this returns; without, it holds
 * only the PSK.
 */
export async function startRawMember (net: NetworkFiles, target: { p2pAddr: string, peerId: string }, opts: { certified: boolean }): Promise<RawMember> {
  const files = await outsiderNode(net, { psk: true, ca: opts.certified })
  const { config } = await loadConfig({ file: files.configFile })
  // Without the mesh's CA, the certificate comes from the outsider's own CA: valid to itself, worthless to the mesh.
  const creds = await loadCredentials(config, key => peerIdFromPrivateKey(key).toString())
  const metrics = createNodeMetrics()
  const messenger = new Messenger({ metrics, log: () => {} }, {
    network: config.network.name, peerId: creds.peerId, seed: creds.seed, certificate: creds.certificate, caPublicKey: creds.caPublicKey,
    maxMessageBytes: 1024 * 1024, replayWindowMs: 120_000, large: { types: ['toolcall.request', 'toolcall.response'], maxBytes: 32 * 1024 * 1024 }
  })
  const protocols = networkProtocols(config.network.name)
  const { libp2p: host } = await createHost({
    privateKey: creds.privateKey, psk: creds.psk, protocols, listen: ['/ip4/127.0.0.1/tcp/0'], announce: [],
    mdns: false, relayServer: false, limits: { ...config.p2p, maxConnections: 20 }, maxMessageBytes: 1024 * 1024, gater: {}
  })
  const guard = opts.certified ? new MembershipGuard({ metrics, log: () => {}, messenger, libp2p: host, denyList: new DenyList() }, { protocol: protocols.membership }) : undefined
  await guard?.start()
  await host.dial(multiaddr(target.p2pAddr))
  if (guard !== undefined) await eventually(async () => await Promise.resolve(guard.isVerified(target.peerId)), { what: 'the membership handshake with the target', timeoutMs: 20_000 })
  return {
    host,
    creds,
    messenger,
    metrics,
    stop: async () => {
      await guard?.stop()
      await host.stop()
    }
  }
}
