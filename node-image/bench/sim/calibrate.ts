/**
 * Measures, on this machine and through the real code, the CPU one node spends
 * on a registry delta it receives (envelope open with Ed25519 verify, the
 * registry join, the new digest) and on one it publishes (seal). Timing makes
 * the result machine-dependent, so the sim bench uses it only when asked
 * (--calibrate) and prints it apart from the deterministic figures.
 */
import { EnvelopeOpener, EnvelopeSigner } from '../../src/p2p/envelope.ts'
import { AgentRegistry } from '../../src/registry/agent-registry.ts'
import type { AgentRecord } from '../../src/registry/agent-record.ts'
import { DotIndex } from '../../src/registry/dot-ranges.ts'
import { OrSet } from '../../src/registry/or-set.ts'
import { encodeBody } from '../../src/registry/sync-wire.ts'
import { partitionStates } from './anti-entropy-sim.ts'
import { createCa, decodePublicKeyPem, generateSeed, issueCertificate, peerIdFromSeed } from '../../src/identity/index.ts'

export interface Calibration {
  /** ms per received delta: open + applyDelta + digest */
  validateMs: number
  /** ms per published delta: seal */
  sealMs: number
  samples: number
}

const NETWORK = 'sim'

/** Runs the measurement twice and keeps the second: the first pays for JIT warm-up. */
export async function calibrate (samples = 100): Promise<Calibration> {
  await measure(samples)
  return await measure(samples)
}

/** ms to rebuild the registry's range index (what digest() does after every change) for `n` nodes' records. */
export function indexBuildMs (n: number, recordsPerNode: number, seed: number): number {
  const state = partitionStates({ n, recordsPerNode, changed: 0, seed }).A
  const set = new OrSet<AgentRecord>('sim.00000000', state)
  DotIndex.build(set)
  const t = performance.now()
  DotIndex.build(set)
  return performance.now() - t
}

async function measure (samples: number): Promise<Calibration> {
  const ca = createCa()
  const caPublicKey = decodePublicKeyPem(ca.publicKeyPem)
  const receiver = new AgentRegistry({ peerId: peerIdFromSeed(generateSeed()) })
  await receiver.start()
  const opener = new EnvelopeOpener({ network: NETWORK, caPublicKey, maxBytes: 1024 * 1024, replayWindowMs: 600_000 })
  // One sender per sample: a delta is applied once, and only its owner may send it.
  const sealed: Array<{ from: string, bytes: Uint8Array }> = []
  let sealMs = 0
  for (let i = 0; i < samples; i++) {
    const seed = generateSeed()
    const peerId = peerIdFromSeed(seed)
    const cert = issueCertificate({ caPrivateKeyPem: ca.privateKeyPem, network: NETWORK, peerId, validForSeconds: 3600 })
    const sender = new AgentRegistry({ peerId })
    await sender.start()
    const delta = sender.setLocalAgents([{ nodeId: peerId, agentId: 'sim-agent', name: 'sim-agent', kind: 'static', description: 'announced by the registry bench', tools: [{ name: 'ping', description: 'Answer pong' }], updatedAt: 1 }])
    await sender.stop()
    const signer = new EnvelopeSigner(seed, peerId)
    // Certificates are verified once per sender and cached: open one envelope untimed first.
    opener.open(signer.seal({ type: 'registry.delta', network: NETWORK, body: encodeBody({ entries: {}, context: { vv: {}, cloud: [] } }), cert }))
    const t = performance.now()
    const bytes = signer.seal({ type: 'registry.delta', network: NETWORK, body: encodeBody(delta), cert })
    sealMs += performance.now() - t
    sealed.push({ from: peerId, bytes })
  }
  const t = performance.now()
  for (const { from, bytes } of sealed) {
    const env = opener.open(bytes, { type: 'registry.delta', from })
    receiver.applyDelta(JSON.parse(new TextDecoder().decode(env.body)), env.from)
    receiver.digest()
  }
  const validateMs = (performance.now() - t) / samples
  await receiver.stop()
  return { validateMs, sealMs: sealMs / samples, samples }
}
