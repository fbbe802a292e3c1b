// Shared by the catalog tests: a registry of 200 agents with 20 tools each on four nodes, most
// of them generic, a few planted to be found (and some meant to compete with them).
import type { AgentRecord, AgentTool } from '../../../src/registry/agent-record.ts'
import { nodeWithTag, rec } from './naming-fixtures.ts'

export const NODES = [nodeWithTag('Aaaaaaaaaa'), nodeWithTag('Bbbbbbbbbb'), nodeWithTag('Cccccccccc'), nodeWithTag('Dddddddddd')]
export const AGENTS = 200
export const TOOLS_PER_AGENT = 20

const VERBS = ['get', 'list', 'create', 'update', 'delete', 'search', 'export', 'import', 'sync', 'count']
const NOUNS = ['invoice', 'order', 'customer', 'ticket', 'report', 'metric', 'user', 'file', 'record', 'event', 'note', 'task']
const DOMAINS = ['billing', 'sales', 'support', 'storage', 'identity', 'analytics', 'shipping', 'hr']

const SCHEMA = { type: 'object', properties: { id: { type: 'string' } } }

/** Planted agents: each lists these tools first, then generic ones up to TOOLS_PER_AGENT. */
export const PLANTED: Record<string, AgentTool[]> = {
  weather: [
    { name: 'forecast', description: 'Get the weather forecast for a city: temperature, rain and wind for the next days.', inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
    { name: 'current', description: 'Current weather conditions at a city.' }
  ],
  sales: [{ name: 'forecast_revenue', description: 'Forecast revenue for the next quarter from the sales pipeline.' }],
  ocean: [{ name: 'tideForecast', description: 'Tide forecast for a harbour.' }],
  climate: [{ name: 'history', description: 'Historical weather records by month, for a station.' }],
  archive: [{ name: 'thaw_snapshot', description: 'Restore a glacier-tier snapshot to hot storage.' }]
}

function genericTools (agentIndex: number, count: number): AgentTool[] {
  const domain = DOMAINS[agentIndex % DOMAINS.length] ?? 'misc'
  return Array.from({ length: count }, (_, t) => {
    const verb = VERBS[(agentIndex + t) % VERBS.length] ?? 'get'
    const noun = NOUNS[(agentIndex * 7 + t) % NOUNS.length] ?? 'item'
    return {
      name: `${verb}_${noun}_${t}`,
      description: `${verb} the ${noun} entries of the ${domain} service; returns them as JSON with their ids and timestamps.`,
      inputSchema: SCHEMA
    }
  })
}

/** 200 agents × 20 tools: the planted agents, then `svc-NNN` agents, each on one or two nodes. */
export function largeRegistry (): AgentRecord[] {
  const records: AgentRecord[] = []
  const planted = Object.entries(PLANTED)
  for (let i = 0; i < AGENTS; i++) {
    const [agentId, own] = planted[i] ?? [`svc-${String(i).padStart(3, '0')}`, []]
    const tools = [...own, ...genericTools(i, TOOLS_PER_AGENT - own.length)]
    const home = NODES[i % NODES.length] ?? ''
    records.push(rec(home, agentId, tools))
    if (i % 3 === 0) records.push(rec(NODES[(i + 1) % NODES.length] ?? '', agentId, tools))
  }
  return records
}

/** A deterministic shuffle (the same permutation for the same seed). */
export function shuffled<T> (items: readonly T[], seed: number): T[] {
  const out = [...items]
  let state = seed
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2147483648
    const j = state % (i + 1)
    const a = out[i] as T
    out[i] = out[j] as T
    out[j] = a
  }
  return out
}
