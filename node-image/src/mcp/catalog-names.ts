/**
 * The names of the endpoint's own catalog tools, `find_tools` and `call_tool`, and the one
 * rule that keeps them unambiguous: catalog names win over any agent's claim. Only a bare name
 * (conditional mode) can equal one, since logical and replica names hold a dot; an agent tool
 * that loses its bare name this way is listed, found and called under its logical name
 * `<agentId>.<name>`, which no other claim can take (an agent id has no dot, a replica name
 * has two). A leaf, so the search index and the catalog tools share it.
 */
import type { Listed } from './naming-modes.ts'

/** What `/mcp` lists: "full" every tool and the two catalog tools, "search" only the catalog tools. */
export { CATALOG_MODES, CatalogMode } from '../config/mcp-views.ts'

export const FIND_TOOLS = 'find_tools'
export const CALL_TOOL = 'call_tool'
export const CATALOG_TOOL_NAMES: readonly string[] = Object.freeze([FIND_TOOLS, CALL_TOOL])

export function isCatalogName (name: string): boolean {
  return name === FIND_TOOLS || name === CALL_TOOL
}

/** The name a listed tool goes by on an endpoint that also has the catalog tools. */
export function catalogNameOf (listed: Pick<Listed<unknown>, 'name' | 'form' | 'agentId'>): string {
  return listed.form === 'bare' && isCatalogName(listed.name) ? `${listed.agentId}.${listed.name}` : listed.name
}
