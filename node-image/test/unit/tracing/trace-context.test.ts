import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { context, propagation, trace } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { currentTraceCarrier, contextFromCarrier } from '../../../src/tracing/trace-context.ts'
import { tracingRequested } from '../../../src/tracing/otel.ts'

describe('trace context in envelopes', () => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  beforeAll(() => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  })
  afterAll(async () => {
    propagation.disable()
    await provider.shutdown()
  })

  it('carries nothing when no span is active', () => {
    expect(currentTraceCarrier()).toBeUndefined()
  })

  it('round-trips the active span as a W3C traceparent', () => {
    const span = provider.getTracer('t').startSpan('sender')
    const carrier = currentTraceCarrier(trace.setSpan(context.active(), span))
    expect(carrier?.traceparent).toMatch(new RegExp(`^00-${span.spanContext().traceId}-${span.spanContext().spanId}-0[01]$`))
    const remote = trace.getSpanContext(contextFromCarrier(carrier))
    expect(remote?.traceId).toBe(span.spanContext().traceId)
    expect(remote?.spanId).toBe(span.spanContext().spanId)
    expect(remote?.isRemote).toBe(true)
    span.end()
  })

  it('is off unless OTEL_* variables ask for it', () => {
    expect(tracingRequested({})).toBe(false)
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'none' })).toBe(false)
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true)
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true)
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' })).toBe(false)
  })
})
