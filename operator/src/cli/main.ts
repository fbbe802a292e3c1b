#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { hostname } from 'node:os'
import { createOperator } from '../operator.ts'
import { createLogger, isLogLevel } from '../runtime/logger.ts'

const USAGE = `dawn-operator — reconciles DawnNetwork, DawnNode and DawnAgent resources

Usage: dawn-operator [options]
  --kubeconfig FILE          kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --namespace NS             watch only this namespace (default: all; env WATCH_NAMESPACE)
  --leader-elect BOOL        Lease-based leader election (default true)
  --lease-namespace NS       namespace of the Lease (default: --namespace, $POD_NAMESPACE, or "default")
  --lease-name NAME          default dawn-operator
  --id ID                    identity in the Lease (default: hostname + random)
  --metrics-port PORT        /metrics, /healthz, /readyz (default 8080)
  --log-level LEVEL          debug | info | warn | error (default info)`

async function main (): Promise<number> {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      'leader-elect': { type: 'string', default: 'true' },
      'lease-namespace': { type: 'string' },
      'lease-name': { type: 'string', default: 'dawn-operator' },
      id: { type: 'string' },
      'metrics-port': { type: 'string', default: '8080' },
      'log-level': { type: 'string', default: process.env.LOG_LEVEL ?? 'info' },
      help: { type: 'boolean' }
    }
  })
  if (values.help === true) { process.stdout.write(USAGE + '\n'); return 0 }
  const level = values['log-level']
  if (!isLogLevel(level)) throw new Error(`--log-level must be debug, info, warn or error, got "${level}"`)
  const port = Number(values['metrics-port'])
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--metrics-port must be a port number, got "${values['metrics-port']}"`)
  if (!['true', 'false'].includes(values['leader-elect'])) throw new Error(`--leader-elect must be true or false, got "${values['leader-elect']}"`)
  const namespace = values.namespace ?? process.env.WATCH_NAMESPACE
  const identity = values.id ?? `${hostname()}_${Math.random().toString(36).slice(2, 8)}`
  const logger = createLogger({ level, fields: { component: 'dawn-operator', id: identity } })
  const operator = createOperator({
    ...(values.kubeconfig === undefined ? {} : { kubeconfigPath: values.kubeconfig }),
    ...(namespace === undefined || namespace === '' ? {} : { namespace }),
    leaderElection: {
      enabled: values['leader-elect'] === 'true',
      namespace: values['lease-namespace'] ?? namespace ?? process.env.POD_NAMESPACE ?? 'default',
      name: values['lease-name'],
      identity
    },
    metricsPort: port,
    logger
  })
  await operator.start()
  await new Promise<void>(resolve => {
    process.once('SIGINT', () => { resolve() })
    process.once('SIGTERM', () => { resolve() })
  })
  logger.info('shutting down')
  const hardStop = setTimeout(() => { process.exit(1) }, 20_000)
  hardStop.unref()
  await operator.stop()
  return 0
}

main().then(code => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`dawn-operator: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
})
