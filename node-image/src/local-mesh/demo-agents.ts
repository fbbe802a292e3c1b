import type { NodeConfig } from '../config/schema.ts'

/** Every node of a local mesh hosts the built-in agents, so there is something to list and call at once. */
export function demoAgents (_index: number): NodeConfig['agents'] {
  return [
    { id: 'echo', kind: 'builtin', builtin: 'echo', description: 'Echoes its input; generates test payloads' },
    { id: 'notes', kind: 'builtin', builtin: 'notes', description: 'Persistent key/value memory of this node' },
    { id: 'mesh', kind: 'builtin', builtin: 'mesh', description: 'Peers, ping and route tracing from this node' },
    { id: 'content', kind: 'builtin', builtin: 'content', description: 'Content-addressed storage of the mesh: add, get, pin, status' }
  ]
}
