/**
 * The `privateRead` route flag: a GET that carries private text (the event stream, room
 * history) and so needs the bearer token when one is set, and a same-site Origin.
 * Declared on the route as `config: { privateRead: true }`.
 */
import type { FastifyRequest } from 'fastify'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** With a token configured, reading this route needs it; foreign Origins are refused. */
    privateRead?: boolean
  }
}

export function isPrivateRead (req: FastifyRequest): boolean {
  return req.routeOptions.config.privateRead === true
}
