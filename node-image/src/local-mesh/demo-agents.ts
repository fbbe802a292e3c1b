import type { NodeConfig } from '../config/schema.ts'

/**
 * Static registry entries so a fresh local mesh has something to list. The MCP
 * agent runtime replaces these with live built-in agents.
 */
export function demoAgents (index: number): NodeConfig['agents'] {
  return [
    { id: 'echo', name: 'Echo', kind: 'static', description: 'Echoes its input (placeholder until the MCP runtime lands)', tools: [{ name: 'echo', description: 'Return the input text' }] },
    { id: `notes-${index + 1}`, name: `Notes ${index + 1}`, kind: 'static', description: 'Key/value memory of this node', tools: [{ name: 'get' }, { name: 'put' }, { name: 'list' }] }
  ]
}
