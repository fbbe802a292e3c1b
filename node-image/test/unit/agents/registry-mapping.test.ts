import { describe, expect, it } from 'vitest'
import { toAgentPrompts, toAgentResources, toAgentTools } from '../../../src/agents/list-mapper.ts'
import { AgentHeadersError, loadRemoteHeaders } from '../../../src/agents/remote-headers.ts'
import { parseAgentRecord } from '../../../src/registry/agent-record.ts'

const NODE = '12D3KooW' + 'A'.repeat(44)

function collect (): { skipped: string[], skip: (what: string, name: string, reason: string) => void } {
  const skipped: string[] = []
  return { skipped, skip: (what, name, reason) => { skipped.push(`${what} ${name}: ${reason}`) } }
}

describe('mapping MCP lists into registry records', () => {
  it('keeps valid tools, skips the rest, and caps the count at 256', () => {
    const { skipped, skip } = collect()
    const many = Array.from({ length: 300 }, (_, i) => ({ name: `t${i}`, inputSchema: { type: 'object' } }))
    const tools = toAgentTools([
      null,
      { description: 'nameless' },
      { name: 'dup' },
      { name: 'dup' },
      { name: 'schema-not-object', inputSchema: 'x' },
      { name: 'no-schema', title: 'kept', annotations: { readOnlyHint: true } },
      ...many
    ], skip)
    expect(tools.slice(0, 2)).toEqual([{ name: 'dup' }, { name: 'no-schema', title: 'kept', annotations: { readOnlyHint: true } }])
    expect(tools).toHaveLength(256)
    expect(skipped.slice(0, 4)).toEqual(['tool ?: no name', 'tool ?: no name', 'tool dup: listed twice', 'tool schema-not-object: inputSchema is not an object'])
    expect(skipped.filter((s) => s.includes('more than 256 tools'))).toHaveLength(300 - 254)
    expect(() => parseAgentRecord({ nodeId: NODE, agentId: 'a', name: 'a', kind: 'remote', description: '', tools, updatedAt: 1 })).not.toThrow()
  })

  it('keeps valid resources and prompts, skipping ones the registry refuses', () => {
    const { skipped, skip } = collect()
    const resources = toAgentResources([
      { uri: 'file:///a', name: 'a', mimeType: 'text/plain', description: 'z'.repeat(3000) },
      { uri: 'file:///nameless' },
      { uri: 'file:///long-mime', name: 'm', mimeType: 'x'.repeat(300) },
      { uri: 'file:///a', name: 'again' }
    ], skip)
    expect(resources).toEqual([{ uri: 'file:///a', name: 'a', mimeType: 'text/plain', description: 'z'.repeat(2000) }])
    const prompts = toAgentPrompts([
      { name: 'ok', arguments: [{ name: 'topic', required: true, description: 'd' }, { name: 'free' }] },
      { name: 'bad arg', arguments: [{ name: '' }] },
      { name: 'bad-arg', arguments: [{ required: true }] },
      { name: 'not-array', arguments: { name: 'x' } },
      { name: 'space name' }
    ], skip)
    expect(prompts).toEqual([{ name: 'ok', arguments: [{ name: 'topic', required: true, description: 'd' }, { name: 'free' }] }])
    expect(skipped).toEqual([
      expect.stringMatching(/^resource file:\/\/\/nameless: /),
      expect.stringMatching(/^resource file:\/\/\/long-mime: mimeType/),
      'resource file:///a: listed twice',
      expect.stringMatching(/^prompt bad arg: name must match/),
      expect.stringMatching(/^prompt bad-arg: arguments\.0\.name/),
      'prompt not-array: arguments is not an array',
      expect.stringMatching(/^prompt space name: name must match/)
    ])
    expect(() => parseAgentRecord({ nodeId: NODE, agentId: 'a', name: 'a', kind: 'remote', description: '', tools: [], resources, prompts, updatedAt: 1 })).not.toThrow()
  })
})

describe('loadRemoteHeaders', () => {
  const base = { id: 'r', kind: 'remote' as const, description: '', url: 'http://127.0.0.1:1/mcp' }

  it('refuses values with line breaks without quoting them', async () => {
    const err = await loadRemoteHeaders({ ...base, headersFromEnv: { 'x-key': 'K' } }, { K: 'secret\r\nInjected: 1' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AgentHeadersError)
    expect((err as Error).message).toBe('headersFromEnv: environment variable K (for header x-key) holds control characters or is too long')
  })

  it('combines env headers over nothing when no file is given', async () => {
    expect(await loadRemoteHeaders({ ...base, headersFromEnv: { Authorization: 'T', 'x-b': 'B' } }, { T: 'Bearer t', B: 'b\tvalue' })).toEqual({ Authorization: 'Bearer t', 'x-b': 'b\tvalue' })
  })
})
