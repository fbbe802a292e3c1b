// Shared by the logical-agent, filter and naming tests: synthetic node ids whose tags are chosen
// (so an agent id can equal a node tag), and records built from short tool lists.
import type { AgentRecord, AgentTool } from '../../../src/registry/agent-record.ts'
import { NODE_TAG_LENGTH } from '../../../src/routing/tool-names.ts'
import { logicalAgents } from '../../../src/mcp/logical-catalog.ts'
import { filterAgents, type FilteredAgent, type ToolFilters } from '../../../src/mcp/tool-filters.ts'

/** A valid base58 peer id ending in `tag` (10 base58 characters). */
export function nodeWithTag (tag: string, head = 'A'): string {
  if (tag.length !== NODE_TAG_LENGTH) throw new Error('tag must be 10 characters')
  return `12D3KooW${head.repeat(34)}${tag}`
}

export function rec (nodeId: string, agentId: string, tools: Array<string | AgentTool>, extra: Partial<AgentRecord> = {}): AgentRecord {
  return {
    nodeId,
    agentId,
    name: agentId,
    kind: 'builtin',
    description: '',
    tools: tools.map((t) => (typeof t === 'string' ? { name: t } : t)),
    updatedAt: 1,
    ...extra
  }
}

export function filtered (records: AgentRecord[], filters?: ToolFilters): FilteredAgent[] {
  return filterAgents(logicalAgents(records), filters)
}
