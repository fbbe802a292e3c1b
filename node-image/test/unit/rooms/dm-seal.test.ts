import { describe, expect, it } from 'vitest'
import { DmSealer, DmSealError } from '../../../src/rooms/dm-seal.ts'
import { dmRoom } from '../../../src/rooms/room-message.ts'
import { makeNode, NETWORK } from './fixtures.ts'

describe('DM sealing', () => {
  const ann = makeNode()
  const bob = makeNode()
  const carol = makeNode()
  const room = dmRoom(ann.peerId, bob.peerId)
  const ids = { network: NETWORK, room, author: ann.peerId, inc: 'a1b2c3d4', seq: 1 }
  const plain = { kind: 'file' as const, text: 'hi bob', files: [{ cid: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', name: 'a.txt', size: 2, type: 'text/plain' }] }
  const sealer = (n: typeof ann): DmSealer => new DmSealer({ selfId: n.peerId, seed: n.seed })

  it('opens on both ends, the sender included', () => {
    const box = sealer(ann).seal(ids, plain)
    expect(box).not.toContain('hi bob')
    expect(sealer(bob).open(ids, box)).toEqual(plain)
    expect(sealer(ann).open(ids, box)).toEqual(plain)
  })

  it('does not open for a third node, for another record id, or once altered', () => {
    const box = sealer(ann).seal(ids, plain)
    expect(() => sealer(carol).open(ids, box)).not.toThrow()
    expect(sealer(carol).open(ids, box)).toBeUndefined()
    expect(sealer(bob).open({ ...ids, seq: 2 }, box)).toBeUndefined()
    expect(sealer(bob).open({ ...ids, author: bob.peerId }, box)).toBeUndefined()
    const raw = Buffer.from(box, 'base64url')
    raw.writeUInt8(raw.readUInt8(raw.length - 1) ^ 1, raw.length - 1)
    expect(sealer(bob).open(ids, raw.toString('base64url'))).toBeUndefined()
    expect(sealer(bob).open(ids, 'AAAA')).toBeUndefined()
  })

  it('uses a fresh salt and nonce for every message, and refuses rooms this node is not in', () => {
    const s = sealer(ann)
    expect(s.seal(ids, plain)).not.toBe(s.seal(ids, plain))
    expect(() => sealer(carol).seal(ids, plain)).toThrow(DmSealError)
    s.forget()
    expect(() => s.seal({ ...ids, room: dmRoom(ann.peerId, carol.peerId) }, plain)).toThrow(/dropped/)
  })
})
