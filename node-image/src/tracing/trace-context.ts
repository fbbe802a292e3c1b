import { context, propagation, type Context } from '@opentelemetry/api'

/** W3C trace context as it rides in a mesh envelope. */
export interface TraceCarrier {
  traceparent: string
  tracestate?: string
}

/** The active trace context, ready for an envelope; undefined when nothing is being traced. */
export function currentTraceCarrier (ctx: Context = context.active()): TraceCarrier | undefined {
  const carrier: Record<string, string> = {}
  propagation.inject(ctx, carrier)
  if (carrier.traceparent === undefined) return undefined
  return carrier.tracestate === undefined ? { traceparent: carrier.traceparent } : { traceparent: carrier.traceparent, tracestate: carrier.tracestate }
}

/** A context whose parent is the remote span that sent the envelope. */
export function contextFromCarrier (carrier: TraceCarrier | undefined, ctx: Context = context.active()): Context {
  if (carrier === undefined) return ctx
  return propagation.extract(ctx, { ...carrier })
}
