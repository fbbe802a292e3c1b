import { context, trace, SpanKind, SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api'
import { contextFromCarrier, type TraceCarrier } from './trace-context.ts'

// With no SDK registered these are no-op spans: tracing costs nothing when off. Looked up
// per span, not once: the SDK comes from node_modules with its own copy of the API
// (tracing/otel.ts), whose provider reaches this copy only through the global registry.
function tracer (): Tracer {
  return trace.getTracer('dawn-node')
}

/** Runs `fn` in a new span; the envelope sealed inside carries this span as the remote parent. */
export async function inSpan<T> (name: string, kind: 'client' | 'producer' | 'internal', attributes: Record<string, string>, fn: (span: Span) => Promise<T>): Promise<T> {
  return await tracer().startActiveSpan(name, { kind: kind === 'client' ? SpanKind.CLIENT : kind === 'producer' ? SpanKind.PRODUCER : SpanKind.INTERNAL, attributes }, async span => {
    try {
      return await fn(span)
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message })
      throw err
    } finally {
      span.end()
    }
  })
}

/**
 * Runs `fn` in a span whose parent is the remote span named by the envelope's
 * trace context. A promise result keeps the span open until it settles.
 */
export function inRemoteChildSpan<T> (name: string, kind: 'server' | 'consumer', carrier: TraceCarrier | undefined, attributes: Record<string, string>, fn: () => T): T {
  const parent = contextFromCarrier(carrier, context.active())
  const span = tracer().startSpan(name, { kind: kind === 'server' ? SpanKind.SERVER : SpanKind.CONSUMER, attributes }, parent)
  const fail = (err: unknown): never => {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message })
    throw err
  }
  let result: T
  try {
    result = context.with(trace.setSpan(parent, span), fn)
  } catch (err) {
    span.end()
    return fail(err)
  }
  if (result instanceof Promise) {
    return result.catch(fail).finally(() => { span.end() }) as T
  }
  span.end()
  return result
}
