import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { context, propagation, trace } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { createNetworkDir } from '../../src/local-mesh/network-dir.ts'
import { loadConfig } from '../../src/config/load.ts'
import { DawnNode } from '../../src/node/dawn-node.ts'
import { eventually, tempDir } from './harness.ts'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'

describe('one trace spans nodes', () => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const nodes: DawnNode[] = []

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    propagation.setGlobalPropagator(new W3CTraceContextPropagator())
    trace.setGlobalTracerProvider(provider)
    const net = await createNetworkDir({ dir: await tempDir(), nodes: 2 })
    for (const n of net.nodes) {
      const node = await DawnNode.create({ config: (await loadConfig({ file: n.configFile })).config })
      await node.start()
      nodes.push(node)
    }
    await eventually(async () => nodes.every(n => n.verifiedPeers().length === 1), { what: 'two connected nodes' })
  })
  afterAll(async () => {
    await Promise.all(nodes.map(async n => { await n.stop() }))
    await provider.shutdown()
  })

  it('the receiving node continues the sender trace from the envelope', async () => {
    const [a, b] = nodes
    if (a === undefined || b === undefined) throw new Error('nodes missing')
    // Let the first anti-entropy settle, so gossip is the only thing left to trace.
    await eventually(async () => a.registry.digest() === b.registry.digest(), { what: 'initial sync' })
    exporter.reset()
    await a.setLocalAgents([{ id: 'traced', kind: 'static', description: 'x', tools: [] }])
    await eventually(async () => b.registry.entries().some(e => e.agentId === 'traced'), { what: 'the delta at node b' })
    // Under load anti-entropy can bring the entry first; the gossip copy still arrives and is traced.
    await eventually(async () => exporter.getFinishedSpans().some(s => s.name === 'receive registry.delta'), { what: 'the delta\'s receive span at node b', detail: async () => exporter.getFinishedSpans().map(s => s.name).join(', ') })
    const spans = exporter.getFinishedSpans()
    const publish = spans.find(s => s.name === 'publish registry.delta')
    const receive = spans.find(s => s.name === 'receive registry.delta')
    expect(publish, spans.map(s => s.name).join(', ')).toBeDefined()
    expect(receive).toBeDefined()
    expect(receive?.spanContext().traceId).toBe(publish?.spanContext().traceId)
    expect(receive?.parentSpanContext?.spanId).toBe(publish?.spanContext().spanId)
    expect(receive?.attributes['dawn.from']).toBe(a.peerId)
  })

  it('one trace runs MCP client → node A → node B → agent and back', async () => {
    const [a, b] = nodes
    if (a === undefined || b === undefined) throw new Error('nodes missing')
    await b.setLocalAgents([{ id: 'echo', kind: 'builtin', builtin: 'echo', description: '' }])
    await eventually(async () => a.registry.get(b.peerId, 'echo')?.tools.length === 3, { what: 'the echo agent at node a' })
    exporter.reset()
    // The client side of the trace: a span whose context goes out in the traceparent header.
    const tracer = trace.getTracer('test-client')
    const root = tracer.startSpan('client tools/call')
    const headers: Record<string, string> = {}
    propagation.inject(trace.setSpan(context.active(), root), headers)
    const client = new Client({ name: 'traced-client', version: '1.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', a.httpUrl), { requestInit: { headers } }))
    const result = await client.callTool({ name: `${b.peerId.slice(-10)}.echo.echo`, arguments: { text: 'traced' } })
    root.end()
    await client.close()
    expect(result.content).toEqual([{ type: 'text', text: 'traced' }])

    const spans = exporter.getFinishedSpans()
    const named = (name: string): (typeof spans)[number] => {
      const found = spans.find(s => s.name === name)
      if (found === undefined) throw new Error(`no span ${name} among ${spans.map(s => s.name).join(', ')}`)
      return found
    }
    const chain = ['client tools/call', 'mcp tools/call', 'dawn tools/call', 'dawn serve tools/call', 'agent tools/call'].map(named)
    for (const span of chain) expect(span.spanContext().traceId).toBe(root.spanContext().traceId)
    for (let i = 1; i < chain.length; i++) expect(chain[i]?.parentSpanContext?.spanId, chain[i]?.name).toBe(chain[i - 1]?.spanContext().spanId)
    expect(named('dawn tools/call').attributes['dawn.route']).toBe('direct')
    expect(named('dawn serve tools/call').attributes['dawn.caller']).toBe(a.peerId)
  })
})
