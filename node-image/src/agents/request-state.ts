/**
 * The `requestState` Dawn hands a 2026-07-28 caller while an agent's call waits for input
 * (MRTR). It names the node that parks the call in the clear, so whichever node receives
 * the retry knows where to send it, and is bound by an HMAC only that node can check:
 *
 *   dawn1.<nodeId>.<parkId>.<expiresAt ms>.<base64url HMAC-SHA256(key, all before + bind)>
 *
 * `bind` ties it to the agent, method and name it was minted for, so a state cannot be
 * replayed against another tool. The key is random per process: parked calls live in
 * memory and die with it, and so should their states.
 */
import { createHmac, createSecretKey, randomBytes } from 'node:crypto'
import { secretsEqual } from '../identity/constant-time.ts'
import { NODE_ID_PATTERN } from '../registry/agent-record.ts'

const PREFIX = 'dawn1'
const NODE_ID = new RegExp(NODE_ID_PATTERN)
const PARK_ID = /^[0-9a-f]{32}$/
const MAX_STATE_LENGTH = 512

export interface StateClaims {
  nodeId: string
  parkId: string
  expiresAt: number
}

/** The node a state names, read without verifying it (only that node can); undefined when it is not one of ours. */
export function stateNodeId (state: string): string | undefined {
  return parseState(state)?.nodeId
}

function parseState (state: string): (StateClaims & { mac: string, signed: string }) | undefined {
  if (state.length > MAX_STATE_LENGTH) return undefined
  const parts = state.split('.')
  if (parts.length !== 5 || parts[0] !== PREFIX) return undefined
  const [, nodeId, parkId, exp, mac] = parts as [string, string, string, string, string]
  if (!NODE_ID.test(nodeId) || !PARK_ID.test(parkId) || !/^[0-9]{1,16}$/.test(exp)) return undefined
  return { nodeId, parkId, expiresAt: Number(exp), mac, signed: parts.slice(0, 4).join('.') }
}

export class RequestStateCodec {
  // A KeyObject: raw bytes make Node probe for a CryptoKey by throwing a TypeError each time.
  readonly #key = createSecretKey(randomBytes(32))
  readonly #nodeId: string
  readonly #now: () => number

  constructor (nodeId: string, now: () => number = Date.now) {
    this.#nodeId = nodeId
    this.#now = now
  }

  mint (parkId: string, expiresAt: number, bind: string): string {
    const signed = `${PREFIX}.${this.#nodeId}.${parkId}.${Math.floor(expiresAt)}`
    return `${signed}.${this.#mac(signed, bind)}`
  }

  /** The claims of a state this node minted for `bind`, or why it is refused. */
  verify (state: string, bind: string): StateClaims | { reason: string } {
    const parsed = parseState(state)
    if (parsed === undefined) return { reason: 'malformed' }
    if (parsed.nodeId !== this.#nodeId) return { reason: 'minted by another node' }
    if (!secretsEqual(parsed.mac, this.#mac(parsed.signed, bind))) return { reason: 'signature does not match' }
    if (parsed.expiresAt <= this.#now()) return { reason: 'expired' }
    return { nodeId: parsed.nodeId, parkId: parsed.parkId, expiresAt: parsed.expiresAt }
  }

  #mac (signed: string, bind: string): string {
    return createHmac('sha256', this.#key).update(signed).update('\n').update(bind).digest('base64url')
  }
}
