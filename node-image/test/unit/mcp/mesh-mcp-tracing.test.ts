// Each routed MCP call runs in a span whose parent is the client's trace context.
// Its own file: it registers a global tracer provider for the test worker.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest'
import { randomBytes } from 'node:crypto'
import { context, propagation, trace } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import type { Client } from '@modelcontextprotocol/client'
import { currentTraceCarrier } from '../../../src/tracing/trace-context.ts'
import type { TraceCarrier } from '../../../src/tracing/trace-context.ts'
import { connectClient, newNodeId, record, RecordingCaller, startEndpoint, TestCatalog, type Endpoint } from './fixtures.ts'

describe('mesh MCP calls and trace context', () => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const caller = new RecordingCaller()
  const seen: Array<TraceCarrier | undefined> = []
  const clients: Client[] = []
  let endpoint: Endpoint
  let tool: string

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    propagation.setGlobalPropagator(new W3CTraceContextPropagator())
    trace.setGlobalTracerProvider(provider)
    const nodeId = await newNodeId()
    tool = `${nodeId.slice(-10)}.echo.say`
    caller.handler = async () => {
      seen.push(currentTraceCarrier())
      return { content: [] }
    }
    endpoint = await startEndpoint(new TestCatalog([record(nodeId, 'echo', { tools: [{ name: 'say' }] })]), caller)
  })

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close()
    exporter.reset()
    seen.length = 0
  })

  afterAll(async () => {
    await endpoint.close()
    await provider.shutdown()
    trace.disable()
    propagation.disable()
    context.disable()
  })

  const ids = (): { traceId: string, spanId: string, traceparent: string } => {
    const traceId = randomBytes(16).toString('hex')
    const spanId = randomBytes(8).toString('hex')
    return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` }
  }

  const callSpan = (): ReturnType<InMemorySpanExporter['getFinishedSpans']>[number] | undefined =>
    exporter.getFinishedSpans().find((s) => s.name === 'mcp tools/call')

  it('continues the trace named by _meta.traceparent, and the router runs inside the call span', async () => {
    const { client } = await connectClient(endpoint.url)
    clients.push(client)
    const parent = ids()
    await client.callTool({ name: tool, arguments: {}, _meta: { traceparent: parent.traceparent } })
    const span = callSpan()
    expect(span?.spanContext().traceId).toBe(parent.traceId)
    expect(span?.parentSpanContext?.spanId).toBe(parent.spanId)
    expect(span?.attributes).toMatchObject({ 'mcp.method.name': 'tools/call', 'dawn.agent_id': 'echo', 'dawn.mcp.name': tool })
    expect(seen[0]?.traceparent).toBe(`00-${parent.traceId}-${span?.spanContext().spanId ?? ''}-01`)
    // The trace context is not passed on as the agent's own _meta.
    expect(caller.calls.at(-1)?.params._meta).toBeUndefined()
  })

  it('continues the trace named by the HTTP traceparent header', async () => {
    const parent = ids()
    const { client } = await connectClient(endpoint.url, { traceparent: parent.traceparent })
    clients.push(client)
    await client.callTool({ name: tool, arguments: {} })
    const span = callSpan()
    expect(span?.spanContext().traceId).toBe(parent.traceId)
    expect(span?.parentSpanContext?.spanId).toBe(parent.spanId)
  })

  it('starts a new trace when the client sends none', async () => {
    const { client } = await connectClient(endpoint.url)
    clients.push(client)
    await client.callTool({ name: tool, arguments: {} })
    const span = callSpan()
    expect(span).toBeDefined()
    expect(span?.parentSpanContext).toBeUndefined()
  })
})
