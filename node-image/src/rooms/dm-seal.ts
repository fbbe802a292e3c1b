/**
 * End-to-end sealing of direct messages to the two ends of a DM room, with
 * the nodes' static keys (the Montgomery form of their Ed25519 keys) and the
 * primitives of routing/e2e-cipher.ts. Store-and-forward, so no session and
 * no freshness window (E2ECipher's request sealing has both); replays are
 * caught by the log's id dedup. Trade-off: no forward secrecy for stored DMs,
 * as with any static-key mailbox without prekeys.
 *
 *   k   = HKDF-SHA256(DH(S_a, S_b), salt = 16 random bytes, info = "dawn/dm/v1\n" + lower + "\n" + higher)
 *   box = salt | iv (12 random bytes) | AES-256-GCM(k, iv, aad, JSON {kind, text, files})
 *   aad = domainSeparated("dawn/dm/v1\n", [network, room, author, inc, seq])
 */
import { randomBytes } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import Type from 'typebox'
import { Compile } from 'typebox/compile'
import { decodeBase64url, encodeBase64url } from '../identity/base64url.ts'
import { domainSeparated } from '../identity/domain-separation.ts'
import { publicKeyFromPeerId } from '../identity/peer-id.ts'
import { LruMap } from '../p2p/lru-map.ts'
import { gcmOpen, gcmSeal, hkdf, x25519SharedSecret } from '../routing/e2e-cipher.ts'
import { ROOM_LIMITS } from './room-limits.ts'
import { dmParties, RoomFile } from './room-message.ts'
import type { Opened } from './room-view.ts'

const DOMAIN = 'dawn/dm/v1\n'
const SALT = 16
const IV = 12
const TAG = 16

const Plain = Type.Object({
  kind: Type.Union([Type.Literal('text'), Type.Literal('file')]),
  text: Type.String({ maxLength: ROOM_LIMITS.maxTextBytes }),
  files: Type.Array(RoomFile, { maxItems: ROOM_LIMITS.maxFiles })
}, { additionalProperties: false })
const checkPlain = Compile(Plain)

/** What identifies the record a box belongs to; bound in as associated data. */
export interface BoxIds {
  network: string
  room: string
  author: string
  inc: string
  seq: number
}

export class DmSealError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'DmSealError'
  }
}

export class DmSealer {
  readonly selfId: string
  #secret?: Uint8Array
  /** DH(S_self, S_peer) per peer; peers come from the network, so bounded */
  private readonly shared = new LruMap<string, Uint8Array>(1024)

  constructor (init: { selfId: string, seed: Uint8Array }) {
    this.selfId = init.selfId
    this.#secret = ed25519.utils.toMontgomerySecret(init.seed)
  }

  seal (ids: BoxIds, plain: Opened): string {
    const salt = randomBytes(SALT)
    const iv = randomBytes(IV)
    const body = new TextEncoder().encode(JSON.stringify({ kind: plain.kind, text: plain.text, files: plain.files }))
    const sealed = gcmSeal(this.key(ids.room, salt), iv, aad(ids), body)
    const out = new Uint8Array(SALT + IV + sealed.length)
    out.set(salt)
    out.set(iv, SALT)
    out.set(sealed, SALT + IV)
    return encodeBase64url(out)
  }

  /** The plain content, or undefined when the box does not open (wrong keys, altered, malformed). */
  open (ids: BoxIds, box: string): Opened | undefined {
    try {
      const raw = decodeBase64url(box)
      if (raw === undefined || raw.length < SALT + IV + TAG) return undefined
      const plain = gcmOpen(this.key(ids.room, raw.subarray(0, SALT)), raw.subarray(SALT, SALT + IV), aad(ids), raw.subarray(SALT + IV))
      const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain))
      return checkPlain.Check(value) ? value : undefined
    } catch {
      return undefined
    }
  }

  forget (): void {
    this.#secret?.fill(0)
    this.#secret = undefined
    for (const peer of [...this.shared.keys()]) this.shared.get(peer)?.fill(0)
    for (const peer of [...this.shared.keys()]) this.shared.delete(peer)
  }

  private key (room: string, salt: Uint8Array): Uint8Array {
    const parties = dmParties(room)
    if (parties === undefined || !parties.includes(this.selfId)) throw new DmSealError(`this node is not an end of ${room}`)
    const peer = parties[0] === this.selfId ? parties[1] : parties[0]
    let dh = this.shared.get(peer)
    if (dh === undefined) {
      if (this.#secret === undefined) throw new DmSealError('the DM key was dropped: the node has stopped')
      dh = x25519SharedSecret(this.#secret, ed25519.utils.toMontgomery(publicKeyFromPeerId(peer)))
      this.shared.set(peer, dh)
    }
    return hkdf(dh, salt, `${DOMAIN}${parties[0]}\n${parties[1]}`, 32)
  }
}

function aad (ids: BoxIds): Uint8Array {
  return domainSeparated(new TextEncoder().encode(DOMAIN), [ids.network, ids.room, ids.author, ids.inc, ids.seq])
}
