/**
 * The Origin check of the node's HTTP API and of the MCP HTTP endpoint (the node's `/mcp`
 * and `dawn-node agent serve --http`), as the MCP spec asks of servers: a page on another
 * site that rebinds its DNS name to 127.0.0.1 still sends its own Origin, so refusing
 * foreign origins keeps it off a local server.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { isPrivateRead } from './private-read.ts'

const LOCAL_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/

/** No Origin (non-browser clients), a loopback origin, or one listed exactly. */
export function originAllowed (origin: string | undefined, allowed: readonly string[]): boolean {
  return origin === undefined || LOCAL_ORIGIN.test(origin) || allowed.includes(origin)
}

/** RFC 9110 safe methods. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * An app-wide `onRequest` hook answering 403 to a request from a foreign Origin that would
 * change state (any non-safe method, unknown paths included) or read a private route
 * (`config: { privateRead: true }`). `ownCheck` names requests whose handler checks the
 * Origin itself (the MCP endpoint answers in JSON-RPC).
 */
export function refuseForeignOrigins (
  allowed: readonly string[],
  ownCheck: (req: FastifyRequest) => boolean,
  onRefused: (origin: string, req: FastifyRequest) => void = () => {}
): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (req, reply) => {
    const origin = req.headers.origin
    if (originAllowed(origin, allowed) || ownCheck(req)) return
    if (SAFE_METHODS.has(req.method) && !isPrivateRead(req)) return
    onRefused(origin ?? '', req)
    await reply.status(403).header('connection', 'close').send({ statusCode: 403, error: 'Forbidden', message: `origin ${JSON.stringify(origin)} is not allowed` })
  }
}
