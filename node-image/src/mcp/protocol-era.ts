/**
 * Which protocol revision a POST to the MCP endpoint speaks, decided from the body the
 * endpoint already parsed and three headers: the SDK's own classifier (the one behind
 * `isLegacyRequest` and `createMcpHandler`), so the split cannot drift from the SDK's,
 * without building a web Request for the 2025-11-25 traffic that never needs one.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { classifyInboundRequest } from '@modelcontextprotocol/server'

function header (headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  // Joined as a web Headers object would join repeats, which is what the SDK reads.
  return Array.isArray(value) ? value.join(', ') : value
}

/**
 * True for 2025-11-25 traffic (no per-request envelope claim). False for everything the
 * 2026-07-28 handler answers, its rejections of malformed modern requests included.
 */
export function isLegacyPost (headers: IncomingHttpHeaders, body: unknown): boolean {
  const protocolVersionHeader = header(headers, 'mcp-protocol-version')
  const mcpMethodHeader = header(headers, 'mcp-method')
  const mcpNameHeader = header(headers, 'mcp-name')
  return classifyInboundRequest({
    httpMethod: 'POST',
    body,
    ...(protocolVersionHeader === undefined ? {} : { protocolVersionHeader }),
    ...(mcpMethodHeader === undefined ? {} : { mcpMethodHeader }),
    ...(mcpNameHeader === undefined ? {} : { mcpNameHeader })
  }).kind === 'legacy'
}
