import type { FastifyReply, FastifyRequest } from 'fastify'
import { secretsEqual } from '../identity/constant-time.ts'
import { isPrivateRead } from './private-read.ts'

/** Checks `Authorization: Bearer <token>` in constant time; no token configured lets everything through. */
export function bearerMatches (header: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return true
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1]
  if (presented === undefined) return false
  return secretsEqual(presented, token)
}

/** RFC 9110 safe methods: reading node state needs the token only on private routes. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

export const UNAUTHORIZED_BODY = { statusCode: 401, error: 'Unauthorized', message: 'a valid bearer token is required' } as const

/**
 * An `onRequest` hook that answers 401 to every state-changing request
 * (POST, PUT, PATCH, DELETE, ...) without the token. One server-wide hook rather
 * than one per route, so a route added later cannot forget it. Reads of routes flagged
 * `privateRead` (private-read.ts) need the token too. `ownAuth` names
 * requests whose handler checks the token itself (the MCP endpoint answers in
 * JSON-RPC and guards its GET stream too).
 */
export function requireTokenToWrite (token: string | undefined, ownAuth: (req: FastifyRequest) => boolean): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (req, reply) => {
    if (token === undefined || ownAuth(req)) return
    if (SAFE_METHODS.has(req.method) && !isPrivateRead(req)) return
    if (bearerMatches(req.headers.authorization, token)) return
    // Before the body is read: closing spares reading an upload only to drop it.
    await reply.status(401).header('www-authenticate', 'Bearer').header('connection', 'close').send(UNAUTHORIZED_BODY)
  }
}
