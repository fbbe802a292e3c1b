// Whether a DawnAgent's spec.tools can go into node config as it is. The CRD's CEL rules refuse
// a bad one; this catches one written around them, because a node refuses a whole config with a
// bad filter and would then keep running every other agent's old config too.
import { Compile } from 'typebox/compile'
import { MAX_TOOL_NAME, TOOL_NAME_PATTERN, ToolFilter, renameClash } from '@dawn/node-image/mcp-views'

const checkFilter = Compile(ToolFilter)
const TOOL_NAME = new RegExp(TOOL_NAME_PATTERN)

/** Why `tools` cannot be used as a node's tool filter; undefined when it can. */
export function toolFilterProblem (tools: unknown): string | undefined {
  if (!checkFilter.Check(tools)) {
    const first = checkFilter.Errors(tools).find(e => e.message !== 'schema is false')
    return first === undefined ? 'spec.tools: not a tool filter' : `spec.tools${first.instancePath.replaceAll('/', '.')}: ${first.message}`
  }
  for (const field of ['rename', 'descriptions'] as const) {
    const bad = Object.keys(tools[field] ?? {}).find(k => k.length > MAX_TOOL_NAME || !TOOL_NAME.test(k))
    if (bad !== undefined) return `spec.tools.${field}: "${bad.slice(0, 140)}" is not a tool name`
  }
  const clash = renameClash(tools)
  return clash === undefined ? undefined : `spec.tools.rename: "${clash.first}" and "${clash.second}" are both renamed to "${clash.to}"`
}

/**
 * The filter a node gets for `tools`: itself, or every tool hidden when it cannot be used.
 * Leaving a broken one out would show the tools its deny list was written to hide.
 */
export function usableToolFilter (tools: ToolFilter): ToolFilter {
  return toolFilterProblem(tools) === undefined ? tools : { allow: [] }
}
