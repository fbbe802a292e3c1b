// A built-in's tools/call skips the in-memory MCP pair (AgentConnection.request): the direct
// call must answer exactly what a Server built from the same spec answers through a client.
import { describe, it, expect } from 'vitest'
import Type from 'typebox'
import { Client, InMemoryTransport, ProtocolError } from '@modelcontextprotocol/client'
import { callSpecTool, defineServer, defineTool, textResult, type ServerSpec } from '../../../src/agents/define-server.ts'

const spec: ServerSpec = {
  name: 'probe',
  version: '1.0.0',
  tools: [
    defineTool({ name: 'greet', description: 'greets', input: Type.Object({ who: Type.String(), times: Type.Integer({ minimum: 1, default: 1 }) }, { additionalProperties: false }), handler: (args) => textResult(`hi ${args.who} x${args.times}`) }),
    defineTool({ name: 'fail', description: 'throws', input: Type.Object({}), handler: () => { throw new Error('disk on fire') } }),
    defineTool({ name: 'wait', description: 'waits for its signal', input: Type.Object({}), handler: async (_args, { signal }) => await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason as Error) }, { once: true }) }) })
  ]
}

async function throughServer (): Promise<Client> {
  const [a, b] = InMemoryTransport.createLinkedPair()
  await defineServer(spec).connect(b)
  const client = new Client({ name: 't', version: '1' })
  await client.connect(a)
  return client
}

describe('callSpecTool', () => {
  it('answers as the spec\'s own server does: results, defaults, bad arguments, failing handlers, unknown tools', async () => {
    const client = await throughServer()
    const cases: Array<[string, unknown]> = [
      ['greet', { who: 'ada' }],
      ['greet', { who: 'ada', times: 3 }],
      ['greet', { who: 7 }],
      ['greet', { who: 'ada', extra: true }],
      ['fail', {}]
    ]
    for (const [name, args] of cases) {
      const direct = await callSpecTool(spec, name, args, AbortSignal.timeout(5000))
      const served = await client.request({ method: 'tools/call', params: { name, arguments: args as Record<string, unknown> } })
      expect(direct, `${name} ${JSON.stringify(args)}`).toEqual(served)
    }
    const unknown = await callSpecTool(spec, 'nope', {}, AbortSignal.timeout(5000)).catch((err: unknown) => err)
    const servedUnknown = await client.request({ method: 'tools/call', params: { name: 'nope', arguments: {} } }).catch((err: unknown) => err)
    expect(unknown).toBeInstanceOf(ProtocolError)
    expect(servedUnknown).toBeInstanceOf(ProtocolError)
    expect([(unknown as ProtocolError).code, (unknown as ProtocolError).message]).toEqual([(servedUnknown as ProtocolError).code, (servedUnknown as ProtocolError).message])
    await client.close()
  })

  it('leaves the caller\'s arguments unchanged and ends with the caller\'s signal', async () => {
    const args = { who: 'ada' }
    await callSpecTool(spec, 'greet', args, AbortSignal.timeout(5000))
    expect(args).toEqual({ who: 'ada' })
    const controller = new AbortController()
    const waiting = callSpecTool(spec, 'wait', {}, controller.signal)
    controller.abort(new Error('caller gave up'))
    await expect(waiting).rejects.toThrow('caller gave up')
  })
})
