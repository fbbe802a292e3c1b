/**
 * OpenTelemetry is off unless the standard OTEL_* variables ask for it, and the
 * SDK is loaded lazily so an untraced node pays nothing for it. The node bundle leaves
 * the SDK out (local-mesh/node-bundle.ts): it comes from node_modules.
 */
export function tracingRequested (env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false
  const exporter = env.OTEL_TRACES_EXPORTER
  if (exporter !== undefined && exporter !== '' && exporter !== 'none') return true
  return (env.OTEL_EXPORTER_OTLP_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? '') !== ''
}

export interface Tracing { shutdown: () => Promise<void> }

export async function startTracing (serviceName: string, env: NodeJS.ProcessEnv = process.env): Promise<Tracing | undefined> {
  if (!tracingRequested(env)) return undefined
  let sdkModule: typeof import('@opentelemetry/sdk-node')
  try {
    sdkModule = await import('@opentelemetry/sdk-node')
  } catch (err) {
    throw new TracingUnavailableError(err)
  }
  const { NodeSDK } = sdkModule
  if (env.OTEL_SERVICE_NAME === undefined) process.env.OTEL_SERVICE_NAME = serviceName
  // Only the traces signal: metrics are served by /metrics, logs stay JSON on stderr.
  const sdk = new NodeSDK({ metricReaders: [], logRecordProcessors: [] })
  sdk.start()
  return { shutdown: async () => { await sdk.shutdown() } }
}

export class TracingUnavailableError extends Error {
  override name = 'TracingUnavailableError'
  constructor (cause: unknown) {
    super(`OTEL_* variables ask for tracing, but @opentelemetry/sdk-node does not load (${cause instanceof Error ? cause.message : String(cause)}); install the node's dependencies (npm ci --workspace=node-image --omit=dev) or unset them`, { cause })
  }
}
