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
  --lease-duration DURATION  how long a Lease is valid without renewal (default 15s)
  --renew-deadline DURATION  the leader steps down when it could not renew for this long (default 10s)
  --retry-period DURATION    how often candidates try to take the Lease (default 2s)
                             (DURATION: 500ms, 4s, 1m; a bare number is seconds)
  --mesh-check-interval DURATION
                             how often each network's nodes are asked for their peers, so that
                             Degraded shows a partitioned mesh (default 10s; 0 turns it off)
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
      'lease-duration': { type: 'string' },
      'renew-deadline': { type: 'string' },
      'retry-period': { type: 'string' },
      'mesh-check-interval': { type: 'string' },
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
  const leaseDurationMs = durationMs('--lease-duration', values['lease-duration'])
  const renewDeadlineMs = durationMs('--renew-deadline', values['renew-deadline'])
  const retryPeriodMs = durationMs('--retry-period', values['retry-period'])
  const meshCheck = values['mesh-check-interval']
  const meshCheckIntervalMs = meshCheck === '0' ? 0 : durationMs('--mesh-check-interval', meshCheck)
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
      identity,
      ...(leaseDurationMs === undefined ? {} : { leaseDurationMs }),
      ...(renewDeadlineMs === undefined ? {} : { renewDeadlineMs }),
      ...(retryPeriodMs === undefined ? {} : { retryPeriodMs })
    },
    metricsPort: port,
    ...(meshCheckIntervalMs === undefined ? {} : { meshCheckIntervalMs }),
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

/** `500ms`, `4s`, `1.5m`, or a bare number of seconds, as milliseconds. */
function durationMs (flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim())
  if (m === null) throw new Error(`${flag} must be a duration such as 500ms, 4s or 1m, got "${value}"`)
  const n = Number(m[1])
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000
  if (!Number.isFinite(ms) || ms <= 0) throw new Error(`${flag} must be greater than zero, got "${value}"`)
  return Math.round(ms)
}

main().then(code => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`dawn-operator: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
})
