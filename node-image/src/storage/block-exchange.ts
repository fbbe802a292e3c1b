import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2p } from 'libp2p'
import type { CID } from 'multiformats/cid'
import type { Messenger } from '../p2p/messenger.ts'
import type { NodeMetrics } from '../metrics/node-metrics.ts'
import type { LogFn } from '../logging/json-logger.ts'
import { request, serve } from '../p2p/lp-rpc.ts'
import type { PeerAdmission } from '../p2p/peer-admission.ts'
import { decodeCid } from './cid-text.ts'
import type { ContentStore } from './content-store.ts'
import { MAX_BLOCK_BYTES } from './unixfs-layout.ts'

export interface BlockExchangeComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
  admission: PeerAdmission
  messenger: Messenger
  store: ContentStore
  metrics: NodeMetrics
  log: LogFn
}

export interface BlockExchangeInit {
  protocol: string
  /** How long a peer may take to answer one block. */
  timeoutMs: number
}

/** Mesh peer answered the request but has no such block. */
export class PeerLacksBlockError extends Error {
  constructor (peer: string) {
    super(`${peer} does not have the block`)
    this.name = 'PeerLacksBlockError'
  }
}

export class BlockExchangeError extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'BlockExchangeError'
  }
}

const FOUND = 0
const MISSING = 1

/**
 * Block transfer between embedded stores: one signed request (a binary CID) and
 * one signed response (status byte + block) per stream. The receiver checks the
 * hash, not the sender, so a node never trusts what it is sent.
 */
export class BlockExchange {
  private readonly components: BlockExchangeComponents
  private readonly init: BlockExchangeInit
  private readonly maxBytes: number

  constructor (components: BlockExchangeComponents, init: BlockExchangeInit) {
    this.components = components
    this.init = init
    this.maxBytes = Math.min(components.messenger.maxBytesFor('content.block.response'), Math.ceil(MAX_BLOCK_BYTES * 4 / 3) + 64 * 1024)
  }

  async start (): Promise<void> {
    const { libp2p, messenger, metrics, log, admission } = this.components
    await serve(libp2p, this.init.protocol, admission, async (body, connection) => {
      const env = messenger.open(body, { type: 'content.block.request', from: connection.remotePeer.toString() }, connection.remotePeer.toString())
      if (env === undefined) {
        metrics.contentBlocksServed.inc({ result: 'rejected' })
        throw new BlockExchangeError('request envelope refused')
      }
      const cid = decodeCid(env.body)
      const block = await this.components.store.localBlock(cid, { signal: AbortSignal.timeout(this.init.timeoutMs) })
      metrics.contentBlocksServed.inc({ result: block === undefined ? 'missing' : 'found' })
      const reply = new Uint8Array(1 + (block?.byteLength ?? 0))
      reply[0] = block === undefined ? MISSING : FOUND
      if (block !== undefined) reply.set(block, 1)
      return messenger.seal('content.block.response', reply)
    }, {
      // A request is a signed CID: far below the message limit.
      maxBytes: messenger.maxMessageBytes,
      timeoutMs: this.init.timeoutMs,
      service: 'content-blocks',
      onError: (err, connection) => { log('debug', 'block request failed', { peer: connection.remotePeer.toString(), error: err.message }) }
    })
  }

  async stop (): Promise<void> {
    await this.components.libp2p.unhandle(this.init.protocol)
  }

  /** The peer's bytes for `cid`, unverified: the caller checks the hash. */
  async request (peer: string, cid: CID, signal: AbortSignal): Promise<Uint8Array> {
    const { libp2p, messenger } = this.components
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(this.init.timeoutMs)])
    let reply: Uint8Array
    try {
      reply = await request(libp2p, peerIdFromString(peer), this.init.protocol, messenger.seal('content.block.request', cid.bytes), { maxBytes: this.maxBytes, signal: timeout })
    } catch (err) {
      if (signal.aborted) throw err
      throw new BlockExchangeError(`block request to ${peer} failed: ${(err as Error).message}`, { cause: err })
    }
    const opened = messenger.tryOpen(reply, { type: 'content.block.response', from: peer }, peer)
    if ('reason' in opened) throw new BlockExchangeError(`response from ${peer} refused: ${opened.reason}`)
    const body = opened.envelope.body
    if (body[0] === MISSING && body.byteLength === 1) throw new PeerLacksBlockError(peer)
    if (body[0] !== FOUND) throw new BlockExchangeError(`response from ${peer} has no valid status`)
    return body.subarray(1)
  }
}
