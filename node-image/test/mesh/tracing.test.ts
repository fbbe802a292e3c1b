import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { context, propagation, trace } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { createNetworkDir } from '../../src/local-mesh/network-dir.ts'
import { loadConfig } from '../../src/config/load.ts'
import { DawnNode } from '../../src/node/dawn-node.ts'
import { eventually, tempDir } from './harness.ts'

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
      const node = await DawnNode.create({ config: (await loadConfig({ file: n.configFile })).config, http: false })
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
    const spans = exporter.getFinishedSpans()
    const publish = spans.find(s => s.name === 'publish registry.delta')
    const receive = spans.find(s => s.name === 'receive registry.delta')
    expect(publish, spans.map(s => s.name).join(', ')).toBeDefined()
    expect(receive).toBeDefined()
    expect(receive?.spanContext().traceId).toBe(publish?.spanContext().traceId)
    expect(receive?.parentSpanContext?.spanId).toBe(publish?.spanContext().spanId)
    expect(receive?.attributes['dawn.from']).toBe(a.peerId)
  })
})
