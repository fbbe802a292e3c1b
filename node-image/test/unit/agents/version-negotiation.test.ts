// Which MCP revision the node offers each kind of agent: remote agents are probed for
// 2026-07-28 (remote-agents.test.ts shows both outcomes); built-ins and stdio children
// are opened in 2025-11-25 directly, with no probe round trip and no second child.
import { describe, expect, it } from 'vitest'
import { versionNegotiation } from '../../../src/agents/agent-transports.ts'

describe('version negotiation per agent kind', () => {
  it('probes remote agents and opens built-ins and stdio agents in 2025-11-25', () => {
    expect(versionNegotiation({ id: 'r', kind: 'remote', description: '', url: 'http://127.0.0.1:1/mcp' })).toEqual({ mode: 'auto' })
    expect(versionNegotiation({ id: 'b', kind: 'builtin', builtin: 'echo', description: '' })).toEqual({ mode: 'legacy' })
    expect(versionNegotiation({ id: 's', kind: 'stdio', description: '', command: ['true'] })).toEqual({ mode: 'legacy' })
  })
})
