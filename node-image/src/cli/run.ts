import { loadConfig, ConfigError } from '../config/load.ts'
import { DawnNode } from '../node/dawn-node.ts'
import { createJsonLogger } from '../logging/json-logger.ts'
import { startTracing } from '../tracing/otel.ts'
import { parseOverrideFlags, overridesHelp } from './override-flags.ts'
import { CliError } from './cli-error.ts'

export async function runCommand (args: string[]): Promise<number> {
  const parsed = parseOverrideFlags(args)
  if (parsed.help) {
    process.stdout.write(`dawn-node run [--config FILE] [overrides]\n\nOverrides (flag, environment variable, meaning); flags beat variables, variables beat the file:\n${overridesHelp()}\n`)
    return 0
  }
  const opts = { ...(parsed.config === undefined ? {} : { file: parsed.config }), flags: parsed.flags }
  let loaded
  try {
    loaded = await loadConfig(opts)
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 1)
    throw err
  }
  const { config, file } = loaded
  const log = createJsonLogger({ level: config.log.level, bindings: { component: 'dawn-node' } })
  const tracing = await startTracing('dawn-node')
  const node = await DawnNode.create({
    config,
    log,
    processMetrics: true,
    ...(file === undefined ? {} : { configFile: file, reloadConfig: async () => (await loadConfig(opts)).config })
  }).catch((err: unknown) => { throw new CliError((err as Error).message, 1) })
  if (node.keyCreated) log('info', 'generated a new node key', { keyFile: config.node.keyFile, peerId: node.peerId })
  await node.start()

  await new Promise<void>(resolve => {
    const stop = (signal: string): void => {
      log('info', 'shutting down', { signal })
      resolve()
    }
    process.once('SIGINT', () => { stop('SIGINT') })
    process.once('SIGTERM', () => { stop('SIGTERM') })
    // A local mesh parent that dies must not leave its nodes behind.
    if (process.env.DAWN_EXIT_WITH_PARENT === '1') {
      const parent = process.ppid
      setInterval(() => { if (process.ppid !== parent) stop('parent-exit') }, 1000).unref()
    }
  })
  const hardStop = setTimeout(() => { process.exit(1) }, 10_000)
  hardStop.unref()
  await node.stop()
  await tracing?.shutdown()
  return 0
}
