import { loadConfig, ConfigError } from '../config/load.ts'
import { parseOverrideFlags } from './override-flags.ts'
import { CliError } from './cli-error.ts'

export async function configCheckCommand (args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub !== 'check') throw new CliError('usage: dawn-node config check --config FILE [overrides]')
  const parsed = parseOverrideFlags(rest)
  try {
    const { config } = await loadConfig({ ...(parsed.config === undefined ? {} : { file: parsed.config }), flags: parsed.flags })
    process.stdout.write(JSON.stringify(config, null, 2) + '\n')
    return 0
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 1)
    throw err
  }
}
