/**
 * Who may use the MCP HTTP endpoint: a bearer token (the node's `/mcp`) or a set of
 * headers with fixed values (`dawn-node agent serve --http`, e.g. an API key a
 * gateway adds). Both compare in constant time.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { bearerMatches } from '../http/bearer-auth.ts'
import { secretsEqual } from '../identity/constant-time.ts'

export interface AuthRefusal {
  /** Log label; never the presented value. */
  reason: string
  message: string
  /** `WWW-Authenticate` to send with the 401, if any. */
  challenge?: string
}

/** Undefined lets the request in. */
export type McpAuthGuard = (headers: IncomingHttpHeaders) => AuthRefusal | undefined

export const openGuard: McpAuthGuard = () => undefined

/** `Authorization: Bearer <token>`; no token lets everything through. */
export function bearerGuard (token: string | undefined): McpAuthGuard {
  if (token === undefined) return openGuard
  return (headers) => {
    if (bearerMatches(headers.authorization, token)) return undefined
    return headers.authorization === undefined
      ? { reason: 'no token', message: 'Unauthorized: bearer token required', challenge: 'Bearer' }
      : { reason: 'wrong token', message: 'Unauthorized: invalid bearer token', challenge: 'Bearer error="invalid_token"' }
  }
}

/** Every header here must come with exactly this value. */
export function requiredHeadersGuard (required: Record<string, string>): McpAuthGuard {
  const wanted = Object.entries(required).map(([name, value]) => [name.toLowerCase(), value] as const)
  if (wanted.length === 0) return openGuard
  return (headers) => {
    // Every header is compared, even after a mismatch, so the time taken does not tell which one was wrong.
    const ok = wanted.map(([name, value]) => { const given = headers[name]; return typeof given === 'string' && secretsEqual(given, value) }).every(Boolean)
    return ok ? undefined : { reason: 'required header', message: 'Unauthorized: a required header is missing or wrong' }
  }
}
