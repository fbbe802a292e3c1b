import { afterEach, describe, expect, it, vi } from 'vitest'
import { randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { byteStream } from '@libp2p/utils'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { admissionFor, connect, metricValue, newCa, protocols, startGuard, startMember, stopMembers, type Member } from '../p2p/members.ts'
import type { MembershipGuard } from '../../../src/p2p/membership-guard.ts'
import { BlockExchange, BlockExchangeError, BlockProtocolError } from '../../../src/storage/block-exchange.ts'
import { BlockFetcher } from '../../../src/storage/block-fetcher.ts'
import { encodeLength } from '../../../src/p2p/length-prefix.ts'
import { encodeFrame, MAX_ANSWER_FRAME_BYTES, WANT } from '../../../src/storage/block-frames.ts'
import type { ContentStore } from '../../../src/storage/content-store.ts'
import type { LogFn } from '../../../src/logging/json-logger.ts'

// Real libp2p hosts on loopback with Dawn membership (members.ts); each holder serves
// blocks from an in-memory map, so a test can make a holder slow, wrong or hostile.

const ca = newCa()
const PROTOCOL = protocols.contentBlocks
const poll = { timeout: 15_000 }
afterEach(async () => { await stopMembers() })

interface Block { cid: CID, bytes: Uint8Array }
async function block (size = 64 * 1024): Promise<Block> {
  const bytes = randomBytes(size)
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

type LocalBlock = ContentStore['localBlock']
const mapStore = (blocks: Block[]): { localBlock: LocalBlock } => {
  const byCid = new Map(blocks.map(b => [b.cid.toString(), b.bytes]))
  return { localBlock: async cid => await Promise.resolve(byCid.get(cid.toString())) }
}

interface Node { member: Member, guard: MembershipGuard, exchange: BlockExchange }

async function node (localBlock: LocalBlock = async () => await Promise.resolve(undefined), init: { window?: number, log?: LogFn } = {}): Promise<Node> {
  const member = await startMember({ issuer: ca })
  const guard = await startGuard(member)
  const exchange = new BlockExchange({
    libp2p: member.host,
    admission: admissionFor(member, guard),
    isVerifiedBothWays: (peer: string) => guard.isVerifiedBothWays(peer),
    store: { localBlock },
    metrics: member.metrics,
    log: init.log ?? member.log
  }, { protocol: PROTOCOL, timeoutMs: 10_000, window: init.window ?? 4, idleMs: 60_000 })
  await exchange.start()
  return { member, guard, exchange }
}

async function link (a: Node, b: Node): Promise<void> {
  await connect(a.member, b.member)
  await expect.poll(() => a.guard.isVerified(b.member.peerId) && b.guard.isVerified(a.member.peerId), poll).toBe(true)
}

const served = async (n: Node, result: string): Promise<number> => await metricValue(n.member.metrics.contentBlocksServed, { result })

describe('block exchange (content-blocks 2.0.0)', () => {
  it('pipelines many requests on one stream, and an AbortSignal cancels them without losing the channel', async () => {
    const blocks = await Promise.all(Array.from({ length: 40 }, async () => await block()))
    // The holder parks reads behind a gate, so the test sees how many are asked at once.
    let open = false
    const parked: Array<() => void> = []
    const store = mapStore(blocks)
    const log = vi.fn<LogFn>()
    const holder = await node(async (cid, opts) => {
      if (!open) await new Promise<void>(resolve => parked.push(resolve))
      return await store.localBlock(cid, opts)
    }, { log })
    const asker = await node(undefined, { window: 4 })
    await link(asker, holder)
    const dial = vi.spyOn(asker.member.host, 'dialProtocol')

    // Cancel: 10 requests, a window of 4 reaches the holder, then the caller gives up.
    const controller = new AbortController()
    const cancelled = blocks.slice(0, 10).map(async b => await asker.exchange.request(holder.member.peerId, b.cid, controller.signal))
    await expect.poll(() => parked.length, poll).toBe(4)
    controller.abort(new Error('caller gave up'))
    for (const p of cancelled) await expect(p).rejects.toThrow('caller gave up')
    // The holder reads the CANCELs while its reads are parked, and then sends none of those blocks.
    await expect.poll(() => log.mock.calls.filter(([, msg, fields]) => msg === 'block request cancelled' && fields?.owed === true).length, poll).toBe(4)
    open = true
    for (const wake of parked.splice(0)) wake()
    await expect.poll(async () => await served(holder, 'cancelled'), poll).toBe(4)
    expect(await served(holder, 'found')).toBe(0)

    // The same channel then carries all 40 at once, the window keeping 4 in flight.
    const got = await Promise.all(blocks.map(async b => await asker.exchange.request(holder.member.peerId, b.cid, AbortSignal.timeout(20_000))))
    got.forEach((bytes, i) => { expect(Buffer.from(bytes).equals(blocks[i]!.bytes)).toBe(true) })
    expect(await served(holder, 'found')).toBe(40)
    expect(dial).toHaveBeenCalledTimes(1)
  })

  it('refuses a block that does not match its CID, counts it, skips the peer and gets it from the next holder', async () => {
    const good = await block()
    const other = await block()
    const flipped = Uint8Array.from(good.bytes)
    flipped[100]! ^= 1
    const liar = await node(mapStore([{ cid: good.cid, bytes: flipped }, { cid: other.cid, bytes: other.bytes }]).localBlock)
    const honest = await node(mapStore([good, other]).localBlock)
    const reader = await node()
    await link(reader, liar)
    await link(reader, honest)
    const stored: string[] = []
    const fetcher = new BlockFetcher({
      store: { localBlock: async () => await Promise.resolve(undefined), putBlock: async cid => { stored.push(cid.toString()) } } as Partial<ContentStore> as ContentStore,
      exchange: reader.exchange,
      metrics: reader.member.metrics,
      log: reader.member.log
    }, { selfId: reader.member.peerId })
    const session = fetcher.session(() => [liar.member.peerId, honest.member.peerId])

    const bytes = await session.block(good.cid, AbortSignal.timeout(20_000))
    expect(Buffer.from(bytes).equals(good.bytes)).toBe(true)
    expect(await metricValue(reader.member.metrics.contentVerificationFailures, { source: 'mesh' })).toBe(1)
    expect(await served(liar, 'found')).toBe(1)
    expect(stored).toEqual([good.cid.toString()])
    // Penalised: the next block is asked of the honest holder first, the liar not at all.
    await fetcher.session(() => [liar.member.peerId, honest.member.peerId]).block(other.cid, AbortSignal.timeout(20_000))
    expect(await served(liar, 'found')).toBe(1)
    expect(await served(honest, 'found')).toBe(2)
  })

  it('refuses an oversize frame from its length prefix, on both sides, without reading or allocating its body', async () => {
    const wanted = await block()
    const holder = await node(mapStore([wanted]).localBlock)
    const asker = await node()
    await link(asker, holder)
    const before = process.memoryUsage().arrayBuffers

    // An asker declaring a 1 GiB request frame: the holder refuses it from the prefix.
    const stream = await asker.member.host.dialProtocol(peerIdFromString(holder.member.peerId), PROTOCOL)
    stream.send(encodeLength(1024 ** 3))
    await expect.poll(async () => await served(holder, 'rejected'), poll).toBe(1)
    await expect.poll(() => stream.status, poll).not.toBe('open')

    // A holder answering with a frame one byte over the limit: sent as a prefix only, so
    // reading the body would wait for the 10 s timeout; the refusal must name the limit.
    const hostile = await startMember({ issuer: ca })
    const hostileGuard = await startGuard(hostile)
    await hostile.host.handle(PROTOCOL, async (s) => {
      await byteStream(s).read({ bytes: 1 })
      s.send(encodeLength(MAX_ANSWER_FRAME_BYTES + 1))
    })
    await connect(asker.member, hostile)
    await expect.poll(() => asker.guard.isVerified(hostile.peerId) && hostileGuard.isVerified(asker.member.peerId), poll).toBe(true)
    const err = await asker.exchange.request(hostile.peerId, wanted.cid, AbortSignal.timeout(20_000)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BlockProtocolError)
    expect((err as Error).message).toMatch(`limit ${MAX_ANSWER_FRAME_BYTES}`)
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024)
  })

  it('refuses a non-member before reading: the holder resets its stream unread, the asker never asks one', async () => {
    const wanted = await block()
    const reads = vi.fn(mapStore([wanted]).localBlock)
    const holder = await node(reads)
    // A key holder with a certificate but no membership handshake: connected, never verified.
    const outsider = await startMember({ issuer: ca })
    await connect(outsider, holder.member)
    const stream = await outsider.host.dialProtocol(peerIdFromString(holder.member.peerId), PROTOCOL)
    try {
      stream.send(encodeFrame(WANT, 1, wanted.cid.bytes))
    } catch {
      // The reset may already have landed: it comes at stream open, before any byte.
    }
    await expect.poll(async () => await metricValue(holder.member.metrics.streamsRefused, { reason: 'unverified', service: 'content-blocks' }), poll).toBe(1)
    expect(reads).not.toHaveBeenCalled()
    expect(await served(holder, 'found') + await served(holder, 'rejected')).toBe(0)

    // The other way: the holder is asked to fetch from the outsider, and refuses to dial it.
    const dial = vi.spyOn(holder.member.host, 'dialProtocol')
    await expect(holder.exchange.request(outsider.peerId, wanted.cid, AbortSignal.timeout(5_000))).rejects.toThrow(BlockExchangeError)
    await expect(holder.exchange.request(outsider.peerId, wanted.cid, AbortSignal.timeout(5_000))).rejects.toThrow('not a verified member')
    expect(dial).not.toHaveBeenCalled()
  })
})
