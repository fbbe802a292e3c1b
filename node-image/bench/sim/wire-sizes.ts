/**
 * Message sizes for the model, produced by the real encoders: a registry delta
 * for one record (what the registry bench announces) sealed by EnvelopeSigner,
 * wrapped in gossipsub's own RPC protobuf; IHAVE/IDONTWANT for one message id
 * the same way; and a registry.sync envelope's fixed fields. Per-frame stream
 * overhead (yamux header, Noise length and tag) is added on top.
 */
import { RPC } from '@libp2p/gossipsub/message'
import { sha256 } from '@noble/hashes/sha2.js'
import { AgentRegistry } from '../../src/registry/agent-registry.ts'
import { encodeBody } from '../../src/registry/sync-wire.ts'
import { EnvelopeSigner } from '../../src/p2p/envelope.ts'
import { networkProtocols } from '../../src/p2p/protocols.ts'
import { createCa, generateSeed, issueCertificate, peerIdFromSeed } from '../../src/identity/index.ts'

/** yamux frame header (12) + Noise length prefix (2) and Poly1305 tag (16) + a length-prefix varint (2). */
export const FRAME_OVERHEAD = 12 + 2 + 16 + 2

export interface WireSizes {
  /** one registry.delta gossip message for one record, on the wire */
  deltaMessage: number
  /** the sealed envelope inside it */
  deltaEnvelope: number
  /** IHAVE / IWANT / IDONTWANT control for one message id, on the wire */
  control: number
  /** sealed size of a registry.sync envelope minus its base64url body */
  envelopeOverhead: number
}

const NETWORK = 'sim'

let cached: Promise<WireSizes> | undefined

export async function measureWireSizes (): Promise<WireSizes> {
  cached ??= (async () => {
    const ca = createCa()
    const seed = generateSeed()
    const peerId = peerIdFromSeed(seed)
    const cert = issueCertificate({ caPrivateKeyPem: ca.privateKeyPem, network: NETWORK, peerId, validForSeconds: 3600 })
    const signer = new EnvelopeSigner(seed, peerId)
    const registry = new AgentRegistry({ peerId })
    await registry.start()
    const delta = registry.setLocalAgents([{ nodeId: peerId, agentId: 'sim-agent', name: 'sim-agent', kind: 'static', description: 'announced by the registry bench', tools: [{ name: 'ping', description: 'Answer pong' }], updatedAt: 1 }])
    await registry.stop()
    if (delta === undefined) throw new Error('registry produced no delta')
    const envelope = signer.seal({ type: 'registry.delta', network: NETWORK, body: encodeBody(delta), cert })
    const topic = networkProtocols(NETWORK).registryTopic
    const rpc = RPC.encode({ subscriptions: [], messages: [{ topic, data: envelope }] })
    const id = sha256(envelope)
    const control = RPC.encode({ subscriptions: [], messages: [], control: { ihave: [{ topicID: topic, messageIDs: [id] }], iwant: [], graft: [], prune: [], idontwant: [] } })
    const body = new Uint8Array(300)
    const sync = signer.seal({ type: 'registry.sync', network: NETWORK, body, cert })
    return {
      deltaMessage: rpc.length + FRAME_OVERHEAD,
      deltaEnvelope: envelope.length,
      control: control.length + FRAME_OVERHEAD,
      envelopeOverhead: sync.length - Math.ceil(body.length * 4 / 3)
    }
  })()
  return await cached
}
