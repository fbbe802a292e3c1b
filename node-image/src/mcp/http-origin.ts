/**
 * The Origin check of the MCP HTTP endpoint (the node's `/mcp` and
 * `dawn-node agent serve --http`), as the MCP spec asks of servers: a page on
 * another site that rebinds its DNS name to 127.0.0.1 still sends its own Origin,
 * so refusing foreign origins keeps it off a local server.
 */
const LOCAL_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/

/** No Origin (non-browser clients), a loopback origin, or one listed exactly. */
export function originAllowed (origin: string | undefined, allowed: readonly string[]): boolean {
  return origin === undefined || LOCAL_ORIGIN.test(origin) || allowed.includes(origin)
}
