// Which announced sidecar addresses Kubo is told to dial: only the announced peer id's.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { beforeAll, describe, expect, it } from 'vitest'
import { KuboPeering, kuboDialAddrs } from '../../../src/storage/kubo-peering.ts'
import type { LogLevel } from '../../../src/logging/json-logger.ts'

let id: string
let other: string
beforeAll(async () => {
  id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
})

describe('kuboDialAddrs', () => {
  it('keeps addresses ending in the announced id, and appends it to those without /p2p', () => {
    expect(kuboDialAddrs({ peerId: id, addrs: [`/ip4/10.0.0.5/tcp/4001/p2p/${id}`, '/ip4/10.0.0.6/tcp/4001', '/dns4/kubo-1.svc/tcp/4001'] })).toEqual({
      addrs: [`/ip4/10.0.0.5/tcp/4001/p2p/${id}`, `/ip4/10.0.0.6/tcp/4001/p2p/${id}`, `/dns4/kubo-1.svc/tcp/4001/p2p/${id}`],
      dropped: []
    })
  })

  it('compares peer ids, not their text: the CID form of the announced id is the same peer', () => {
    const asCid = peerIdFromString(id).toCID().toString()
    expect(kuboDialAddrs({ peerId: id, addrs: [`/ip4/10.0.0.5/tcp/4001/p2p/${asCid}`] }).addrs).toEqual([`/ip4/10.0.0.5/tcp/4001/p2p/${asCid}`])
    expect(kuboDialAddrs({ peerId: asCid, addrs: ['/ip4/10.0.0.5/tcp/4001'] }).addrs).toEqual([`/ip4/10.0.0.5/tcp/4001/p2p/${id}`])
  })

  it('drops addresses naming another peer, relaying through one, or not parsing, and says why', () => {
    const plan = kuboDialAddrs({
      peerId: id,
      addrs: [
        `/ip4/10.0.0.7/tcp/4001/p2p/${other}`,
        `/ip4/10.0.0.8/tcp/4001/p2p/${other}/p2p-circuit/p2p/${id}`,
        `/ip4/10.0.0.8/tcp/4001/p2p-circuit/p2p/${id}`,
        `/ip4/10.0.0.9/tcp/4001/p2p/${id}/p2p/${id}`,
        '/ip4/10.0.0.9/tcp/4001/p2p/not-a-peer-id',
        '/not/a/multiaddr',
        `/ip4/10.0.0.5/tcp/4001/p2p/${id}`
      ]
    })
    expect(plan.addrs).toEqual([`/ip4/10.0.0.5/tcp/4001/p2p/${id}`])
    expect(plan.dropped.map((d) => d.reason)).toEqual([
      'names another peer id',
      'relayed through another peer',
      'relayed through another peer',
      'p2p component not at the end',
      'p2p component is not a peer id',
      'not a multiaddr'
    ])
  })

  it('dials nothing when the announced id is not a peer id', () => {
    expect(kuboDialAddrs({ peerId: 'not-a-peer-id', addrs: ['/ip4/10.0.0.5/tcp/4001'] })).toEqual({
      addrs: [],
      dropped: [{ addr: '/ip4/10.0.0.5/tcp/4001', reason: 'announced peer id is not a peer id' }]
    })
  })

  it('lists each address once', () => {
    expect(kuboDialAddrs({ peerId: id, addrs: ['/ip4/10.0.0.6/tcp/4001', `/ip4/10.0.0.6/tcp/4001/p2p/${id}`] }).addrs).toEqual([`/ip4/10.0.0.6/tcp/4001/p2p/${id}`])
  })
})

describe('KuboPeering', () => {
  it('hands Kubo only the checked addresses and logs the dropped ones at debug', async () => {
    const dialled: string[] = []
    const logs: Array<{ level: LogLevel, msg: string, fields?: Record<string, unknown> }> = []
    const peering = new KuboPeering({
      swarm: {
        self: async () => ({ peerId: id, addrs: [] }),
        peers: async () => [],
        connect: async (addr) => {
          dialled.push(addr)
          throw new Error('unreachable in this test')
        }
      },
      log: (level, msg, fields) => { logs.push({ level, msg, ...(fields === undefined ? {} : { fields }) }) }
    })
    await peering.connect([{ peerId: id, addrs: [`/ip4/10.0.0.7/tcp/4001/p2p/${other}`, '/ip4/10.0.0.6/tcp/4001'] }])
    expect(dialled).toEqual([`/ip4/10.0.0.6/tcp/4001/p2p/${id}`])
    expect(logs.find((l) => l.msg === 'kubo peer addresses dropped')).toEqual({
      level: 'debug',
      msg: 'kubo peer addresses dropped',
      fields: { peer: id, dropped: [{ addr: `/ip4/10.0.0.7/tcp/4001/p2p/${other}`, reason: 'names another peer id' }] }
    })
  })
})
