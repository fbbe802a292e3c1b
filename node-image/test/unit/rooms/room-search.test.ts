import { describe, expect, it } from 'vitest'
import { RoomLog } from '../../../src/rooms/room-log.ts'
import { searchRoom } from '../../../src/rooms/room-search.ts'
import { messageView } from '../../../src/rooms/room-view.ts'
import { makeNode, message, NOW, ROOM } from './fixtures.ts'

describe('searchRoom', () => {
  const ann = makeNode()
  const bob = makeNode()
  const log = new RoomLog(ROOM)
  const CID = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
  log.add(message(ann, { seq: 1, hlc: { ms: NOW + 1, c: 0 }, text: 'The Quick brown fox' }), NOW)
  log.add(message(bob, { seq: 1, hlc: { ms: NOW + 2, c: 0 }, text: 'a quick reply' }), NOW)
  log.add(message(ann, { seq: 2, hlc: { ms: NOW + 3, c: 0 }, kind: 'file', text: '', files: [{ cid: CID, name: 'Fox-Report.pdf', size: 9, type: 'application/pdf' }] }), NOW)
  const view = (e: Parameters<typeof messageView>[0]): ReturnType<typeof messageView> => messageView(e, { deliveredTo: [], seenBy: [] })
  const texts = (q: Parameters<typeof searchRoom>[1]): string[] => searchRoom(log.entries(), q, view).map(v => v.text === '' ? v.files[0]?.name ?? '' : v.text)

  it('needs every word, ignores case, looks in file names, and answers newest first', () => {
    expect(texts({ q: 'quick', limit: 10 })).toEqual(['a quick reply', 'The Quick brown fox'])
    expect(texts({ q: 'QUICK fox', limit: 10 })).toEqual(['The Quick brown fox'])
    expect(texts({ q: 'fox', limit: 10 })).toEqual(['Fox-Report.pdf', 'The Quick brown fox'])
    expect(texts({ q: 'fox', limit: 1 })).toEqual(['Fox-Report.pdf'])
  })

  it('filters by author, kind and time', () => {
    expect(texts({ author: bob.peerId, limit: 10 })).toEqual(['a quick reply'])
    expect(texts({ kind: 'file', limit: 10 })).toEqual(['Fox-Report.pdf'])
    expect(texts({ since: NOW + 2, until: NOW + 2, limit: 10 })).toEqual(['a quick reply'])
  })
})
