// Nodes with certificates from one CA, and a way to write signed room messages as each.
import { decodePublicKeyPem, generateSeed } from '../../../src/identity/key-file.ts'
import { peerIdFromSeed } from '../../../src/identity/peer-id.ts'
import { createCa, issueCertificate, type MembershipCertificate } from '../../../src/identity/membership.ts'
import { NodeSigner } from '../../../src/identity/node-signer.ts'
import { networkRoom, signRoomMessage, type RoomMessage, type UnsignedRoomMessage } from '../../../src/rooms/room-message.ts'
import type { Hlc } from '../../../src/rooms/hlc.ts'

export const NETWORK = 'unit'
export const ROOM = networkRoom(NETWORK)
export const NOW = Date.UTC(2030, 5, 1, 12)
export const ca = createCa()
export const caPublicKey = decodePublicKeyPem(ca.publicKeyPem)

export interface TestNode {
  seed: Uint8Array
  peerId: string
  cert: MembershipCertificate
  signer: NodeSigner
}

export function makeNode (opts: { caPem?: string, network?: string, issuedAt?: number, validForSeconds?: number } = {}): TestNode {
  const seed = generateSeed()
  const peerId = peerIdFromSeed(seed)
  const cert = issueCertificate({ caPrivateKeyPem: opts.caPem ?? ca.privateKeyPem, network: opts.network ?? NETWORK, peerId, validForSeconds: opts.validForSeconds ?? 86_400 * 365, now: opts.issuedAt ?? NOW - 3_600_000 })
  return { seed, peerId, cert, signer: new NodeSigner(seed, peerId) }
}

let nonceCounter = 0
export function nonce (): string {
  return `nonce-${String(nonceCounter++).padStart(16, '0')}`
}

export function unsigned (node: TestNode, fields: Partial<UnsignedRoomMessage> & { seq: number, hlc?: Hlc }): UnsignedRoomMessage {
  return {
    v: 1,
    network: NETWORK,
    room: ROOM,
    author: node.peerId,
    inc: 'a1b2c3d4',
    hlc: { ms: NOW, c: 0 },
    nonce: nonce(),
    nick: 'ann',
    kind: 'text',
    text: 'hello',
    cert: node.cert,
    ...fields
  }
}

export function message (node: TestNode, fields: Partial<UnsignedRoomMessage> & { seq: number, hlc?: Hlc }): RoomMessage {
  return signRoomMessage(unsigned(node, fields), node.signer)
}
